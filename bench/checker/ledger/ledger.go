// Package ledger is the consistency checker's record of acknowledged writes, against which
// it judges cache hits: a hit is stale when its read began after the invalidation of a newer
// write was acknowledged to the writer (DESIGN.md section 4, G1).
package ledger

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// Ledger records, for keys numbered 0 to n-1, when each write's invalidation was
// acknowledged, and judges hits against those records. It is safe for concurrent use.
type Ledger struct {
	keys []history
}

// history is one key's acknowledged writes, kept as the writes that could still decide a
// verdict: sorted by time, versions strictly increasing. An ack that came no earlier than
// another of a version at least as high is dropped, as it can neither raise the newest
// version acknowledged before a read nor be the first ack to supersede a version.
type history struct {
	mu   sync.Mutex
	acks []ack
}

type ack struct {
	version int64
	at      time.Time
}

// Verdict is the judgement of one cache hit.
type Verdict struct {
	// Stale is true when a write newer than the hit was acknowledged before the read began.
	Stale bool
	// Behind is how many versions the hit lags the newest write acknowledged before the
	// read began; 0 unless Stale.
	Behind int64
	// Age is how long before the read began the first write newer than the hit was
	// acknowledged: how long the value had been known to be outdated; 0 unless Stale.
	Age time.Duration
}

// New returns a ledger for keys 0 to n-1.
func New(n int) *Ledger {
	return &Ledger{keys: make([]history, n)}
}

// Acked records that the invalidation of write version of key was acknowledged at at.
// Record the time after the acknowledgement arrived, never before: a late time only makes
// the ledger miss a stale read, an early one would accuse a read that began in time.
func (l *Ledger) Acked(key int, version int64, at time.Time) {
	h := &l.keys[key]
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addLocked(ack{version: version, at: at})
}

// Judge judges a hit on key that returned version got, for a read that began at start.
func (l *Ledger) Judge(key int, start time.Time, got int64) Verdict {
	h := &l.keys[key]
	h.mu.Lock()
	defer h.mu.Unlock()
	newest, ok := h.newestBeforeLocked(start)
	if !ok || newest.version <= got {
		return Verdict{}
	}
	first := h.firstAfterLocked(got)
	return Verdict{Stale: true, Behind: newest.version - got, Age: start.Sub(first.at)}
}

// addLocked inserts a, keeping the history sorted by time with increasing versions.
func (h *history) addLocked(a ack) {
	i := sort.Search(len(h.acks), func(i int) bool { return h.acks[i].at.After(a.at) })
	if i > 0 && h.acks[i-1].version >= a.version {
		return // an earlier ack of a version as high already says everything a says
	}
	j := i
	for j < len(h.acks) && h.acks[j].version <= a.version {
		j++ // later acks of versions no higher say nothing a does not
	}
	h.acks = slices.Replace(h.acks, i, j, a)
}

// newestBeforeLocked returns the highest version acknowledged strictly before t.
func (h *history) newestBeforeLocked(t time.Time) (ack, bool) {
	i := sort.Search(len(h.acks), func(i int) bool { return !h.acks[i].at.Before(t) })
	if i == 0 {
		return ack{}, false
	}
	return h.acks[i-1], true
}

// firstAfterLocked returns the earliest ack of a version above v. The caller knows one
// exists.
func (h *history) firstAfterLocked(v int64) ack {
	i := sort.Search(len(h.acks), func(i int) bool { return h.acks[i].version > v })
	return h.acks[i]
}
