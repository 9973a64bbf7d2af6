package main

import (
	"sync/atomic"
	"time"

	"github.com/discoh/discoh/bench/checker/ledger"
)

// clientKind says how a reader reaches the target.
type clientKind int

const (
	single clientKind = iota // a connection of its own
	pooled                   // a pool shared with other readers
	kinds
)

func (k clientKind) String() string {
	if k == pooled {
		return "pooled"
	}
	return "single-connection"
}

// stats are the load's counters, updated by every worker.
type stats struct {
	reads, hits, fills, writes atomic.Int64
	errors, malformed          atomic.Int64
	stale                      [kinds]atomic.Int64
	maxBehind                  atomic.Int64 // versions
	maxAge                     atomic.Int64 // nanoseconds
	staleKeys                  []atomic.Bool
}

func newStats(keys int) *stats {
	return &stats{staleKeys: make([]atomic.Bool, keys)}
}

// addStale counts a stale hit on key id by a reader of kind.
func (s *stats) addStale(id int, kind clientKind, v ledger.Verdict) {
	s.stale[kind].Add(1)
	s.staleKeys[id].Store(true)
	raise(&s.maxBehind, v.Behind)
	raise(&s.maxAge, int64(v.Age))
}

// raise stores v in a if v is greater.
func raise(a *atomic.Int64, v int64) {
	for old := a.Load(); v > old; old = a.Load() {
		if a.CompareAndSwap(old, v) {
			return
		}
	}
}

// result copies the counters into a Result.
func (s *stats) result() Result {
	r := Result{
		Reads:       s.reads.Load(),
		Hits:        s.hits.Load(),
		Fills:       s.fills.Load(),
		Writes:      s.writes.Load(),
		Errors:      s.errors.Load(),
		Malformed:   s.malformed.Load(),
		StaleSingle: s.stale[single].Load(),
		StalePooled: s.stale[pooled].Load(),
		MaxBehind:   s.maxBehind.Load(),
		MaxAge:      time.Duration(s.maxAge.Load()),
	}
	r.Stale = r.StaleSingle + r.StalePooled
	for i := range s.staleKeys {
		if s.staleKeys[i].Load() {
			r.StaleKeys++
		}
	}
	return r
}
