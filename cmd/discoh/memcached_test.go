package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/discoh/discoh/backends/ring"
	"github.com/discoh/discoh/internal/testproc"
)

func TestMemcacheClient(t *testing.T) {
	st := startMemcacheStack(t, 3, "")
	mc := memcache.New(st.addr)
	mc.Timeout = 2 * time.Second
	var keys []string
	for i := range 300 {
		k := fmt.Sprintf("mc:%d", i)
		keys = append(keys, k)
		if err := mc.Set(&memcache.Item{Key: k, Value: []byte("v" + k), Flags: uint32(i)}); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	got, err := mc.GetMulti(keys)
	if err != nil || len(got) != len(keys) {
		t.Fatalf("GetMulti = %d items, %v; want %d", len(got), err, len(keys))
	}
	for i, k := range keys {
		if it := got[k]; string(it.Value) != "v"+k || it.Flags != uint32(i) {
			t.Fatalf("GetMulti[%s] = %q flags %d; want %q flags %d", k, it.Value, it.Flags, "v"+k, i)
		}
	}
	checkMemcachePlacement(t, st, keys)
	testMemcacheCommands(t, mc)
}

// checkMemcachePlacement checks every key sits on its ketama owner among servers named s1..sN.
func checkMemcachePlacement(t *testing.T, st *stack, keys []string) {
	t.Helper()
	r := testRing(len(st.servers))
	perServer := make([]int, len(st.servers))
	for _, k := range keys {
		owner := r.Owner([]byte(k))
		if _, err := memcache.New(st.servers[owner].Addr).Get(k); err != nil {
			t.Errorf("key %s not on its ketama owner %d: %v", k, owner, err)
		}
		perServer[owner]++
	}
	for i, n := range perServer {
		if n == 0 {
			t.Errorf("server %d got no keys", i)
		}
	}
}

func testMemcacheCommands(t *testing.T, mc *memcache.Client) {
	t.Helper()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("add", mc.Add(&memcache.Item{Key: "fresh", Value: []byte("1")}))
	if err := mc.Add(&memcache.Item{Key: "fresh", Value: []byte("2")}); !errors.Is(err, memcache.ErrNotStored) {
		t.Errorf("add of an existing key: %v; want ErrNotStored", err)
	}
	must("replace", mc.Replace(&memcache.Item{Key: "fresh", Value: []byte("10")}))
	must("append", mc.Append(&memcache.Item{Key: "fresh", Value: []byte("0")}))
	must("prepend", mc.Prepend(&memcache.Item{Key: "fresh", Value: []byte("1")}))
	n, err := mc.Increment("fresh", 5)
	if err != nil || n != 1105 {
		t.Errorf("incr = %d, %v; want 1105", n, err)
	}
	if n, err = mc.Decrement("fresh", 2000); err != nil || n != 0 {
		t.Errorf("decr below zero = %d, %v; want 0", n, err)
	}
	it, err := mc.Get("fresh")
	must("gets", err)
	it.Value = []byte("swapped")
	must("cas", mc.CompareAndSwap(it))
	if err := mc.CompareAndSwap(it); !errors.Is(err, memcache.ErrCASConflict) {
		t.Errorf("cas with a stale token: %v; want ErrCASConflict", err)
	}
	must("touch", mc.Touch("fresh", 100))
	must("delete", mc.Delete("fresh"))
	if _, err := mc.Get("fresh"); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Errorf("get after delete: %v; want a miss", err)
	}
	must("set with expiry", mc.Set(&memcache.Item{Key: "short", Value: []byte("x"), Expiration: 1}))
	time.Sleep(2100 * time.Millisecond)
	if _, err := mc.Get("short"); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Errorf("get after expiry: %v; want a miss", err)
	}
	must("flush_all", mc.FlushAll())
	if _, err := mc.Get("mc:1"); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Errorf("get after flush_all: %v; want a miss", err)
	}
}

// memcacheScript is raw protocol traffic; every line's reply must be the same byte for byte
// from discoh over three servers as from one memcached (cas tokens aside).
var memcacheScript = []string{
	"set a 5 0 3\r\nabc\r\n", "set b 0 0 1\r\nx\r\n", "set c 7 0 2\r\nyy\r\n",
	"get a b c nope a\r\n", "gets a c\r\n", "get nope\r\n",
	"add a 0 0 1\r\nz\r\n", "replace nope 0 0 1\r\nz\r\n", "append b 0 0 2\r\nzz\r\n", "get b\r\n",
	"incr n 1\r\n", "set n 0 0 2\r\n10\r\n", "incr n 5\r\n", "decr n 100\r\n", "incr a 1\r\n",
	"incr n x\r\n", "touch a 100\r\n", "touch nope 100\r\n", "gat 100 a b\r\n", "gats 0 c\r\n",
	"delete b\r\n", "delete b\r\n", "delete b 0\r\n",
	"set q 0 0 1 noreply\r\n1\r\n", "delete q noreply\r\n", "incr a 1 noreply\r\n", "get q a\r\n",
	"bogus command\r\n", "get " + strings.Repeat("k", 251) + "\r\n", "set k 0 0 x\r\nabc\r\n",
	"set k 0 0 3\r\nabcde\r\n", "set big 0 0 2000000\r\n" + strings.Repeat("v", 2000000) + "\r\n", "get big\r\n",
	"set k 0 0 1\r\n1\r\n", "verbosity 1\r\n", "verbosity 1 noreply\r\n",
	"ms m1 2 T0\r\nhi\r\n", "mg m1 v f\r\n", "mg nope v\r\n", "mg nope v q\r\nmn\r\n", "md m1\r\n", "md m1 q\r\nmn\r\n",
	"ma n\r\n", "mn\r\n", "flush_all\r\n", "get a c n\r\n",
}

