package main

import (
	"sync"
	"testing"
	"time"

	"github.com/discoh/discoh/bench/checker/ledger"
)

func TestSpan(t *testing.T) {
	var s span
	if got := s.get(); got != (Span{}) {
		t.Errorf("empty span = %+v; want zero", got)
	}
	for _, d := range []time.Duration{3 * time.Second, time.Second, 0, 2 * time.Second, -time.Millisecond} {
		s.add(d)
	}
	if got, want := s.get(), (Span{First: 0, Last: 3 * time.Second}); got != want {
		t.Errorf("span = %+v; want %+v (a negative offset counts as the start)", got, want)
	}
}

func TestSpanConcurrent(t *testing.T) {
	var s span
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				s.add(time.Duration(1 + w*1000 + i))
			}
		})
	}
	wg.Wait()
	if got, want := s.get(), (Span{First: 1, Last: 4000}); got != want {
		t.Errorf("span = %+v; want %+v", got, want)
	}
}

// TestStatsResult checks that every counter reaches the Result: errors by kind and in total,
// stale hits by reader kind, and when each happened.
func TestStatsResult(t *testing.T) {
	s := newStats(4)
	s.began = time.Now().Add(-time.Second)
	s.addError(readCall)
	s.addError(readCall)
	s.addError(writeCall)
	s.addStale(1, single, s.began.Add(200*time.Millisecond), ledger.Verdict{Stale: true, Behind: 3, Age: time.Millisecond})
	s.addStale(1, pooled, s.began.Add(300*time.Millisecond), ledger.Verdict{Stale: true, Behind: 1, Age: 5 * time.Millisecond})
	s.addStale(2, pooled, s.began.Add(100*time.Millisecond), ledger.Verdict{Stale: true, Behind: 2, Age: 2 * time.Millisecond})
	r := s.result()
	if r.Errors != 3 || r.ReadErrors != 2 || r.FillErrors != 0 || r.WriteErrors != 1 {
		t.Errorf("errors %d (%d reads, %d fills, %d writes); want 3 (2, 0, 1)", r.Errors, r.ReadErrors, r.FillErrors, r.WriteErrors)
	}
	if r.ErrorsAt.First < time.Second || r.ErrorsAt.Last < r.ErrorsAt.First {
		t.Errorf("errors at %+v; want from 1 s into the load on", r.ErrorsAt)
	}
	if r.Stale != 3 || r.StaleSingle != 1 || r.StalePooled != 2 || r.StaleKeys != 2 {
		t.Errorf("stale %d (%d single, %d pooled) on %d keys; want 3 (1, 2) on 2", r.Stale, r.StaleSingle, r.StalePooled, r.StaleKeys)
	}
	if r.MaxBehind != 3 || r.MaxAge != 5*time.Millisecond {
		t.Errorf("most behind %d, oldest %v; want 3 and 5ms (from different hits)", r.MaxBehind, r.MaxAge)
	}
	if want := (Span{First: 100 * time.Millisecond, Last: 300 * time.Millisecond}); r.StaleAt != want {
		t.Errorf("stale at %+v; want %+v", r.StaleAt, want)
	}
}
