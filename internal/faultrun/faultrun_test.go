package faultrun

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	e := entry{acked: 3, sent: 5}
	for _, tc := range []struct {
		name, value string
		ok          bool
		want        verdict
	}{
		{"last acknowledged", formatValue("k", 3, 16), true, fresh},
		{"failed write that was applied", formatValue("k", 5, 16), true, fresh},
		{"older", formatValue("k", 2, 16), true, stale},
		{"never sent", formatValue("k", 6, 16), true, wrong},
		{"another key's", formatValue("k2", 3, 16), true, wrong},
		{"a status reply", "OK", true, wrong},
		{"cut short", formatValue("k", 3, 16)[:3], true, wrong},
		{"a miss", "", false, missed},
	} {
		if got := e.judge("k", tc.value, tc.ok); got != tc.want {
			t.Errorf("%s: judge(%q) = %v; want %v", tc.name, tc.value, got, tc.want)
		}
	}
	if got := (&entry{}).judge("k", "", false); got != fresh {
		t.Errorf("a miss of a key never acknowledged = %v; want fresh", got)
	}
}

func TestFormatValue(t *testing.T) {
	v := formatValue("fr:12", 345, 64)
	if len(v) != 64 {
		t.Errorf("len(%q) = %d; want 64", v, len(v))
	}
	if n, ok := parseValue("fr:12", v); n != 345 || !ok {
		t.Errorf("parseValue(%q) = %d, %v; want 345, true", v, n, ok)
	}
}

// fakeCache is an in-memory cache shared by its clients, which can be told to misbehave.
type fakeCache struct {
	mu   sync.Mutex
	data map[string]string
	old  map[string]string // each key's value before the last SET

	failSets   atomic.Bool // SETs fail without storing
	dropSets   atomic.Bool // SETs are acknowledged without storing
	serveOld   atomic.Bool // GETs return the value before the last SET
	wrongReply atomic.Bool // GETs answer OK
}

func newFakeCache() *fakeCache {
	return &fakeCache{data: map[string]string{}, old: map[string]string{}}
}

func (f *fakeCache) dial(string) Client { return fakeClient{f} }

type fakeClient struct{ f *fakeCache }

var errFake = errors.New("fake: failed")

func (c fakeClient) Get(_ context.Context, k string) (string, bool, error) {
	if c.f.wrongReply.Load() {
		return "OK", true, nil
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if old, ok := c.f.old[k]; ok && c.f.serveOld.Load() {
		return old, true, nil
	}
	v, ok := c.f.data[k]
	return v, ok, nil
}

func (c fakeClient) Set(_ context.Context, k, v string) error {
	switch {
	case c.f.failSets.Load():
		return errFake
	case c.f.dropSets.Load():
		return nil
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if old, ok := c.f.data[k]; ok {
		c.f.old[k] = old
	}
	c.f.data[k] = v
	return nil
}

func (c fakeClient) GetMany(ctx context.Context, keys []string) (map[string]string, error) {
	hits := map[string]string{}
	for _, k := range keys {
		if v, ok, _ := c.Get(ctx, k); ok {
			hits[k] = v
		}
	}
	return hits, nil
}

func (fakeClient) Close() error { return nil }

// run runs a short load against cache, with misbehave switched on for its last half as a
// fault, and off again once the clients stopped, and returns its figures.
func run(t *testing.T, cache *fakeCache, burst int, misbehave func(on bool)) Figures {
	t.Helper()
	ctx := t.Context()
	r, err := Start(ctx, Config{Addr: "fake", Dial: cache.dial, Clients: 4, Keys: 100, Burst: burst, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return r.BurstWritten() == burst && r.Ops() >= 200 })
	f := r.Fault("misbehave")
	misbehave(true)
	n := r.Ops() + 200
	waitFor(t, func() bool { return r.Ops() >= n })
	r.Stop()
	misbehave(false)
	f.Ended()
	return r.Figures(time.Hour, r.Check(ctx, []Client{fakeClient{cache}}))
}

// waitFor waits until done reports true.
func waitFor(t *testing.T, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the load did not get there in 10 s")
		}
	}
}

