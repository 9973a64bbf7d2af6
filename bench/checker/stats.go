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

// callKind says which part of the workload a failed call belonged to.
type callKind int

const (
	readCall  callKind = iota // a reader's GET
	fillCall                  // a reader's DB read or SET after a miss
	writeCall                 // a writer's UPDATE, DEL, SET or COMMIT
	callKinds
)

// stats are the load's counters, updated by every worker.
type stats struct {
	reads, hits, fills, writes atomic.Int64
	errors                     [callKinds]atomic.Int64
	malformed                  atomic.Int64
	began                      time.Time // the load's start, set before any worker starts
	staleAt, errorAt           span      // when stale hits began, and calls failed
	stale                      [kinds]atomic.Int64
	maxBehind                  atomic.Int64 // versions
	maxAge                     atomic.Int64 // nanoseconds
	staleKeys                  []atomic.Bool
}

func newStats(keys int) *stats {
	return &stats{staleKeys: make([]atomic.Bool, keys)}
}

// addStale counts a stale hit on key id by a reader of kind whose read began at start.
func (s *stats) addStale(id int, kind clientKind, start time.Time, v ledger.Verdict) {
	s.stale[kind].Add(1)
	s.staleAt.add(start.Sub(s.began))
	s.staleKeys[id].Store(true)
	raise(&s.maxBehind, v.Behind)
	raise(&s.maxAge, int64(v.Age))
}

// staleCount is the stale hits so far.
func (s *stats) staleCount() int64 {
	return s.stale[single].Load() + s.stale[pooled].Load()
}

// addError counts a failed call of kind.
func (s *stats) addError(kind callKind) int64 {
	s.errorAt.add(time.Since(s.began))
	return s.errors[kind].Add(1)
}

// span is when something first and last happened, as offsets from the load's start, each
// stored plus 1 ns so that 0 means never.
type span struct {
	first, last atomic.Int64
}

func (s *span) add(d time.Duration) {
	v := max(int64(d), 0) + 1
	for old := s.first.Load(); old == 0 || v < old; old = s.first.Load() {
		if s.first.CompareAndSwap(old, v) {
			break
		}
	}
	raise(&s.last, v)
}

// get returns the first and last offsets, zero when nothing happened.
func (s *span) get() Span {
	first, last := s.first.Load(), s.last.Load()
	if first == 0 {
		return Span{}
	}
	return Span{First: time.Duration(first - 1), Last: time.Duration(last - 1)}
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
		ReadErrors:  s.errors[readCall].Load(),
		FillErrors:  s.errors[fillCall].Load(),
		WriteErrors: s.errors[writeCall].Load(),
		Malformed:   s.malformed.Load(),
		StaleSingle: s.stale[single].Load(),
		StalePooled: s.stale[pooled].Load(),
		MaxBehind:   s.maxBehind.Load(),
		MaxAge:      time.Duration(s.maxAge.Load()),
		StaleAt:     s.staleAt.get(),
		ErrorsAt:    s.errorAt.get(),
	}
	r.Stale = r.StaleSingle + r.StalePooled
	r.Errors = r.ReadErrors + r.FillErrors + r.WriteErrors
	for i := range s.staleKeys {
		if s.staleKeys[i].Load() {
			r.StaleKeys++
		}
	}
	return r
}
