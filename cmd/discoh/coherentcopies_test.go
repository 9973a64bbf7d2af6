package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/internal/testproc"
)

func newKV(t *testing.T, isRedis bool, addr string) kv {
	t.Helper()
	if isRedis {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ReadTimeout: 5 * time.Second})
		t.Cleanup(func() { c.Close() })
		return redisKV{c}
	}
	c := memcache.New(addr)
	c.Timeout = 5 * time.Second
	return mcKV{c}
}

// TestCoherentKeysSurviveAKilledCopy: with replicas 2 a coherent key's guard state is on both
// copies, so killing either server (kill -9, restarted empty) costs no failed DEL or read and
// never brings an old value back (G1–G5 across the fault).
func TestCoherentKeysSurviveAKilledCopy(t *testing.T) {
	for _, isRedis := range []bool{true, false} {
		t.Run(map[bool]string{true: "redis", false: "memcached"}[isRedis], func(t *testing.T) {
			p := startCoherentPool(t, isRedis,
				"    replicas: 2\n    server_failure_limit: 1\n    server_retry_timeout: 100ms")
			clients := []kv{newKV(t, isRedis, p.addrs[0]), newKV(t, isRedis, p.addrs[1])}
			const n = 40
			var old []string
			step := func(version string) {
				t.Helper()
				updateAndDelete(t, p, clients, n, version)
				waitFresh(t, clients, n, version, old)
				old = append(old, version)
			}
			step("v1")
			p.servers[0].Kill()
			step("v2")
			p.servers[0] = restartEmpty(t, isRedis, p.servers[0].Port)
			for _, addr := range p.addrs {
				waitAllUp(t, isRedis, addr) // back up and caught up on every instance
			}
			step("v3")
			p.servers[1].Kill() // the restarted server now holds every key alone
			step("v4")
		})
	}
}

func restartEmpty(t *testing.T, isRedis bool, port int) *testproc.Proc {
	t.Helper()
	if isRedis {
		return testproc.RedisAt(t, port)
	}
	return testproc.MemcachedAt(t, port)
}

// updateAndDelete writes version into every row and DELs its key, alternating instances; every
// DEL must succeed.
func updateAndDelete(t *testing.T, p *coherentPair, clients []kv, n int, version string) {
	t.Helper()
	for id := 1; id <= n; id++ {
		p.write(t, id, fmt.Sprintf("%s-%d", version, id))
		clients[id%2].del(t, fmt.Sprintf("user:%d", id))
	}
}

// waitFresh reads every key through every instance until all read version (the pulls
// installed it), failing on any error and on any read of an older version.
func waitFresh(t *testing.T, clients []kv, n int, version string, old []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		fresh := 0
		for id := 1; id <= n; id++ {
			for _, c := range clients {
				if checkRead(t, c, id, version, old) {
					fresh++
				}
			}
		}
		if fresh == n*len(clients) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d reads fresh after 10 s; want all", version, fresh, n*len(clients))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRead reads user:id and reports whether it was version's value; an older value fails
// the test, as does an error (in get).
func checkRead(t *testing.T, c kv, id int, version string, old []string) bool {
	t.Helper()
	key := fmt.Sprintf("user:%d", id)
	v, hit := c.get(t, key)
	if hit && slices.Contains(old, v[:2]) {
		t.Errorf("%s: GET %s = %q, an older version", version, key, v)
	}
	return hit && v == fmt.Sprintf("%s-%d", version, id)
}

// waitAllUp waits until the discoh at addr reports every server up.
func waitAllUp(t *testing.T, isRedis bool, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var report string
		if isRedis {
			c := redis.NewClient(&redis.Options{Addr: addr})
			report = c.Info(t.Context(), "servers").Val()
			c.Close()
		} else {
			report = string(roundTrip(t, dialRaw(t, addr), "stats\r\n"))
		}
		if report != "" && !strings.Contains(report, "health=down") && !strings.Contains(report, "health=returning") &&
			!strings.Contains(report, "_health down") && !strings.Contains(report, "_health returning") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("servers not all up after 10 s:\n%s", report)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A copy that answers an invalidation with an error (here -NOPERM: its ACL refuses the guard's
// scripts) keeps the value the DEL removes. When the other copy
// took the DEL, the DEL is acknowledged, so the copy that refused must not serve the old value:
// it has the key queued as missed (and is out until it has deleted it), as if it had not
// answered. Run with each server as the refusing one, so one of the runs refuses on the copy
// reads go to first.
func TestCopyThatRefusesAnInvalidationServesNoOldValue(t *testing.T) {
	for refusing := range 2 {
		t.Run(fmt.Sprintf("server%d", refusing), func(t *testing.T) {
			p := startCoherentPool(t, true,
				"    replicas: 2\n    server_failure_limit: 1\n    server_retry_timeout: 100ms")
			ctx := t.Context()
			c := redis.NewClient(&redis.Options{Addr: p.addrs[0], Protocol: 2, MaxRetries: -1})
			t.Cleanup(func() { c.Close() })
			direct := redis.NewClient(&redis.Options{Addr: p.servers[refusing].Addr})
			t.Cleanup(func() { direct.Close() })
			const n = 20
			key := func(i int) string { return fmt.Sprintf("user:%d", 100+i) }
			for i := range n { // cached as a look-aside app caches: a miss, then its fill
				p.write(t, 100+i, "v1")
				c.Get(ctx, key(i))
				c.Set(ctx, key(i), "v1", 0)
				if v, err := c.Get(ctx, key(i)).Result(); err != nil || v != "v1" {
					t.Fatalf("GET %s = %q, %v; want v1", key(i), v, err)
				}
			}
			// The refusing copy answers the guard's scripts with -NOPERM.
			if err := direct.Do(ctx, "ACL", "SETUSER", "default", "-eval", "-evalsha").Err(); err != nil {
				t.Fatal(err)
			}
			acked := 0
			for i := range n {
				p.write(t, 100+i, "v2")
				if c.Del(ctx, key(i)).Err() == nil {
					acked++
				}
			}
			if err := direct.Do(ctx, "ACL", "SETUSER", "default", "+@all").Err(); err != nil {
				t.Fatal(err)
			}
			if acked == 0 {
				t.Fatalf("no DEL acknowledged with one copy refusing; want them taken by the other copy")
			}
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) {
				for i := range n {
					if v, err := c.Get(ctx, key(i)).Result(); err == nil && v == "v1" {
						t.Fatalf("GET %s = v1 after its DEL was acknowledged", key(i))
					}
				}
			}
		})
	}
}
