package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// A server that is down while more of its keys are written than its queue of missed writes
// holds comes back with every key that was not written meanwhile, and with none of the others
// stale: its keys are listed and only those written during the outage deleted. discoh used to
// flush it (FLUSHALL, flush_all), which cost it every key.
func TestOverflowedServerKeepsUntouchedKeys(t *testing.T) {
	for _, isRedis := range []bool{true, false} {
		t.Run(map[bool]string{true: "redis", false: "memcached"}[isRedis], func(t *testing.T) {
			testOverflowRepair(t, isRedis)
		})
	}
}

// overflowKey is the i-th key of the test: '+' and '%' are escaped in memcached's metadump.
func overflowKey(prefix string, i int) string { return fmt.Sprintf("%s:%d:+%%", prefix, i) }

func testOverflowRepair(t *testing.T, isRedis bool) {
	st := startStack(t, isRedis, 3, replicated+"\n    replay_limit: 20")
	mc := memcache.New(st.addr)
	mc.Timeout = 3 * time.Second // the first write to the stopped server waits out discoh's 1s
	var c, direct kv = mcKV{mc}, mcKV{memcache.New(st.servers[1].Addr)}
	if isRedis {
		c, direct = redisKV{st.client(t, 2)}, redisKV{st.direct(t, 1)}
	}
	const n = 300 // a third kept, a third rewritten, a third deleted during the outage
	held := map[string]bool{}
	for i := range n {
		c.set(t, overflowKey("ovf", i), "v1")
	}
	for i := range n {
		if _, ok := direct.get(t, overflowKey("ovf", i)); ok {
			held[overflowKey("ovf", i)] = true
		}
	}
	st.servers[1].Stop()
	for i := n / 3; i < 2*n/3; i++ {
		c.set(t, overflowKey("ovf", i), "v2")
	}
	for i := 2 * n / 3; i < n; i++ {
		c.del(t, overflowKey("ovf", i))
	}
	for i := range n / 3 {
		c.set(t, overflowKey("new", i), "v2")
	}
	if state := serversState(t, st, isRedis); !strings.Contains(state, "replay_overflowed=1") &&
		!strings.Contains(state, "server1_replay_overflowed 1") {
		t.Errorf("the overflowed queue is not reported:\n%s", state)
	}
	st.servers[1].Cont()
	waitUp(t, st.addr, isRedis)
	checkRepaired(t, direct, held, n)
}

// serversState is INFO servers (Redis) or stats (memcached) through discoh.
func serversState(t *testing.T, st *stack, isRedis bool) string {
	t.Helper()
	if isRedis {
		return st.client(t, 2).Info(t.Context(), "servers").Val()
	}
	c := dialRaw(t, st.addr)
	c.send("stats\r\n")
	var b strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil || line == "END\r\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}

// checkRepaired checks, directly on the returned server, that it holds every untouched key it
// held before the outage and no stale value of any other.
func checkRepaired(t *testing.T, direct kv, held map[string]bool, n int) {
	t.Helper()
	kept, missed := 0, 0
	for i := range n {
		k := overflowKey("ovf", i)
		switch v, ok := direct.get(t, k); {
		case i < n/3 && held[k] && (!ok || v != "v1"):
			missed++
			t.Errorf("untouched key %s on the returned server = %q, %v; want v1, as before the outage", k, v, ok)
		case i < n/3 && held[k]:
			kept++
		case i >= n/3 && i < 2*n/3 && ok && v != "v2":
			t.Errorf("rewritten key %s on the returned server = %q; want a miss or v2, never the stale v1", k, v)
		case i >= 2*n/3 && ok:
			t.Errorf("deleted key %s on the returned server = %q; want a miss", k, v)
		}
	}
	for i := range n / 3 {
		if v, ok := direct.get(t, overflowKey("new", i)); ok && v != "v2" {
			t.Errorf("new key %s on the returned server = %q; want a miss or v2", overflowKey("new", i), v)
		}
	}
	t.Logf("the returned server kept %d of the %d untouched keys it held (%d lost)", kept, kept+missed, missed)
	if kept+missed < 20 {
		t.Fatalf("the server held only %d untouched keys; the test proves little", kept+missed)
	}
}
