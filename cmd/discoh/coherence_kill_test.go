package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/internal/testdb"
	"github.com/discoh/discoh/internal/testproc"
)

// TestRestartedCopyTakesInvalidationsOfALaterInstance is the race behind the stale reads of
// the checker's kill -9 rows (issue 14). Two instances see a killed server come back at
// different times: each probes it on a schedule of its own. Instance a has it up again, and
// reads, pulls and installs coherent keys there, its first live copy; instance b still has it
// marked down. A DEL through b that fast-failed on it reached the partner only, and was
// acknowledged: a then read the value that DEL removed, from the restarted copy, until b's
// probe found the server and replayed the key (here never: b probes once an hour).
//
// An invalidation refused by a copy that is marked down is sent to that copy directly: if it
// answers, it takes the invalidation; if not, it is not serving anybody, and what it stores
// once it is back was read from the database after that invalidation began.
func TestRestartedCopyTakesInvalidationsOfALaterInstance(t *testing.T) {
	for _, isRedis := range []bool{true, false} {
		t.Run(map[bool]string{true: "redis", false: "memcached"}[isRedis], func(t *testing.T) {
			p := startCoherentPoolEach(t, isRedis,
				"    replicas: 2\n    server_failure_limit: 1\n    server_retry_timeout: 100ms",
				"    replicas: 2\n    server_failure_limit: 1\n    server_retry_timeout: 1h")
			a, b := newKV(t, isRedis, p.addrs[0]), newKV(t, isRedis, p.addrs[1])
			both := []kv{a, b}
			const n = 40
			writeAll := func(version string, through kv) {
				t.Helper()
				for id := 1; id <= n; id++ {
					p.write(t, id, fmt.Sprintf("%s-%d", version, id))
					through.del(t, fmt.Sprintf("user:%d", id))
				}
			}
			writeAll("v1", a)
			waitFresh(t, both, n, "v1", nil)

			// The victim is the first copy of most keys: reads, pulls and installs go there.
			victim := firstCopy(t, isRedis, p.servers, n, "v1")
			p.servers[victim].Kill()
			writeAll("v2", a) // both instances find the server dead and mark it down
			writeAll("v2", b)
			waitFresh(t, both, n, "v2", []string{"v1"})

			p.servers[victim] = restartEmpty(t, isRedis, p.servers[victim].Port)
			waitAllUp(t, isRedis, p.addrs[0])
			if !serverDown(t, isRedis, p.addrs[1]) {
				t.Fatal("instance b has every server up; want the restarted one still down there")
			}
			writeAll("v2", a) // a pulls v2 again and installs it on the restarted copy
			waitFresh(t, []kv{a}, n, "v2", []string{"v1"})

			writeAll("v3", b) // through the instance that still has the restarted copy down
			stale := 0
			for id := 1; id <= n; id++ {
				key := fmt.Sprintf("user:%d", id)
				if v, hit := a.get(t, key); hit && !strings.HasPrefix(v, "v3-") {
					stale++
				}
			}
			if stale > 0 {
				t.Fatalf("%d of %d keys read an older value through a after their DEL through b was acknowledged; want 0", stale, n)
			}
			waitFresh(t, both, n, "v3", []string{"v1", "v2"})
		})
	}
}

// startCoherentPoolEach is startCoherentPool with pool YAML lines of each instance's own.
func startCoherentPoolEach(t *testing.T, isRedis bool, extras ...string) *coherentPair {
	t.Helper()
	p := &coherentPair{db: testdb.Open(t, "pgx", testdb.PostgresDSN)}
	p.table = testdb.Table(t, p.db, "CREATE TABLE {t} (id int PRIMARY KEY, body text NOT NULL)")
	var servers []string
	for i := range 2 {
		proc := testproc.Redis(t)
		if !isRedis {
			proc = testproc.Memcached(t)
		}
		p.servers = append(p.servers, proc)
		servers = append(servers, fmt.Sprintf("      - %s:1 s%d", proc.Addr, i+1))
	}
	for _, extra := range extras {
		addr := fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
		startDiscoh(t, fmt.Sprintf(`pools:
  main:
    listen: %s
    redis: %v
    timeout: 1s
    data_dir: %s
%s
    servers:
%s
databases:
  pg: {driver: postgres, dsn: "%s"}
coherence:
  window: 5s
  sources:
    - {pattern: "user:{id}", database: pg, query: "SELECT body FROM %s WHERE id = $1", ttl: 1h}
`, addr, isRedis, t.TempDir(), extra, strings.Join(servers, "\n"), testdb.PostgresDSN, p.table), addr)
		p.addrs = append(p.addrs, addr)
	}
	return p
}

// firstCopy returns the index of the server that holds version's value of most of keys
// user:1..n, read directly: the first copy of most of them, where pulls install.
func firstCopy(t *testing.T, isRedis bool, servers []*testproc.Proc, n int, version string) int {
	t.Helper()
	var keys []string
	for id := 1; id <= n; id++ {
		keys = append(keys, fmt.Sprintf("user:%d", id))
	}
	best, most := 0, -1
	for i, proc := range servers {
		var srv recopyServer = memcacheServer{proc.Addr}
		if isRedis {
			c := redis.NewClient(&redis.Options{Addr: proc.Addr})
			defer c.Close()
			srv = redisServer{c}
		}
		count := 0
		for _, h := range srv.lookup(t, keys) {
			if strings.Contains(h.value, version+"-") { // memcached's data starts with guard state
				count++
			}
		}
		if count > most {
			best, most = i, count
		}
	}
	return best
}

// serverDown reports whether the discoh at addr has a server marked down.
func serverDown(t *testing.T, isRedis bool, addr string) bool {
	t.Helper()
	if isRedis {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		return strings.Contains(c.Info(t.Context(), "servers").Val(), "health=down")
	}
	return strings.Contains(string(roundTrip(t, dialRaw(t, addr), "stats\r\n")), "_health down")
}
