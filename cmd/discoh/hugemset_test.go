package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/resp"
)

// hugeKeys is how many keys the huge MSETs set: hundreds of parts per server.
const hugeKeys = 100_000

// hugeMSet is the wire form of MSET key(i) value(i) for i < n.
func hugeMSet(n int, key, value func(int) string) []byte {
	args := [][]byte{[]byte("MSET")}
	for i := range n {
		args = append(args, []byte(key(i)), []byte(value(i)))
	}
	return resp.AppendCommand(nil, args...)
}

// sendHuge writes req on a connection of its own and returns the reply's first line, once it
// comes.
func sendHuge(t *testing.T, addr string, req []byte) <-chan string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(2 * time.Minute))
	reply := make(chan string, 1)
	go func() {
		if _, err := nc.Write(req); err != nil {
			reply <- err.Error()
			return
		}
		line, err := bufio.NewReader(nc).ReadString('\n')
		if err != nil {
			line = err.Error()
		}
		reply <- line
	}()
	return reply
}

// ownerOf returns, for each key, the index of the server owning it in st's pool, as discoh
// places it (the stack's hash, distribution and server names).
func ownerOf(t *testing.T, st *stack, keys []string) []int {
	t.Helper()
	var specs []backends.ServerSpec
	for i, p := range st.servers {
		specs = append(specs, backends.ServerSpec{Addr: p.Addr, Name: fmt.Sprintf("s%d", i+1), Weight: 1})
	}
	pool, err := backends.NewPool(backends.PoolConfig{Servers: specs, Hash: "fnv1a_64",
		Distribution: "ketama", HashTag: "{}", Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	owners := make([]int, len(keys))
	for i, k := range keys {
		owners[i] = pool.Owner([]byte(k))
	}
	return owners
}

// A huge MSET is sent to the servers in parts: every key ends up on its server (both, with
// two copies) with its value, readable through discoh, and the client hears one OK.
func TestHugeMSetAppliedWhole(t *testing.T) {
	for _, tc := range []struct{ name, pool string }{{"one_copy", ""}, {"two_copies", "    replicas: 2"}} {
		t.Run(tc.name, func(t *testing.T) {
			st := startRedisStack(t, 2, tc.pool)
			key := func(i int) string { return fmt.Sprintf("huge:%d", i) }
			value := func(i int) string { return fmt.Sprintf("v%d-%s", i, strings.Repeat("x", i%7)) }
			if got := <-sendHuge(t, st.addr, hugeMSet(hugeKeys, key, value)); got != "+OK\r\n" {
				t.Fatalf("MSET of %d keys: got %q; want +OK", hugeKeys, got)
			}
			keys := make([]string, hugeKeys)
			for i := range keys {
				keys[i] = key(i)
			}
			checkValues(t, st.client(t, 2), keys, value, "through discoh")
			owners := ownerOf(t, st, keys)
			for s := range st.servers {
				var mine []string
				for i, k := range keys {
					if owners[i] == s || tc.pool != "" {
						mine = append(mine, k)
					}
				}
				checkValues(t, st.direct(t, s), mine, value, fmt.Sprintf("on server %d", s))
				if n := st.direct(t, s).DBSize(t.Context()).Val(); n != int64(len(mine)) {
					t.Errorf("server %d holds %d keys; want its %d", s, n, len(mine))
				}
			}
		})
	}
}

// checkValues reads keys with MGETs of 10,000 keys and checks each holds value(i), where i is
// the number in its name.
func checkValues(t *testing.T, c *redis.Client, keys []string, value func(int) string, where string) {
	t.Helper()
	for start := 0; start < len(keys); start += 10_000 {
		chunk := keys[start:min(start+10_000, len(keys))]
		got, err := c.MGet(t.Context(), chunk...).Result()
		if err != nil {
			t.Fatalf("MGET %s: %v", where, err)
		}
		for j, k := range chunk {
			var i int
			fmt.Sscanf(k, "huge:%d", &i)
			if got[j] != value(i) {
				t.Fatalf("%s %s: got %v; want %q", where, k, got[j], value(i))
			}
		}
	}
}

// Other clients' requests to a server are answered between the parts of a huge MSET, not
// after all of it: once the MSET's first key is on the server, a GET through discoh of its
// last key still finds the old value, and is answered before the MSET's OK. Every key is on
// one server (a hash tag), where discoh used to send the MSET whole, and Redis ran it at once.
// To leave no doubt about timing, the server is kept busy for a moment (a script) right after
// the first key appears, so the GET surely reaches it while parts are still to come.
func TestHugeMSetLetsOthersThrough(t *testing.T) {
	st := startRedisStack(t, 2, "")
	c := st.client(t, 2)
	key := func(i int) string { return fmt.Sprintf("{huge}:%d", i) }
	value := func(i int) string { return fmt.Sprintf("new-%d", i) }
	last := key(hugeKeys - 1)
	if err := c.Set(t.Context(), last, "old", 0).Err(); err != nil {
		t.Fatal(err)
	}
	server := st.direct(t, ownerOf(t, st, []string{last})[0])
	reply := sendHuge(t, st.addr, hugeMSet(hugeKeys, key, value))
	for server.Get(t.Context(), key(0)).Val() != value(0) {
		select {
		case got := <-reply:
			t.Fatalf("the MSET was answered (%q) before its first key was seen on its server", got)
		default:
		}
	}
	busy := st.direct(t, ownerOf(t, st, []string{last})[0])
	go busy.Eval(t.Context(), busyScript, nil, 300) // faults_test.go
	got, err := c.Get(t.Context(), last).Result()
	if err != nil || got != "old" {
		t.Fatalf("GET %s during the MSET: got %q, %v; want %q (the GET waited for the whole MSET)", last, got, err, "old")
	}
	select {
	case r := <-reply:
		t.Fatalf("the MSET was answered (%q) before a GET sent after it started", r)
	default:
	}
	if r := <-reply; r != "+OK\r\n" {
		t.Fatalf("MSET: got %q; want +OK", r)
	}
	if got := c.Get(t.Context(), last).Val(); got != value(hugeKeys-1) {
		t.Fatalf("GET %s after the MSET: got %q; want %q", last, got, value(hugeKeys-1))
	}
}
