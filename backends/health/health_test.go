package health

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var (
	errCall  = errors.New("call failed")
	errProbe = errors.New("probe failed")
	errHook  = errors.New("replay failed")
)

// testConfig probes 1s after a down, doubling up to 8s, without damping.
func testConfig() Config {
	return Config{FailureLimit: 3, RetryTimeout: time.Second, MaxBackoff: 8 * time.Second}
}

// prober is a scripted probe: it fails the first fails calls, then
// succeeds, and records when it was called.
type prober struct {
	mu    sync.Mutex
	fails int
	at    []time.Time
}

func (p *prober) probe(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at = append(p.at, time.Now())
	if len(p.at) <= p.fails {
		return errProbe
	}
	return nil
}

// since returns the probe times as offsets from t0.
func (p *prober) since(t0 time.Time) []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ds []time.Duration
	for _, at := range p.at {
		ds = append(ds, at.Sub(t0))
	}
	return ds
}

func (p *prober) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.at)
}

// newTracker returns a Tracker without jitter, closed when the bubble's test ends.
func newTracker(t *testing.T, cfg Config, probe func(context.Context) error) *Tracker {
	t.Helper()
	tr := New(cfg, probe)
	tr.jitter = func(d time.Duration) time.Duration { return d }
	t.Cleanup(tr.Close)
	return tr
}

func fail(tr *Tracker, n int) {
	for range n {
		tr.Failure(errCall)
	}
}

func TestFailureLimit(t *testing.T) {
	tests := []struct {
		name  string
		calls string // f = Failure, s = Success
		up    bool
	}{
		{"no calls", "", true},
		{"below the limit", "ff", true},
		{"at the limit", "fff", false},
		{"success resets the run", "ffsff", true},
		{"success after down does not bring it up", "fffs", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newTracker(t, testConfig(), (&prober{}).probe)
				for _, c := range tt.calls {
					if c == 'f' {
						tr.Failure(errCall)
					} else {
						tr.Success()
					}
				}
				if got := tr.Up(); got != tt.up {
					t.Errorf("after %q: Up() = %v; want %v", tt.calls, got, tt.up)
				}
			})
		})
	}
}

// TestProbesBackOffUntilOneSucceeds: after a failed probe the delay doubles up to the longer
// of RetryTimeout and a second, so a server that returns after a long outage is found within
// a second, not after a delay grown while it was away.
func TestProbesBackOffUntilOneSucceeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &prober{fails: 6}
		cfg := testConfig()
		cfg.RetryTimeout = 250 * time.Millisecond
		tr := newTracker(t, cfg, p.probe)
		t0 := time.Now()
		fail(tr, 3)
		time.Sleep(5750*time.Millisecond - time.Millisecond)
		synctest.Wait()
		if tr.Up() {
			t.Fatalf("Up() = true before the 7th probe")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		// Delays 250ms, 500ms, then 1s each.
		want := []time.Duration{250, 750, 1750, 2750, 3750, 4750, 5750}
		for i := range want {
			want[i] *= time.Millisecond
		}
		if got := p.since(t0); !slices.Equal(got, want) {
			t.Errorf("probes at %v; want %v", got, want)
		}
		if !tr.Up() {
			t.Errorf("Up() = false after a successful probe")
		}
	})
}

func TestJitteredProbeComesWithinAFifthBeforeTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &prober{}
		tr := New(testConfig(), p.probe)
		defer tr.Close()
		t0 := time.Now()
		fail(tr, 3)
		time.Sleep(2 * time.Second)
		got := p.since(t0)
		if len(got) != 1 || got[0] < 800*time.Millisecond || got[0] > time.Second {
			t.Errorf("probes at %v; want one within [800ms, 1s]", got)
		}
	})
}

func TestStatsWhileDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker(t, testConfig(), (&prober{fails: 1}).probe)
		t0 := time.Now()
		if got := tr.Stats(); got.State != StateUp || got.Downs != 0 || !got.NextProbe.IsZero() {
			t.Errorf("Stats() before any failure = %+v; want up, no downs, no probe due", got)
		}
		fail(tr, 3)
		synctest.Wait()
		got := tr.Stats()
		want := Stats{State: StateDown, Failures: 3, Downs: 1, Flaps: 0, LastErr: errCall,
			DownSince: t0, NextProbe: t0.Add(time.Second)}
		if got != want {
			t.Errorf("Stats() after going down = %+v; want %+v", got, want)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		got = tr.Stats()
		if !errors.Is(got.LastErr, errProbe) || got.Failures != 4 || got.NextProbe != t0.Add(2*time.Second) {
			t.Errorf("Stats() after a failed probe = %+v; want LastErr %v, 4 failures, next probe at +2s",
				got, errProbe)
		}
	})
}

func TestOnReturnRunsBeforeUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &prober{}
		tr := newTracker(t, testConfig(), p.probe)
		var seen []State
		hookErrs := []error{errHook, nil}
		tr.OnReturn(func(context.Context) error {
			if tr.Up() {
				t.Errorf("Up() = true inside the OnReturn hook")
			}
			seen = append(seen, tr.Stats().State)
			err := hookErrs[0]
			hookErrs = hookErrs[1:]
			return err
		})
		t0 := time.Now()
		fail(tr, 3)
		time.Sleep(time.Second)
		synctest.Wait()
		if got := tr.Stats(); tr.Up() || got.State != StateDown || !errors.Is(got.LastErr, errHook) {
			t.Fatalf("after a failed hook: Up() = %v, Stats() = %+v; want down with LastErr %v",
				tr.Up(), got, errHook)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !tr.Up() {
			t.Errorf("Up() = false after the hook succeeded")
		}
		if want := []State{StateReturning, StateReturning}; !slices.Equal(seen, want) {
			t.Errorf("hook saw states %v; want %v", seen, want)
		}
		if got, want := p.since(t0), []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(got, want) {
			t.Errorf("probes at %v; want %v (probing goes on after a failed hook)", got, want)
		}
	})
}

func TestSentBackDownWhileReturning(t *testing.T) {
	tests := []struct {
		name   string
		inHook func(*Tracker)
	}{
		{"Eject", func(tr *Tracker) { tr.Eject(errCall) }},
		{"failures up to the limit", func(tr *Tracker) { fail(tr, 3) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := &prober{}
				tr := newTracker(t, testConfig(), p.probe)
				hooks := 0
				tr.OnReturn(func(context.Context) error {
					if hooks++; hooks == 1 {
						tt.inHook(tr)
					}
					return nil
				})
				fail(tr, 3)
				time.Sleep(time.Second)
				synctest.Wait()
				if got := tr.Stats(); tr.Up() || got.State != StateDown || got.Downs != 1 {
					t.Fatalf("Up() = %v, Stats() = %+v; want still down, 1 down", tr.Up(), got)
				}
				time.Sleep(2 * time.Second)
				synctest.Wait()
				if !tr.Up() || hooks != 2 {
					t.Errorf("Up() = %v after %d hooks; want up after the 2nd", tr.Up(), hooks)
				}
			})
		})
	}
}

func TestFailuresBeforeTheProbeDoNotCountWhileReturning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker(t, testConfig(), (&prober{}).probe)
		tr.OnReturn(func(context.Context) error {
			fail(tr, 2) // 5 failures in all, 2 since the probe succeeded
			return nil
		})
		fail(tr, 3)
		time.Sleep(time.Second)
		synctest.Wait()
		if !tr.Up() {
			t.Errorf("Up() = false; want up: 2 failures after the probe are below the limit of 3")
		}
	})
}

func TestEjectIgnoresTheFailureLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker(t, testConfig(), (&prober{}).probe)
		tr.Eject(errCall)
		if got := tr.Stats(); tr.Up() || got.State != StateDown || got.LastErr != errCall {
			t.Errorf("after Eject: Up() = %v, Stats() = %+v; want down with LastErr %v", tr.Up(), got, errCall)
		}
		tr.Eject(errCall)
		if got := tr.Stats().Downs; got != 1 {
			t.Errorf("Downs = %d after ejecting a down server; want 1", got)
		}
	})
}

// TestFlapDamping: with FlapLimit 2, the 2nd down within the window holds
// the server down twice as long, the 3rd four times; a down after the window
// has passed is back to RetryTimeout.
func TestFlapDamping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.FlapWindow, cfg.FlapLimit = time.Minute, 2
		p := &prober{}
		tr := newTracker(t, cfg, p.probe)
		downAndBack := func() time.Duration {
			t.Helper()
			t0, calls := time.Now(), p.calls()
			fail(tr, 3)
			for !tr.Up() {
				time.Sleep(100 * time.Millisecond)
			}
			return p.since(t0)[calls]
		}
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
		var got []time.Duration
		for range want {
			got = append(got, downAndBack())
		}
		if !slices.Equal(got, want) {
			t.Errorf("hold-downs %v; want %v", got, want)
		}
		if flaps := tr.Stats().Flaps; flaps != 3 {
			t.Errorf("Flaps = %d; want 3", flaps)
		}
		time.Sleep(time.Minute)
		if got := downAndBack(); got != time.Second {
			t.Errorf("hold-down after the window = %v; want 1s", got)
		}
	})
}

