package main

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/internal/faultproxy"
	"github.com/discoh/discoh/internal/testproc"
)

// replicated is the pool YAML of the failover tests: two copies of each key, a server marked
// down at its first failure and probed every 100ms.
const replicated = "    replicas: 2\n    server_failure_limit: 1\n    server_retry_timeout: 100ms"

// forEachMode runs test on the replicated pool served by event loops and by a goroutine per
// client (event_loop: false).
func forEachMode(t *testing.T, test func(t *testing.T, replicated string)) {
	for _, m := range []struct{ name, pool string }{
		{"event_loops", replicated},
		{"goroutines", replicated + "\n    event_loop: false"},
	} {
		t.Run(m.name, func(t *testing.T) { test(t, m.pool) })
	}
}

// writeKeys sets n keys through discoh and returns them.
func writeKeys(t *testing.T, c *redis.Client, prefix string, n int) []string {
	t.Helper()
	var keys []string
	for i := range n {
		k := fmt.Sprintf("%s:%d:%s", prefix, i, strings.Repeat("k", i%11))
		if err := c.Set(t.Context(), k, "v-"+k, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		keys = append(keys, k)
	}
	return keys
}

// readAll reads every key and returns how many reads failed or returned a wrong value, and
// the slowest read.
func readAll(t *testing.T, c *redis.Client, keys []string) (failed int, slowest time.Duration) {
	t.Helper()
	for _, k := range keys {
		start := time.Now()
		got, err := c.Get(t.Context(), k).Result()
		slowest = max(slowest, time.Since(start))
		if err != nil || got != "v-"+k {
			failed++
			t.Logf("GET %s = %q, %v", k, got, err)
		}
	}
	return failed, slowest
}

func TestKilledServerLosesNoReads(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		st := startRedisStack(t, 3, replicated)
		c := st.client(t, 2)
		keys := writeKeys(t, c, "kill", 300)
		st.servers[1].Kill()
		start := time.Now()
		failed, slowest := readAll(t, c, keys)
		t.Logf("after kill -9 of one of 3 servers: %d of %d reads failed, slowest %v, all in %v", failed, len(keys), slowest, time.Since(start))
		if failed != 0 {
			t.Errorf("%d reads failed after one server died; want 0 (every key has a live copy)", failed)
		}
		more := writeKeys(t, c, "afterkill", 100)
		if failed, _ := readAll(t, c, more); failed != 0 {
			t.Errorf("%d of the keys written after the kill cannot be read back", failed)
		}
	})
}

func TestHungServerCostsOneTimeout(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		st := startRedisStack(t, 3, replicated)
		c := st.client(t, 2)
		keys := writeKeys(t, c, "hang", 200)
		st.servers[1].Stop()
		defer st.servers[1].Cont()
		var slow int
		for _, k := range keys {
			start := time.Now()
			got, err := c.Get(t.Context(), k).Result()
			if err != nil || got != "v-"+k {
				t.Errorf("GET %s with a hung server = %q, %v; want its value from the other copy", k, got, err)
			}
			if time.Since(start) > 500*time.Millisecond {
				slow++
			}
		}
		t.Logf("SIGSTOPped server: %d of %d reads waited out the 1s timeout", slow, len(keys))
		if slow > 1 {
			t.Errorf("%d reads waited for the hung server; want at most one timeout, then fast failover", slow)
		}
	})
}

// kv is what the partition test needs of a client of either protocol.
type kv interface {
	set(t *testing.T, key, value string)
	del(t *testing.T, key string)
	get(t *testing.T, key string) (string, bool)
}

type redisKV struct{ c *redis.Client }

func (r redisKV) set(t *testing.T, k, v string) {
	if err := r.c.Set(t.Context(), k, v, 0).Err(); err != nil {
		t.Fatalf("SET %s: %v", k, err)
	}
}
func (r redisKV) del(t *testing.T, k string) {
	if err := r.c.Del(t.Context(), k).Err(); err != nil {
		t.Fatalf("DEL %s: %v", k, err)
	}
}
func (r redisKV) get(t *testing.T, k string) (string, bool) {
	v, err := r.c.Get(t.Context(), k).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Errorf("GET %s: %v", k, err)
	}
	return v, err == nil
}

