package main

import (
	"testing"
	"time"

	"github.com/discoh/discoh/bench/checker/cache"
	"github.com/discoh/discoh/internal/testproc"
)

// minWrites is the fewest acknowledged writes a run must make to have tested anything.
const minWrites = 100

// TestPlainCachesServeStaleReads runs the checker against a plain redis-server and a plain
// memcached, where racing fills must show up as stale reads: a checker that cannot fail
// proves nothing.
func TestPlainCachesServeStaleReads(t *testing.T) {
	servers := []struct {
		protocol string
		start    func(testing.TB, ...string) *testproc.Proc
	}{
		{cache.Redis, testproc.Redis},
		{cache.Memcached, testproc.Memcached},
	}
	for _, s := range servers {
		t.Run(s.protocol, func(t *testing.T) {
			t.Parallel()
			srv := s.start(t)
			cfg := testConfig(t, s.protocol, 2*time.Second, srv.Addr)
			cfg.MinStale = 1
			res := runCheck(t, cfg, cache.Dial)
			if res.Writes < minWrites || res.Hits == 0 {
				t.Fatalf("%d writes, %d hits; want %d writes at least and some hits", res.Writes, res.Hits, minWrites)
			}
			if res.Stale == 0 {
				t.Errorf("stale = 0 of %d hits on plain %s; want stale reads", res.Hits, s.protocol)
			}
			if res.StaleKeys == 0 || res.MaxBehind < 1 || res.MaxAge <= 0 {
				t.Errorf("stale keys %d, max behind %d, max age %v; want all above 0", res.StaleKeys, res.MaxBehind, res.MaxAge)
			}
			if res.Errors != 0 || res.Malformed != 0 {
				t.Errorf("%d errors, %d malformed hits; want 0", res.Errors, res.Malformed)
			}
		})
	}
}
