package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// infoFields returns INFO's name:value lines of the given sections as a map.
func infoFields(t *testing.T, c *redis.Client, sections ...string) map[string]string {
	t.Helper()
	text, err := c.Info(t.Context(), sections...).Result()
	if err != nil {
		t.Fatalf("INFO %v: %v", sections, err)
	}
	fields := map[string]string{}
	for line := range strings.SplitSeq(text, "\r\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			fields[name] = value
		}
	}
	return fields
}

func fieldInt(t *testing.T, fields map[string]string, name string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(fields[name], 10, 64)
	if err != nil {
		t.Fatalf("INFO field %s = %q: %v", name, fields[name], err)
	}
	return n
}

// keyspace parses db0's keys and expires out of INFO keyspace fields.
func keyspace(t *testing.T, fields map[string]string) (keys, expires, avgTTL int64) {
	t.Helper()
	m := regexp.MustCompile(`^keys=(\d+),expires=(\d+),avg_ttl=(\d+)$`).FindStringSubmatch(fields["db0"])
	if m == nil {
		t.Fatalf("INFO keyspace db0 = %q; want keys=N,expires=M,avg_ttl=T", fields["db0"])
	}
	keys, _ = strconv.ParseInt(m[1], 10, 64)
	expires, _ = strconv.ParseInt(m[2], 10, 64)
	avgTTL, _ = strconv.ParseInt(m[3], 10, 64)
	return keys, expires, avgTTL
}

// writeInfoKeys writes n string keys through c, the first withTTL of them with a 1000 s TTL.
func writeInfoKeys(t *testing.T, c *redis.Client, n, withTTL int) {
	t.Helper()
	pipe := c.Pipeline()
	for i := range n {
		ttl := time.Duration(0)
		if i < withTTL {
			ttl = 1000 * time.Second
		}
		pipe.Set(t.Context(), fmt.Sprintf("info:%d", i), "v", ttl)
	}
	if _, err := pipe.Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestInfoKeyspaceSumsServers(t *testing.T) {
	st := startRedisStack(t, 3, "")
	c := st.client(t, 2)
	writeInfoKeys(t, c, 300, 40)

	var want int64
	for i := range st.servers {
		n := st.direct(t, i).DBSize(t.Context()).Val()
		if n == 0 {
			t.Fatalf("server %d holds no key: the test does not spread keys", i)
		}
		want += n
	}
	keys, expires, avgTTL := keyspace(t, infoFields(t, c, "keyspace"))
	// Redis works out avg_ttl as its expire cycle samples keys, ten times a second.
	for deadline := time.Now().Add(3 * time.Second); avgTTL == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		_, _, avgTTL = keyspace(t, infoFields(t, c, "keyspace"))
	}
	if keys != want || keys != 300 {
		t.Errorf("INFO keyspace keys = %d; want %d (the servers' DBSIZE summed) = 300", keys, want)
	}
	if expires != 40 {
		t.Errorf("INFO keyspace expires = %d; want 40", expires)
	}
	// Each server's avg_ttl is a moving estimate rising from 0; the weighting is unit-tested.
	if avgTTL <= 0 || avgTTL > 1_000_000 {
		t.Errorf("INFO keyspace avg_ttl = %d ms; want some of the 1000 s TTL", avgTTL)
	}
	// Plain INFO, as redis-cli --stat sends it, carries the keyspace too.
	if k, _, _ := keyspace(t, infoFields(t, c)); k != 300 {
		t.Errorf("INFO (no section) keyspace keys = %d; want 300", k)
	}
	if n := fieldInt(t, infoFields(t, c, "keyspace", "memory"), "servers_summed"); n != 3 {
		t.Errorf("servers_summed = %d; want 3", n)
	}
}