type mcKV struct{ c *memcache.Client }

func (m mcKV) set(t *testing.T, k, v string) {
	if err := m.c.Set(&memcache.Item{Key: k, Value: []byte(v)}); err != nil {
		t.Fatalf("set %s: %v", k, err)
	}
}
func (m mcKV) del(t *testing.T, k string) {
	if err := m.c.Delete(k); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("delete %s: %v", k, err)
	}
}
func (m mcKV) get(t *testing.T, k string) (string, bool) {
	it, err := m.c.Get(k)
	if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		t.Errorf("get %s: %v", k, err)
	}
	if err != nil {
		return "", false
	}
	return string(it.Value), true
}

// TestPartitionedServerMissesNoDeletes cuts one server off, deletes keys, heals it and
// requires that no read after the heal returns a deleted key's old value, on both protocols.
func TestPartitionedServerMissesNoDeletes(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		for _, isRedis := range []bool{true, false} {
			t.Run(map[bool]string{true: "redis", false: "memcached"}[isRedis], func(t *testing.T) {
				testPartition(t, isRedis, replicated)
			})
		}
	})
}

func testPartition(t *testing.T, isRedis bool, replicated string) {
	var servers []*testproc.Proc
	var proxies []*faultproxy.Proxy
	var lines []string
	for i := range 3 {
		p := testproc.Redis(t)
		if !isRedis {
			p = testproc.Memcached(t)
		}
		fp, err := faultproxy.New(p.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fp.Close() })
		servers, proxies = append(servers, p), append(proxies, fp)
		lines = append(lines, fmt.Sprintf("      - %s:1 s%d", fp.Addr(), i+1))
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
	startDiscoh(t, fmt.Sprintf("pools:\n  main:\n    listen: %s\n    redis: %v\n    timeout: 300ms\n    data_dir: %s\n%s\n    servers:\n%s\n",
		addr, isRedis, t.TempDir(), replicated, strings.Join(lines, "\n")), addr)
	var c, direct kv = mcKV{memcache.New(addr)}, mcKV{memcache.New(servers[1].Addr)}
	if isRedis {
		c, direct = redisKV{redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})}, redisKV{redis.NewClient(&redis.Options{Addr: servers[1].Addr})}
	}
	var keys []string
	for i := range 200 {
		k := fmt.Sprintf("part:%d:%s", i, strings.Repeat("k", i%11))
		c.set(t, k, "old")
		keys = append(keys, k)
	}
	proxies[1].Refuse(true)
	proxies[1].Cut()
	for _, k := range keys {
		c.del(t, k)
	}
	stale := 0
	for _, k := range keys {
		if _, ok := direct.get(t, k); ok {
			stale++
		}
	}
	t.Logf("the cut-off server still holds %d of the deleted keys", stale)
	if stale == 0 {
		t.Fatal("the cut-off server holds none of the deleted keys; the test proves nothing")
	}
	proxies[1].Refuse(false)
	waitUp(t, addr, isRedis)
	for _, k := range keys {
		if v, ok := c.get(t, k); ok {
			t.Errorf("get %s after the heal = %q; want a miss (it was deleted)", k, v)
		}
	}
}