var casToken = regexp.MustCompile(`(VALUE \S+ \d+ \d+) \d+\r\n`)

func TestMemcacheBehavesLikeOneMemcached(t *testing.T) {
	st := startMemcacheStack(t, 3, "")
	single := testproc.Memcached(t)
	viaProxy, direct := dialRaw(t, st.addr), dialRaw(t, single.Addr)
	for _, step := range memcacheScript {
		want := roundTrip(t, direct, step)
		got := roundTrip(t, viaProxy, step)
		want = casToken.ReplaceAll(want, []byte("$1 CAS\r\n"))
		got = casToken.ReplaceAll(got, []byte("$1 CAS\r\n"))
		if !bytes.Equal(got, want) {
			t.Errorf("%.60q:\n got %q\nwant %q", step, got, want)
		}
	}
}

// roundTrip sends step, then "mn\r\n" as a marker, and returns what came back before the
// marker's MN: the step's whole reply, however many lines.
func roundTrip(t *testing.T, c *rawConn, step string) []byte {
	t.Helper()
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	c.send(step + "mn\r\n")
	var out []byte
	for {
		line, err := c.r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("%.40q: read: %v (so far %q)", step, err, out)
		}
		if string(line) == "MN\r\n" && !bytes.HasSuffix([]byte(step), []byte("mn\r\n")) {
			return out
		}
		if string(line) == "MN\r\n" {
			step = ""
			continue
		}
		out = append(out, line...)
	}
}

func TestMemcacheClientHangsUpMidValue(t *testing.T) {
	st := startMemcacheStack(t, 2, "")
	for range 10 {
		nc, err := net.Dial("tcp", st.addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write([]byte("set k 0 0 100000\r\npartial"))
		nc.Close()
	}
	mc := memcache.New(st.addr)
	if err := mc.Set(&memcache.Item{Key: "k", Value: []byte("whole")}); err != nil {
		t.Fatalf("set after clients hung up mid-value: %v", err)
	}
	if it, err := mc.Get("k"); err != nil || string(it.Value) != "whole" {
		t.Fatalf("get k = %v, %v; want whole (no partial value stored)", it, err)
	}
}

func TestMemcacheStatsAndServerDown(t *testing.T) {
	st := startMemcacheStack(t, 3, "")
	c := dialRaw(t, st.addr)
	stats := roundTrip(t, c, "stats\r\n")
	for _, want := range []string{"STAT curr_connections ", "STAT server0_name s1\r\n", "STAT cmd_get 0\r\n", "END\r\n"} {
		if !bytes.Contains(stats, []byte(want)) {
			t.Errorf("stats lacks %q:\n%s", want, stats)
		}
	}
	st.servers[0].Kill()
	mc := memcache.New(st.addr)
	r := testRing(len(st.servers))
	onDead := 0
	for i := range 300 {
		key := fmt.Sprintf("down:%d:%s", i, strings.Repeat("x", i%17))
		start := time.Now()
		err := mc.Set(&memcache.Item{Key: key, Value: []byte("v")})
		if r.Owner([]byte(key)) == 0 {
			onDead++
			if err == nil || !strings.Contains(err.Error(), "backend s1") {
				t.Errorf("set %s on the dead server: %v; want SERVER_ERROR naming s1", key, err)
			}
		} else if err != nil {
			t.Errorf("set %s on a live server: %v", key, err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("set took %v with one server dead; want fast", d)
		}
	}
	if onDead == 0 {
		t.Fatal("no key of the test landed on the dead server; pick other keys")
	}
}

// testRing is the ketama ring of the test stacks: fnv1a_64 over servers named s1..sN.
func testRing(n int) *ring.Ring {
	hash, _ := ring.Hash("fnv1a_64")
	var nodes []ring.Server
	for i := range n {
		nodes = append(nodes, ring.Server{Name: fmt.Sprintf("s%d", i+1), Weight: 1})
	}
	r, _ := ring.New("ketama", nodes, hash)
	return r
}

func TestMemcslap(t *testing.T) {
	st := startMemcacheStack(t, 3, "")
	for _, test := range []string{"set", "get", "mget"} {
		out, err := exec.Command("memcslap", "--servers="+st.addr, "--test="+test, "--concurrency=10", "--execute-number=500").CombinedOutput()
		lower := bytes.ToLower(out)
		if err != nil || bytes.Contains(lower, []byte("error")) || bytes.Contains(lower, []byte("fail")) || !bytes.Contains(out, []byte("Time total")) {
			t.Fatalf("memcslap --test=%s: %v\n%s", test, err, out)
		}
		t.Logf("memcslap --test=%s through discoh:\n%s", test, out)
	}
}