func TestInfoMemorySumsServers(t *testing.T) {
	st := startRedisStack(t, 3, "")
	c := st.client(t, 2)
	writeInfoKeys(t, c, 300, 0)
	sum := func() (used int64) {
		for i := range st.servers {
			used += fieldInt(t, infoFields(t, st.direct(t, i), "memory"), "used_memory")
		}
		return used
	}
	before := sum()
	fields := infoFields(t, c, "memory")
	after := sum()
	got := fieldInt(t, fields, "used_memory")
	if lo, hi := min(before, after)*9/10, max(before, after)*11/10; got < lo || got > hi {
		t.Errorf("INFO memory used_memory = %d; want about the servers' sum, %d..%d", got, before, after)
	}
	if h := fields["used_memory_human"]; !regexp.MustCompile(`^\d+\.\d\dM$`).MatchString(h) {
		t.Errorf("used_memory_human = %q; want a few megabytes written as Redis does (2.18M)", h)
	}
	for _, name := range []string{"used_memory_rss", "used_memory_peak", "maxmemory"} {
		fieldInt(t, fields, name)
	}
	if fields["maxmemory_policy"] != "noeviction" {
		t.Errorf("maxmemory_policy = %q; want the servers' common noeviction", fields["maxmemory_policy"])
	}
	text := c.Info(t.Context(), "memory").Val()
	if !strings.Contains(text, "# The figures above are sums over 3 of the pool's 3 servers") {
		t.Errorf("INFO memory does not say its figures are sums:\n%s", text)
	}
	// redis-cli reads the first used_memory in the text.
	if i := strings.Index(text, "used_memory"); !strings.HasPrefix(text[i:], "used_memory:") {
		t.Errorf("the first used_memory in INFO memory is not its field:\n%s", text)
	}
}

func TestInfoStatsSumsHits(t *testing.T) {
	st := startRedisStack(t, 2, "")
	c := st.client(t, 2)
	writeInfoKeys(t, c, 20, 0)
	before := infoFields(t, c, "stats")
	for i := range 20 {
		c.Get(t.Context(), fmt.Sprintf("info:%d", i))
		c.Get(t.Context(), fmt.Sprintf("nokey:%d", i))
	}
	after := infoFields(t, c, "stats")
	if d := fieldInt(t, after, "keyspace_hits") - fieldInt(t, before, "keyspace_hits"); d != 20 {
		t.Errorf("keyspace_hits grew by %d; want 20", d)
	}
	if d := fieldInt(t, after, "keyspace_misses") - fieldInt(t, before, "keyspace_misses"); d != 20 {
		t.Errorf("keyspace_misses grew by %d; want 20", d)
	}
	for _, name := range []string{"total_commands_processed", "total_connections_received",
		"instantaneous_ops_per_sec", "total_error_replies", "backend_errors", "warm_copies"} {
		fieldInt(t, after, name)
	}
}

func TestInfoBlockedClients(t *testing.T) {
	st := startRedisStack(t, 2, "")
	c := st.client(t, 2)
	waitBlocked := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			got := fieldInt(t, infoFields(t, c, "clients"), "blocked_clients")
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("blocked_clients = %d; want %d", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitBlocked(0)
	blocker := st.client(t, 2)
	done := make(chan error, 1)
	go func() { done <- blocker.BLPop(context.Background(), 4*time.Second, "info:queue").Err() }()
	waitBlocked(1)
	if err := c.LPush(t.Context(), "info:queue", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("BLPOP: %v", err)
	}
	waitBlocked(0)
}

// TestInfoSections checks which sections INFO's arguments pick, as Redis 7 does.
func TestInfoSections(t *testing.T) {
	st := startRedisStack(t, 2, "")
	c := st.client(t, 2)
	c.Set(t.Context(), "k", "v", 0)
	all := []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Servers", "Coherence", "Keyspace"}
	cases := []struct {
		args []string
		want []string
	}{
		{nil, all},
		{[]string{"all"}, all},
		{[]string{"everything"}, all},
		{[]string{"default"}, all},
		{[]string{"keyspace", "CLIENTS"}, []string{"Clients", "Keyspace"}},
		{[]string{"memory", "stats", "memory"}, []string{"Memory", "Stats"}},
		{[]string{"server"}, []string{"Server"}},
		{[]string{"nosuch"}, nil},
		{[]string{"nosuch", "keyspace"}, []string{"Keyspace"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			text, err := c.Info(t.Context(), tc.args...).Result()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range regexp.MustCompile(`(?m)^# ([A-Z][a-z]+)\r$`).FindAllStringSubmatch(text, -1) {
				got = append(got, m[1])
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("INFO %v sections = %v; want %v", tc.args, got, tc.want)
			}
		})
	}
}

// TestInfoServerDown checks that a server that is down is left out of the sums, and said so.
func TestInfoServerDown(t *testing.T) {
	st := startRedisStack(t, 3, "")
	c := st.client(t, 2)
	writeInfoKeys(t, c, 300, 0)
	live := st.direct(t, 0).DBSize(t.Context()).Val() + st.direct(t, 1).DBSize(t.Context()).Val()
	st.servers[2].Kill()
	start := time.Now()
	fields := infoFields(t, c)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("INFO took %v with a server down; want at most the pool's 1s timeout", d)
	}
	if keys, _, _ := keyspace(t, fields); keys != live {
		t.Errorf("keys = %d; want %d, the live servers' sum", keys, live)
	}
	if n := fieldInt(t, fields, "servers_summed"); n != 2 {
		t.Errorf("servers_summed = %d; want 2", n)
	}
	fieldInt(t, fields, "used_memory")
	text := c.Info(t.Context(), "keyspace").Val()
	if !strings.Contains(text, "# db0 above sums 2 of the pool's 3 servers") {
		t.Errorf("INFO keyspace does not say a server is left out:\n%s", text)
	}
}