// waitUp waits until discoh reports every server up with an empty replay queue.
func waitUp(t *testing.T, addr string, isRedis bool) {
	t.Helper()
	if isRedis {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
		defer c.Close()
		waitHealthy(t, c)
		return
	}
	conn := dialRaw(t, addr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		stats := roundTrip(t, conn, "stats\r\n")
		if !bytes.Contains(stats, []byte("_health down")) && !bytes.Contains(stats, []byte("_health returning")) &&
			!regexpStatQueue.Match(stats) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("servers not healthy after 10s:\n%s", stats)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var regexpStatQueue = regexp.MustCompile(`_replay_queue [1-9]`)

// waitHealthy waits until INFO shows every server up with an empty replay queue.
func waitHealthy(t *testing.T, c *redis.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info := c.Info(t.Context(), "servers").Val()
		if !strings.Contains(info, "health=down") && !strings.Contains(info, "health=returning") &&
			!regexpQueue.MatchString(info) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("servers not healthy after 10s:\n%s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var regexpQueue = regexp.MustCompile(`replay_queue=[1-9]`)

func TestServerRestartedEmptyIsWarmedFromItsPartner(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		st := startRedisStack(t, 3, replicated)
		c := st.client(t, 2)
		keys := writeKeys(t, c, "warm", 200)
		c.Expire(t.Context(), keys[0], time.Hour)
		port := st.servers[1].Port
		st.servers[1].Kill()
		st.servers[1] = testproc.RedisAt(t, port)
		waitHealthy(t, c)
		if failed, _ := readAll(t, c, keys); failed != 0 {
			t.Errorf("%d reads missed after a server came back empty; want 0 (served from the partner)", failed)
		}
		held, _ := st.direct(t, 1).DBSize(t.Context()).Result()
		if held == 0 {
			t.Error("the restarted server holds no keys after the reads; want the missed ones copied back")
		}
		for _, k := range keys[:1] {
			ttl, _ := c.TTL(t.Context(), k).Result()
			if ttl <= 0 {
				t.Errorf("TTL of %s after warm-up = %v; want the partner's TTL kept", k, ttl)
			}
		}
		if info := c.Info(t.Context(), "stats").Val(); !strings.Contains(info, "warm_copies:") || strings.Contains(info, "warm_copies:0\r\n") {
			t.Errorf("INFO stats shows no warm copies:\n%s", info)
		}
	})
}

func TestMemcacheKilledServerLosesNoReads(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		st := startMemcacheStack(t, 3, replicated)
		mc := memcache.New(st.addr)
		mc.Timeout = 3 * time.Second
		var keys []string
		for i := range 300 {
			k := fmt.Sprintf("mkill:%d:%s", i, strings.Repeat("k", i%11))
			if err := mc.Set(&memcache.Item{Key: k, Value: []byte("v-" + k)}); err != nil {
				t.Fatalf("set %s: %v", k, err)
			}
			keys = append(keys, k)
		}
		st.servers[1].Kill()
		failed := 0
		for _, k := range keys {
			if it, err := mc.Get(k); err != nil || string(it.Value) != "v-"+k {
				failed++
			}
		}
		got, err := mc.GetMulti(keys)
		t.Logf("after kill -9 of one of 3 memcached: %d of %d gets failed; multi-get returned %d (%v)", failed, len(keys), len(got), err)
		if failed != 0 {
			t.Errorf("%d gets failed after one server died; want 0", failed)
		}
		if err != nil || len(got) != len(keys) {
			t.Errorf("multi-get after the kill returned %d of %d keys (%v)", len(got), len(keys), err)
		}
		if err := mc.Set(&memcache.Item{Key: "after", Value: []byte("x")}); err != nil {
			t.Errorf("set after the kill: %v", err)
		}
	})
}

// mcKeys sets n keys through discoh's memcached pool and returns them.
func mcKeys(t *testing.T, mc *memcache.Client, prefix string, n int) []string {
	t.Helper()
	var keys []string
	for i := range n {
		k := fmt.Sprintf("%s:%d:%s", prefix, i, strings.Repeat("k", i%11))
		if err := mc.Set(&memcache.Item{Key: k, Value: []byte("v-" + k), Flags: 7}); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
		keys = append(keys, k)
	}
	return keys
}

func TestMemcacheHungServerCostsOneTimeout(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		st := startMemcacheStack(t, 3, replicated)
		mc := memcache.New(st.addr)
		mc.Timeout = 3 * time.Second
		keys := mcKeys(t, mc, "mhang", 200)
		st.servers[1].Stop()
		defer st.servers[1].Cont()
		slow := 0
		for _, k := range keys {
			start := time.Now()
			it, err := mc.Get(k)
			if err != nil || string(it.Value) != "v-"+k {
				t.Errorf("get %s with a hung server: %v; want its value from the other copy", k, err)
			}
			if time.Since(start) > 500*time.Millisecond {
				slow++
			}
		}
		t.Logf("SIGSTOPped memcached: %d of %d gets waited out the 1s timeout", slow, len(keys))
		if slow > 1 {
			t.Errorf("%d gets waited for the hung server; want at most one", slow)
		}
	})
}