// A checker that cannot fail proves nothing: each kind of misbehaviour shows in its figure,
// and a cache that behaves shows none.
func TestFiguresShowMisbehaviour(t *testing.T) {
	t.Run("behaves", func(t *testing.T) {
		f := run(t, newFakeCache(), 40, func(bool) {})
		if f.Ops == 0 || f.Failed+f.Stale+f.Wrong+f.Missed != 0 || f.Final.Lost+f.Final.Stale+f.Final.LostEverywhere != 0 {
			t.Errorf("a cache that behaves: %v", f)
		}
		if f.Final.Keys != 140 || f.Final.Copies[1] != 140 {
			t.Errorf("final check of %d keys, %v held by n servers; want 140 (100 and a burst of 40), all on the one server", f.Final.Keys, f.Final.Copies)
		}
	})
	t.Run("failed writes", func(t *testing.T) {
		cache := newFakeCache()
		f := run(t, cache, 0, cache.failSets.Store)
		if f.Failed == 0 || f.FailedOutside != 0 || f.Stale+f.Wrong+f.Missed != 0 || f.Final.Lost != 0 {
			t.Errorf("SETs failing (and not stored) during the fault: %v; want failures, nothing else", f)
		}
		if len(f.Errors) == 0 || !strings.Contains(f.Errors[0], "fake: failed") {
			t.Errorf("error samples %q; want the clients' errors", f.Errors)
		}
	})
	t.Run("dropped writes", func(t *testing.T) {
		cache := newFakeCache()
		f := run(t, cache, 0, cache.dropSets.Store)
		if f.Stale == 0 || f.Final.Stale == 0 {
			t.Errorf("SETs acknowledged and dropped during the fault: %v; want stale reads during the run and at the end", f)
		}
		if f.Final.LostEverywhere == 0 {
			t.Errorf("SETs dropped: %d keys lost from every server; want some (their last acknowledged write is nowhere)", f.Final.LostEverywhere)
		}
	})
	t.Run("old values", func(t *testing.T) {
		cache := newFakeCache()
		f := run(t, cache, 0, cache.serveOld.Store)
		if f.Stale == 0 || f.Final.Stale != 0 || len(f.Odd) == 0 {
			t.Errorf("old values served during the fault: %v (%q); want stale reads during the run only", f, f.Odd)
		}
	})
	t.Run("wrong replies", func(t *testing.T) {
		cache := newFakeCache()
		f := run(t, cache, 0, cache.wrongReply.Store)
		if f.Wrong == 0 || f.Stale != 0 {
			t.Errorf("OK answered to GETs during the fault: %v; want wrong replies, no stale reads", f)
		}
	})
	t.Run("lost keys", func(t *testing.T) {
		cache := newFakeCache()
		f := run(t, cache, 0, func(on bool) {
			cache.mu.Lock()
			clear(cache.data)
			clear(cache.old)
			cache.mu.Unlock()
		})
		if f.Missed == 0 || f.Final.Lost != 100 || f.Final.LostEverywhere != 100 || len(f.Final.LostKeys) != 100 {
			t.Errorf("every key dropped at the fault and at the end: %v; want misses, and all 100 keys lost to clients and from every server", f)
		}
	})
}

// Failures count as outside the windows unless they fall within the window after a fault's
// start.
func TestFailedOutsideWindows(t *testing.T) {
	start := time.Now()
	r := &Run{start: start, faults: []*Fault{{Start: start.Add(time.Second)}, {Start: start.Add(5 * time.Second)}}}
	w := &worker{}
	for _, s := range []float64{0.5, 1.2, 1.9, 2.1, 5.5, 6.1} {
		w.failures = append(w.failures, failure{start.Add(time.Duration(s * float64(time.Second))), errFake})
	}
	r.workers = []*worker{w}
	f := r.Figures(time.Second, Final{})
	if f.Failed != 6 || f.FailedOutside != 3 {
		t.Errorf("failed %d, outside %d; want 6 and 3 (at 0.5 s, 2.1 s, 6.1 s)", f.Failed, f.FailedOutside)
	}
	if got, want := f.Errors[len(f.Errors)-1], "last: "+errFake.Error(); got != want {
		t.Errorf("last error %q; want %q", got, want)
	}
}