// TestInfoRedisCliStat runs redis-cli --stat through discoh: it reads plain INFO once a second
// (db<n>:keys, used_memory, connected_clients, blocked_clients, total_commands_processed,
// total_connections_received).
func TestInfoRedisCliStat(t *testing.T) {
	st := startRedisStack(t, 3, "")
	writeInfoKeys(t, st.client(t, 2), 300, 0)
	host, port, _ := net.SplitHostPort(st.addr)
	ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
	defer cancel()
	// stdbuf: redis-cli's stdout is a pipe here, block-buffered and lost when it is killed.
	out, _ := exec.CommandContext(ctx, "stdbuf", "-oL", "redis-cli", "-h", host, "-p", port, "--stat").Output()
	row := regexp.MustCompile(`(?m)^(\d+)\s+(\d+(?:\.\d\d[KMG])?B?)\s+(\d+)\s+(\d+)\s+(\d+) \(\+\d+\)\s+(\d+)`)
	rows := row.FindAllStringSubmatch(string(out), -1)
	if len(rows) < 2 {
		t.Fatalf("redis-cli --stat printed no sensible rows:\n%s", out)
	}
	for _, r := range rows {
		if r[1] != "300" {
			t.Errorf("redis-cli --stat keys = %s; want 300\n%s", r[1], out)
		}
		if !strings.HasSuffix(r[2], "M") {
			t.Errorf("redis-cli --stat mem = %s; want megabytes\n%s", r[2], out)
		}
		// redis-cli and the go-redis client that wrote the keys
		if r[3] != "2" || r[4] != "0" {
			t.Errorf("redis-cli --stat clients, blocked = %s, %s; want 2, 0\n%s", r[3], r[4], out)
		}
	}
}

// TestInfoRedisCliBigKeys runs redis-cli --bigkeys and --memkeys through discoh: DBSIZE, SCAN
// over every server, TYPE, STRLEN/LLEN/HLEN/SCARD and MEMORY USAGE.
func TestInfoRedisCliBigKeys(t *testing.T) {
	st := startRedisStack(t, 3, "")
	c := st.client(t, 2)
	writeInfoKeys(t, c, 100, 0)
	c.RPush(t.Context(), "info:list", 1, 2, 3, 4, 5, 6, 7)
	c.HSet(t.Context(), "info:hash", "a", 1, "b", 2)
	c.SAdd(t.Context(), "info:set", "x", "y", "z")
	host, port, _ := net.SplitHostPort(st.addr)
	for _, mode := range []string{"--bigkeys", "--memkeys"} {
		out, err := exec.CommandContext(t.Context(), "redis-cli", "-h", host, "-p", port, mode).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %s: %v\n%s", mode, err, out)
		}
		unit := map[string]string{"--bigkeys": "items", "--memkeys": "bytes"}[mode]
		for _, want := range []string{"Sampled 103 keys in the keyspace!", "100 strings with",
			"1 lists with ", "1 hashs with ", "1 sets with ", "Biggest   list found '\"info:list\"' has "} {
			if !strings.Contains(string(out), want) {
				t.Errorf("redis-cli %s output lacks %q:\n%s", mode, want, out)
			}
		}
		if mode == "--bigkeys" && !strings.Contains(string(out), "1 lists with 7 "+unit) {
			t.Errorf("redis-cli %s output lacks the list's 7 items:\n%s", mode, out)
		}
	}
}

// INFO persistence carries the servers' flags summed, so a tool waiting for a rewrite or a save
// to end (aof_rewrite_in_progress:0) can; times are left out, a sum of them means nothing.
func TestInfoPersistenceSumsFlags(t *testing.T) {
	st := startRedisStack(t, 2, "")
	info := st.client(t, 2).Info(t.Context(), "persistence").Val()
	for _, want := range []string{"# Persistence\r\n", "\r\naof_rewrite_in_progress:0\r\n", "\r\nrdb_bgsave_in_progress:0\r\n", "\r\nservers_summed:2\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO persistence lacks %q:\n%s", want, info)
		}
	}
	if strings.Contains(info, "rdb_last_save_time:") {
		t.Errorf("INFO persistence sums rdb_last_save_time:\n%s", info)
	}
}