func TestCloseStopsProbing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &prober{fails: 1000}
		tr := New(testConfig(), p.probe)
		fail(tr, 3)
		time.Sleep(3 * time.Second)
		tr.Close()
		n := p.calls()
		time.Sleep(time.Minute)
		if got := p.calls(); got != n {
			t.Errorf("%d probes after Close; want none", got-n)
		}
		fail(tr, 3)
		time.Sleep(time.Minute)
		if got := p.calls(); got != n {
			t.Errorf("%d probes after Close and new failures; want none", got-n)
		}
	})
}

func TestCloseCancelsProbeAndHook(t *testing.T) {
	blocked := func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}
	tests := []struct {
		name  string
		probe func(context.Context) error
		hook  func(context.Context) error
	}{
		{"probe", blocked, nil},
		{"hook", func(context.Context) error { return nil }, blocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := New(testConfig(), tt.probe)
				tr.OnReturn(tt.hook)
				fail(tr, 3)
				time.Sleep(2 * time.Second)
				synctest.Wait()
				tr.Close() // returns only once the blocked call saw the cancellation
				if tr.Up() {
					t.Errorf("Up() = true after Close cancelled the %s", tt.name)
				}
			})
		})
	}
}

// TestConcurrentUse races calls, probes and hooks; run with -race.
func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &prober{fails: 3}
		tr := newTracker(t, testConfig(), p.probe)
		tr.OnReturn(func(context.Context) error { return nil })
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for i := range 200 {
					if tr.Up() && i%50 >= 5 { // every goroutine fails 5 calls in 50
						tr.Success()
					} else {
						tr.Failure(errCall)
					}
					_ = tr.Stats()
					time.Sleep(100 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		if got := tr.Stats(); got.Downs == 0 || p.calls() == 0 {
			t.Errorf("Stats() = %+v after %d probes; want some downs and probes", got, p.calls())
		}
	})
}

func TestUpDoesNotAllocate(t *testing.T) {
	tr := New(testConfig(), (&prober{}).probe)
	defer tr.Close()
	if n := testing.AllocsPerRun(100, func() { tr.Success(); _ = tr.Up() }); n != 0 {
		t.Errorf("Up and Success allocate %v times; want 0", n)
	}
}

func BenchmarkUp(b *testing.B) {
	tr := New(testConfig(), (&prober{}).probe)
	defer tr.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if tr.Up() {
				tr.Success()
			}
		}
	})
}

func TestCountDownsWhileNotUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down atomic.Int32
		a := newTracker(t, testConfig(), (&prober{fails: 1}).probe)
		b := newTracker(t, testConfig(), (&prober{}).probe)
		a.CountDowns(&down)
		b.CountDowns(&down)
		fail(a, 3)
		a.Eject(errCall) // already down: counted once
		b.Eject(errCall)
		if n := down.Load(); n != 2 {
			t.Fatalf("two servers down: gauge %d; want 2", n)
		}
		time.Sleep(time.Second + time.Millisecond) // b's first probe succeeds, a's fails
		synctest.Wait()
		if n := down.Load(); n != 1 || !b.Up() || a.Up() {
			t.Fatalf("after b's return: gauge %d, a up %v, b up %v; want 1, false, true", n, a.Up(), b.Up())
		}
		time.Sleep(2 * time.Second) // a's second probe, 2s after its first
		synctest.Wait()
		if n := down.Load(); n != 0 || !a.Up() {
			t.Errorf("after a's return: gauge %d, a up %v; want 0, true", n, a.Up())
		}
	})
}

func TestOnChangeToldOfEveryChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker(t, testConfig(), (&prober{fails: 1}).probe)
		var got []string
		tr.OnChange(func(s State, cause error) { got = append(got, fmt.Sprint(s, " ", cause)) })
		fail(tr, 3)
		time.Sleep(4 * time.Second) // a failed probe at +1s, a good one at +3s
		synctest.Wait()
		want := []string{"down " + errCall.Error(), "returning <nil>", "up <nil>"}
		if !slices.Equal(got, want) {
			t.Errorf("changes = %q; want %q", got, want)
		}
	})
}
