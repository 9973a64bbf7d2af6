package respserver

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBytesToHuman(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0B"}, {1023, "1023B"}, {1024, "1.00K"}, {1536, "1.50K"}, {1 << 20, "1.00M"},
		{2287144, "2.18M"}, {3 << 30, "3.00G"}, {5 << 40, "5.00T"}, {7 << 50, "7.00P"},
		{1 << 62, "4096.00P"},
	} {
		if got := bytesToHuman(tc.n); got != tc.want {
			t.Errorf("bytesToHuman(%d) = %s; want %s", tc.n, got, tc.want)
		}
	}
}

// serverInfo is a Redis 7 INFO reply cut down to the fields the sums read or skip.
func serverInfo(used, rss, maxmemory int64, policy, db0 string, hits int64) []byte {
	text := "# Server\r\nredis_version:7.0.15\r\nprocess_id:42\r\n\r\n" +
		"# Memory\r\nused_memory:%d\r\nused_memory_human:x\r\nused_memory_rss:%d\r\n" +
		"used_memory_peak_perc:99.00%%\r\ntotal_system_memory:1000\r\nmaxmemory:%d\r\n" +
		"maxmemory_policy:%s\r\nmem_fragmentation_ratio:9.99\r\nmem_allocator:jemalloc-5.3.0\r\n\r\n" +
		"# Stats\r\ntotal_commands_processed:77\r\nkeyspace_hits:%d\r\nkeyspace_misses:1\r\n\r\n" +
		"# Keyspace\r\ndb0:%s\r\ndb1:keys=1000,expires=0,avg_ttl=0\r\n"
	return []byte(fmt.Sprintf(text, used, rss, maxmemory, policy, hits, db0))
}

func TestPoolInfoSums(t *testing.T) {
	p := newPoolInfo(3)
	p.add(serverInfo(1<<20, 3<<20, 100, "allkeys-lru", "keys=10,expires=4,avg_ttl=1000", 5))
	p.add(serverInfo(1<<20, 1<<20, 200, "allkeys-lru", "keys=30,expires=12,avg_ttl=3000", 7))
	if p.keys != 40 || p.expires != 16 || p.avgTTL() != 2500 {
		t.Errorf("keys, expires, avg_ttl = %d, %d, %d; want 40, 16, 2500 (weighted by expires)",
			p.keys, p.expires, p.avgTTL())
	}
	var b strings.Builder
	(&Redis{}).infoMemory(&b, p)
	want := "used_memory:2097152\r\nused_memory_human:2.00M\r\nused_memory_rss:4194304\r\n" +
		"maxmemory:300\r\nmaxmemory_policy:allkeys-lru\r\nmem_fragmentation_ratio:2.00\r\n" +
		"mem_allocator:jemalloc-5.3.0\r\nservers_summed:2\r\n" +
		"# The figures above are sums over 2 of the pool's 3 servers\r\n"
	if got := b.String(); got != want {
		t.Errorf("memory section:\n%s\nwant:\n%s", got, want)
	}
	b.Reset()
	p.stats.write(&b)
	if want := "keyspace_hits:12\r\nkeyspace_misses:2\r\nexpired_keys:0\r\nevicted_keys:0\r\n"; b.String() != want {
		t.Errorf("summed stats:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestPoolInfoDisagreeAndUnlimited(t *testing.T) {
	p := newPoolInfo(2)
	p.add(serverInfo(100, 100, 0, "noeviction", "keys=1,expires=0,avg_ttl=0", 0))
	p.add(serverInfo(100, 100, 500, "allkeys-lru", "keys=1,expires=0,avg_ttl=0", 0))
	var b strings.Builder
	(&Redis{}).infoMemory(&b, p)
	got := b.String()
	if !strings.Contains(got, "maxmemory:0\r\n") {
		t.Errorf("a server without maxmemory leaves the pool without a limit; got:\n%s", got)
	}
	if strings.Contains(got, "maxmemory_policy") {
		t.Errorf("policies that differ are left out; got:\n%s", got)
	}
}

func TestPoolInfoNoServer(t *testing.T) {
	p := newPoolInfo(2)
	var b strings.Builder
	r := &Redis{}
	r.infoMemory(&b, p)
	r.infoKeyspace(&b, p)
	want := "used_memory:0\r\nused_memory_human:0B\r\nservers_summed:0\r\n" +
		"# The figures above are sums over 0 of the pool's 2 servers\r\n" +
		"# db0 above sums 0 of the pool's 2 servers\r\n"
	if b.String() != want {
		t.Errorf("with no server answering:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestInfoWanted(t *testing.T) {
	for _, tc := range []struct {
		want    []string
		section string
		ok      bool
	}{
		{nil, "keyspace", true}, {[]string{"all"}, "memory", true},
		{[]string{"everything"}, "servers", true}, {[]string{"default"}, "coherence", true},
		{[]string{"clients", "keyspace"}, "keyspace", true}, {[]string{"clients"}, "keyspace", false},
		{[]string{"nosuch"}, "server", false},
	} {
		if got := wanted(tc.section, tc.want); got != tc.ok {
			t.Errorf("wanted(%s, %v) = %v; want %v", tc.section, tc.want, got, tc.ok)
		}
	}
	if wantsServers([]string{"server", "clients"}) || !wantsServers([]string{"clients", "stats"}) {
		t.Error("wantsServers: only memory, stats and keyspace need the servers' INFO")
	}
}

func TestOpsMeter(t *testing.T) {
	var m opsMeter
	start := time.Unix(1000, 0)
	if got := m.sample(start.Add(2*time.Second), start, 200); got != 100 {
		t.Errorf("first sample = %d; want 100 (200 commands in the 2 s since start)", got)
	}
	if got := m.sample(start.Add(2500*time.Millisecond), start, 10_000); got != 100 {
		t.Errorf("sample within a second = %d; want the last rate, 100", got)
	}
	if got := m.sample(start.Add(4*time.Second), start, 1200); got != 500 {
		t.Errorf("sample 2 s later = %d; want 500", got)
	}
}
