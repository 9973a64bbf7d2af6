package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/discoh/discoh/internal/testproc"
)

// statsOf parses a stats reply into its STAT names and values.
func statsOf(t *testing.T, reply []byte) map[string]string {
	t.Helper()
	if !bytes.HasSuffix(reply, []byte("END\r\n")) {
		t.Fatalf("stats reply %q does not end with END", reply)
	}
	m := map[string]string{}
	for line := range strings.Lines(strings.TrimSuffix(string(reply), "END\r\n")) {
		name, value, ok := strings.Cut(strings.TrimPrefix(strings.TrimSuffix(line, "\r\n"), "STAT "), " ")
		if !ok || !strings.HasPrefix(line, "STAT ") {
			t.Fatalf("stats line %q is no STAT line", line)
		}
		m[name] = value
	}
	return m
}

func statInt(t *testing.T, stats map[string]string, name string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(stats[name], 10, 64)
	if err != nil {
		t.Fatalf("stat %s = %q: %v", name, stats[name], err)
	}
	return v
}

// TestMcStatsSumsServers: plain stats reports the pool as one memcached would report itself,
// each counter the sum of the servers' own, beside discoh's identity and its own counters.
func TestMcStatsSumsServers(t *testing.T) {
	st := startMemcacheStack(t, 3, "")
	mc := memcache.New(st.addr)
	for i := range 50 {
		if err := mc.Set(&memcache.Item{Key: fmt.Sprintf("st:%d", i), Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 80 { // 50 hits, 30 misses
		mc.Get(fmt.Sprintf("st:%d", i))
	}
	c := dialRaw(t, st.addr)
	got := statsOf(t, roundTrip(t, c, "stats\r\n"))
	want := map[string]int64{}
	for _, sv := range st.servers {
		direct := statsOf(t, roundTrip(t, dialRaw(t, sv.Addr), "stats\r\n"))
		for _, name := range []string{"curr_items", "total_items", "bytes", "get_hits", "get_misses",
			"cmd_get", "cmd_set", "limit_maxbytes", "evictions", "threads"} {
			want[name] += statInt(t, direct, name)
		}
	}
	for name, w := range want {
		if g := statInt(t, got, name); g != w {
			t.Errorf("stats %s = %d; want %d, the servers' sum", name, g, w)
		}
	}
	if want["curr_items"] != 50 || want["get_hits"] != 50 || want["get_misses"] != 30 {
		t.Errorf("servers hold %d items, %d hits, %d misses; want 50, 50, 30", want["curr_items"], want["get_hits"], want["get_misses"])
	}
	for name, w := range map[string]string{"pid": strconv.Itoa(os.Getpid()), "servers_summed": "3",
		"discoh_cmd_get": "80", "discoh_get_hits": "50", "discoh_get_misses": "30", "server2_name": "s3"} {
		if got[name] != w {
			t.Errorf("stats %s = %q; want %q", name, got[name], w)
		}
	}
	if !strings.Contains(got["version"], "-discoh-") || got["curr_connections"] == "" || got["uptime"] == "" {
		t.Errorf("stats version %q, curr_connections %q, uptime %q; want discoh's version and both set",
			got["version"], got["curr_connections"], got["uptime"])
	}
}

// TestMcStatsResetAndSubcommands: stats reset resets the servers and discoh's counters;
// sub-commands are answered per server, and refused or acknowledged word for word as memcached
// does.
func TestMcStatsResetAndSubcommands(t *testing.T) {
	st := startMemcacheStack(t, 2, "")
	single := testproc.Memcached(t)
	mc := memcache.New(st.addr)
	for i := range 20 { // enough keys for both servers to hold items
		mc.Set(&memcache.Item{Key: fmt.Sprintf("k%d", i), Value: []byte("v")})
		mc.Get(fmt.Sprintf("k%d", i))
	}
	c, direct := dialRaw(t, st.addr), dialRaw(t, single.Addr)
	for _, step := range []string{"stats noreply\r\n", "stats bogus\r\n", "stats reset\r\n",
		"stats reset noreply\r\n", "stats detail\r\n", "stats detail on\r\n", "stats detail off\r\n",
		"stats cachedump 1\r\n", "stats cachedump x y\r\n"} {
		if got, want := roundTrip(t, c, step), roundTrip(t, direct, step); !bytes.Equal(got, want) {
			t.Errorf("%q: got %q; want %q, as memcached", step, got, want)
		}
	}
	after := statsOf(t, roundTrip(t, c, "stats\r\n"))
	for _, name := range []string{"get_hits", "cmd_get", "total_items", "discoh_get_hits", "discoh_cmd_get"} {
		if after[name] != "0" {
			t.Errorf("stats %s after stats reset = %q; want 0", name, after[name])
		}
	}
	if after["curr_items"] != "20" {
		t.Errorf("stats curr_items after stats reset = %q; want 20 (reset keeps items)", after["curr_items"])
	}
	for _, sub := range []string{"settings", "items", "slabs"} {
		got := statsOf(t, roundTrip(t, c, "stats "+sub+"\r\n"))
		perServer := [2]int{}
		for name := range got {
			for i := range perServer {
				if strings.HasPrefix(name, fmt.Sprintf("s%d:", i+1)) {
					perServer[i]++
				}
			}
		}
		if perServer[0] == 0 || perServer[1] == 0 || perServer[0]+perServer[1] != len(got) {
			t.Errorf("stats %s: %d lines, %v prefixed by s1: and s2:; want every line, from both servers", sub, len(got), perServer)
		}
	}
	if got := statsOf(t, roundTrip(t, c, "stats settings\r\n")); got["s1:maxbytes"] != "67108864" {
		t.Errorf("stats settings s1:maxbytes = %q; want memcached's default 67108864", got["s1:maxbytes"])
	}
}

// TestMcStatsWithAServerDown: stats is what one reads when something is wrong, so a dead
// server leaves its counters out of the sums rather than fail the reply.
func TestMcStatsWithAServerDown(t *testing.T) {
	st := startMemcacheStack(t, 2, "")
	st.servers[0].Kill()
	c := dialRaw(t, st.addr)
	start := time.Now()
	got := statsOf(t, roundTrip(t, c, "stats\r\n"))
	if got["servers_summed"] != "1" || got["limit_maxbytes"] != "67108864" {
		t.Errorf("stats with s1 dead: servers_summed %q, limit_maxbytes %q; want 1 and one server's 67108864",
			got["servers_summed"], got["limit_maxbytes"])
	}
	items := statsOf(t, roundTrip(t, c, "stats items\r\n"))
	for name := range items {
		if !strings.HasPrefix(name, "s2:") {
			t.Errorf("stats items with s1 dead has %s; want s2's lines only", name)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("stats with a server dead took %v; want under the 1s timeout", d)
	}
}

// TestMcMemccapable runs libmemcached's conformance tool, text protocol only, through discoh.
func TestMcMemccapable(t *testing.T) {
	bin, err := exec.LookPath("memccapable")
	if err != nil {
		t.Skip("memccapable not installed (libmemcached-tools)")
	}
	st := startMemcacheStack(t, 2, "")
	host, port, _ := strings.Cut(st.addr, ":")
	out, err := exec.Command(bin, "-h", host, "-p", port, "-a", "-t", "2").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("All tests passed")) {
		t.Fatalf("memccapable -a through discoh: %v\n%s", err, out)
	}
}
