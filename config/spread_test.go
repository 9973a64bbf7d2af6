package config

import (
	"fmt"
	"testing"

	"github.com/discoh/discoh/backends/ring"
)

// Bounds on any one server's share of a key set in a 3-server pool. The bounds for sets of
// hundreds of keys leave room for ketama's uneven arcs (31.9–35.1% of the ring for r1..r3 and
// m1..m3) and for sampling (±2.7 points for 300 keys); the 30-key bounds (6 to 14 keys) hold for
// every well-mixing hash measured. fnv1a_64 puts 21 of user:1..30 and 191 of key:1..300 on one
// server of the shipped main pool.
const (
	minShareMany, maxShareMany = 0.25, 0.42
	minShare30, maxShare30     = 0.20, 0.47
)

// TestShippedConfigSpreadsKeys checks that the shipped config.yaml spreads short, similar keys
// (user:1..30, key:1..300, redis-benchmark's) evenly over its servers, and that the check catches twemproxy's
// default hash, which does not.
func TestShippedConfigSpreadsKeys(t *testing.T) {
	c := mustLoad(t, "../config.yaml")
	for _, p := range c.Pools {
		t.Run(p.Name, func(t *testing.T) {
			if len(p.Servers) != 3 {
				t.Fatalf("got %d servers; the bounds assume 3", len(p.Servers))
			}
			if why := unbalanced(t, p); why != "" {
				t.Errorf("hash %s: %s", p.Hash, why)
			}
			fnv := *p
			fnv.Hash = DefaultHash
			if unbalanced(t, &fnv) == "" {
				t.Errorf("hash %s passes the spread check; want it to fail", DefaultHash)
			}
		})
	}
}

// unbalanced describes the first key set that p spreads outside the bounds, or returns "".
func unbalanced(t *testing.T, p *Pool) string {
	t.Helper()
	sets := []struct {
		format   string
		n        int
		min, max float64
	}{
		{"user:%d", 30, minShare30, maxShare30},
		{"key:%d", 300, minShareMany, maxShareMany},
		{"key:%012d", 3000, minShareMany, maxShareMany}, // redis-benchmark -r's keys
	}
	r := poolRing(t, p)
	for _, s := range sets {
		counts := make([]int, len(p.Servers))
		for i := 1; i <= s.n; i++ {
			key := []byte(fmt.Sprintf(s.format, i))
			counts[r.Owner(ring.HashTag(key, p.HashTag))]++
		}
		for _, got := range counts {
			if share := float64(got) / float64(s.n); share < s.min || share > s.max {
				return fmt.Sprintf("%s for 1..%d: got %v keys per server; want %.0f%%–%.0f%% each",
					s.format, s.n, counts, 100*s.min, 100*s.max)
			}
		}
	}
	return ""
}

// poolRing builds p's ring as discoh does: servers hashed by name, or by address when unnamed.
func poolRing(t *testing.T, p *Pool) *ring.Ring {
	t.Helper()
	servers := make([]ring.Server, len(p.Servers))
	for i, s := range p.Servers {
		servers[i] = ring.Server{Name: s.Name, Weight: s.Weight}
		if s.Name == "" {
			servers[i].Name = ring.DefaultName(s.Addr)
		}
	}
	hash, err := ring.Hash(p.Hash)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ring.New(p.Distribution, servers, hash)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