func TestMemcacheServerRestartedEmptyIsWarmed(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		st := startMemcacheStack(t, 3, replicated)
		mc := memcache.New(st.addr)
		mc.Timeout = 3 * time.Second // gomemcache's 500 ms is a latency bound this test does not assert
		keys := mcKeys(t, mc, "mwarm", 200)
		port := st.servers[1].Port
		st.servers[1].Kill()
		st.servers[1] = testproc.MemcachedAt(t, port)
		missed := 0
		for _, k := range keys {
			it, err := mc.Get(k)
			if err != nil || string(it.Value) != "v-"+k || it.Flags != 7 {
				missed++
				t.Logf("get %s: %v", k, err)
			}
		}
		if missed != 0 {
			t.Errorf("%d gets missed after a server came back empty; want 0 (served from the partner)", missed)
		}
		c := dialRaw(t, st.addr)
		stats := roundTrip(t, c, "stats\r\n")
		if bytes.Contains(stats, []byte("STAT warm_copies 0\r\n")) || !bytes.Contains(stats, []byte("STAT warm_copies ")) {
			t.Errorf("stats shows no warm copies:\n%s", stats)
		}
	})
}

// TestKillUnderSteadyLoad kills a server while clients keep reading and writing: no read of a
// key written before the kill may fail, no write may fail, and the slowest read is reported as
// the failover latency.
func TestKillUnderSteadyLoad(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		st := startRedisStack(t, 3, replicated)
		c := redis.NewClient(&redis.Options{Addr: st.addr, Protocol: 2, PoolSize: 8, MaxRetries: -1})
		defer c.Close()
		keys := writeKeys(t, c, "steady", 300)
		var readErrs, writeErrs, ops atomic.Int64
		var slowest atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					k := keys[(w*37+i)%len(keys)]
					start := time.Now()
					got, err := c.Get(t.Context(), k).Result()
					if d := int64(time.Since(start)); d > slowest.Load() {
						slowest.Store(d)
					}
					if err != nil || got != "v-"+k {
						readErrs.Add(1)
					}
					if c.Set(t.Context(), fmt.Sprintf("steady-new:%d:%d", w, i), "x", 0).Err() != nil {
						writeErrs.Add(1)
					}
					ops.Add(2)
				}
			})
		}
		time.Sleep(500 * time.Millisecond)
		st.servers[1].Kill()
		time.Sleep(1500 * time.Millisecond)
		close(stop)
		wg.Wait()
		t.Logf("steady load with kill -9 of one of 3 servers: %d ops, %d failed reads, %d failed writes, slowest read %v",
			ops.Load(), readErrs.Load(), writeErrs.Load(), time.Duration(slowest.Load()))
		if readErrs.Load() != 0 || writeErrs.Load() != 0 {
			t.Errorf("%d reads and %d writes failed; want 0 and 0", readErrs.Load(), writeErrs.Load())
		}
	})
}

// TestServerMarkedDownByReadsMissesNoDeletes: a server marked down by failed reads, not by a
// failed write, must still have the deletes it misses replayed before it serves again.
func TestServerMarkedDownByReadsMissesNoDeletes(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		st := startRedisStack(t, 3, replicated)
		c := st.client(t, 2)
		keys := writeKeys(t, c, "sealed", 100)
		st.servers[1].Stop()
		readAll(t, c, keys) // reads on the hung server time out once and mark it down
		for _, k := range keys {
			if err := c.Del(t.Context(), k).Err(); err != nil {
				t.Fatalf("DEL %s with a copy down: %v", k, err)
			}
		}
		st.servers[1].Cont()
		waitHealthy(t, c)
		for _, k := range keys {
			if v, err := c.Get(t.Context(), k).Result(); !errors.Is(err, redis.Nil) {
				t.Errorf("GET %s after the server came back = %q, %v; want a miss (it was deleted)", k, v, err)
			}
		}
	})
}

// TestNoWarmUpWhileHealthy: outside the warm window after a reconnect, a miss on a key's first
// copy is a miss, however its other copy looks (a healthy pool pays no second lookup per miss).
func TestNoWarmUpWhileHealthy(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		st := startRedisStack(t, 3, replicated)
		c := st.client(t, 2)
		r := testRing(3)
		for i := range 50 {
			k := fmt.Sprintf("healthy:%d", i)
			owners := r.Owners([]byte(k), 2, nil)
			st.direct(t, owners[1]).Set(t.Context(), k, "only on the partner", 0)
			if v, err := c.Get(t.Context(), k).Result(); !errors.Is(err, redis.Nil) {
				// A server that was down for a moment (a slow first dial on a loaded machine)
				// is warming for a minute after: INFO's downs say whether that happened.
				t.Fatalf("GET %s = %q, %v; want a miss (no warm-up while healthy); servers:\n%s",
					k, v, err, c.Info(t.Context(), "servers").Val())
			}
		}
	})
}

// TestMultiKeyReadsFailOverPerKey: the first multi-key read after a kill has a part in flight
// on the dead server; its keys are answered by their other copies.
func TestMultiKeyReadsFailOverPerKey(t *testing.T) {
	forEachMode(t, func(t *testing.T, replicated string) {
		t.Run("redis", func(t *testing.T) {
			st := startRedisStack(t, 3, replicated)
			c := st.client(t, 2)
			keys := writeKeys(t, c, "mfail", 60)
			c.MGet(t.Context(), keys...) // connections to every server are up
			st.servers[1].Kill()
			vals, err := c.MGet(t.Context(), keys...).Result()
			if err != nil {
				t.Fatalf("MGET right after a kill: %v", err)
			}
			for i, k := range keys {
				if vals[i] != "v-"+k {
					t.Errorf("MGET[%d] = %v; want v-%s", i, vals[i], k)
				}
			}
		})
		t.Run("memcached", func(t *testing.T) {
			st := startMemcacheStack(t, 3, replicated)
			mc := memcache.New(st.addr)
			keys := mcKeys(t, mc, "mfail", 60)
			mc.GetMulti(keys)
			st.servers[1].Kill()
			got, err := mc.GetMulti(keys)
			if err != nil || len(got) != len(keys) {
				t.Errorf("multi-get right after a kill: %d of %d keys, %v", len(got), len(keys), err)
			}
		})
	})
}

// TestMemcacheWarmUpUnderWrites: gets of a server restarted empty are served from the partner
// while other clients write other keys. A warm-up that gave up whenever any write began in the
// pool (one counter for every key) left 120 of 600 gets a miss under 20 writers.
func TestMemcacheWarmUpUnderWrites(t *testing.T) {
	st := startMemcacheStack(t, 3, replicated)
	mc := memcache.New(st.addr)
	keys := mcKeys(t, mc, "wwarm", 300)
	port := st.servers[1].Port
	st.servers[1].Kill()
	st.servers[1] = testproc.MemcachedAt(t, port)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			writer := memcache.New(st.addr)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				writer.Set(&memcache.Item{Key: fmt.Sprintf("other:%d:%d", w, i%500), Value: []byte("x")})
			}
		})
	}
	missed := 0
	for _, k := range keys {
		if it, err := mc.Get(k); err != nil || string(it.Value) != "v-"+k {
			missed++
		}
	}
	close(stop)
	wg.Wait()
	if missed != 0 {
		t.Errorf("%d of %d gets missed after a server came back empty, with writes to other keys; want 0", missed, len(keys))
	}
}

// TestAutoEjectedServerServesNoOldValues: with auto_eject_hosts, writes to a down server's keys
// go to the next server on the ring; when the server returns, those keys are deleted on it
// before it serves reads, instead of serving the values the writes replaced (as twemproxy does).
func TestAutoEjectedServerServesNoOldValues(t *testing.T) {
	st := startRedisStack(t, 3, "    auto_eject_hosts: true\n    server_failure_limit: 1\n    server_retry_timeout: 100ms")
	c := st.client(t, 2)
	ctx := t.Context()
	keys := writeKeys(t, c, "eject", 60)
	st.servers[0].Stop()
	for _, k := range keys {
		c.Set(ctx, k, "new", 0) // the first of server 0's keys times out and marks it down
	}
	st.servers[0].Cont()
	waitHealthy(t, c)
	old := 0
	for _, k := range keys {
		got, err := c.Get(ctx, k).Result()
		if err == nil && got != "new" {
			old++
		}
	}
	if old != 0 {
		t.Errorf("%d of %d keys read their value from before the server was ejected; want 0", old, len(keys))
	}
}
