// Package health tracks whether one cache server should take calls.
//
// A Tracker is fed the outcome of calls (Success, Failure). After
// Config.FailureLimit consecutive failures it marks the server down, and Up,
// which callers check before every call, turns false so calls fail fast
// instead of waiting on timeouts. While the server is down a goroutine owned
// by the Tracker probes it, first after the hold-down (Config.RetryTimeout,
// longer for a flapping server), then with exponential backoff and jitter.
//
// A server that was down may have missed invalidations. When a probe
// succeeds the Tracker enters StateReturning and runs the OnReturn hook,
// which replays them (or flushes the server); only when the hook succeeds is
// the server marked up. If it fails, the server stays down and probing goes on.
//
//	        probe ok              hook ok
//	down ──────────────► returning ─────────► up
//	 ▲ ▲                     │                │
//	 │ └── hook fails, Eject, Failure ×limit  │
//	 └────────── Eject, Failure ×limit ───────┘
package health

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Tracker is the health state machine of one server. Its methods are safe
// for concurrent use.
type Tracker struct {
	up       atomic.Bool  // the hot path reads only this
	inReturn atomic.Bool  // StateReturning: the server takes writes, not reads
	failures atomic.Int64 // consecutive failures; Success resets it without locking

	cfg    Config
	probe  func(context.Context) error
	jitter func(time.Duration) time.Duration // tests replace it

	mu        sync.Mutex
	state     State
	onReturn  func(context.Context) error
	downs     int64
	downAt    []time.Time // recent downs, oldest first, for flap damping
	lastErr   error
	nextProbe time.Time
	stop      context.CancelFunc // stops the running prober; nil when none runs
	downGauge *atomic.Int32      // counts this server while it is not up; nil for none
	onChange  func(State, error) // told of every change of state; nil for none
	closed    bool
	probers   sync.WaitGroup
}

// New returns a Tracker for a server that starts up. probe checks the
// server (e.g. dials it and sends PING); it must return when its context is
// cancelled and bound its own time otherwise, as the Tracker sets no
// deadline. New panics if cfg fails Validate or probe is nil: both are
// programming errors, as config is validated when it is loaded.
func New(cfg Config, probe func(ctx context.Context) error) *Tracker {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if probe == nil {
		panic("health: nil probe")
	}
	t := &Tracker{cfg: cfg, probe: probe, jitter: jitter}
	t.up.Store(true)
	return t
}

// jitter draws a delay uniformly from [0.8d, d], so proxies that lost a
// server at the same moment do not probe it in lockstep, and no probe
// comes later than the backoff says.
func jitter(d time.Duration) time.Duration {
	return d - rand.N(d/5+1)
}

// OnReturn sets the hook run when a probe succeeds, before the server is
// marked up: it replays the invalidations the server missed, or flushes it.
// If it returns an error the server stays down and is probed again. Its
// context is cancelled by Close. Set it before the server can go down.
func (t *Tracker) OnReturn(hook func(ctx context.Context) error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onReturn = hook
}

// OnChange sets a hook told of every change of state, with the error that caused it (nil for
// a return): for logging. It runs with the Tracker's lock held and must not call the Tracker.
// Set it before the server can go down.
func (t *Tracker) OnChange(hook func(state State, cause error)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onChange = hook
}

func (t *Tracker) changedLocked(cause error) {
	t.inReturn.Store(t.state == StateReturning)
	if t.onChange != nil {
		t.onChange(t.state, cause)
	}
}

// CountDowns makes the Tracker add one to g while its server is not up
// (down or returning), so a pool can tell with one load whether all of its
// servers are up. Set it before the server can go down.
func (t *Tracker) CountDowns(g *atomic.Int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.downGauge = g
}

// Up reports whether the server takes calls: one atomic load, no lock, no
// allocation.
func (t *Tracker) Up() bool { return t.up.Load() }

// Returning reports whether the server answers again and is being caught up (OnReturn runs):
// it may take writes, which it would otherwise miss, but serves no reads yet.
func (t *Tracker) Returning() bool { return t.inReturn.Load() }

// Success records a call that got its reply, ending a run of failures.
func (t *Tracker) Success() {
	if t.failures.Load() != 0 {
		t.failures.Store(0)
	}
}

// Failure records a call that failed because of the server (a refused
// dial, a timeout, a broken connection; not an error reply). The
// FailureLimit-th consecutive one marks the server down, or sends a
// returning server back down.
func (t *Tracker) Failure(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = err
	if t.failures.Add(1) >= int64(t.cfg.FailureLimit) {
		t.downLocked()
	}
}

// Eject marks the server down at once, whatever the failure count: for an
// invalidation that did not reach it, after which it must serve nothing
// until the invalidation is replayed. A returning server goes back down and
// is not marked up by the replay in progress.
func (t *Tracker) Eject(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = err
	t.downLocked()
}

// downLocked marks an up server down and starts probing it; a returning
// server only goes back to down, as its prober is still running.
func (t *Tracker) downLocked() {
	switch t.state {
	case StateReturning:
		t.state = StateDown
		t.changedLocked(t.lastErr)
	case StateUp:
		t.up.Store(false)
		if t.downGauge != nil {
			t.downGauge.Add(1)
		}
		t.state = StateDown
		t.downs++
		t.startProberLocked(t.cfg.holdDown(t.recordDownLocked()))
		t.changedLocked(t.lastErr)
	}
}

// recordDownLocked remembers a down now and returns how many downs fall
// within the flap window.
func (t *Tracker) recordDownLocked() int {
	now := time.Now()
	recent := t.downAt[:0]
	for _, at := range t.downAt {
		if now.Sub(at) < t.cfg.FlapWindow {
			recent = append(recent, at)
		}
	}
	if len(recent) == maxFlapHistory {
		recent = append(recent[:0], recent[1:]...)
	}
	t.downAt = append(recent, now)
	return len(t.downAt)
}

func (t *Tracker) startProberLocked(holdDown time.Duration) {
	if t.closed {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	t.stop = stop
	t.probers.Go(func() {
		defer stop()
		t.probeUntilUp(ctx, holdDown)
	})
}

// Stats returns a snapshot of the Tracker.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Stats{
		State:     t.state,
		Failures:  t.failures.Load(),
		Downs:     t.downs,
		Flaps:     t.flapsLocked(),
		LastErr:   t.lastErr,
		DownSince: t.lastDownLocked(),
		NextProbe: t.nextProbe,
	}
}

func (t *Tracker) lastDownLocked() time.Time {
	if len(t.downAt) == 0 {
		return time.Time{}
	}
	return t.downAt[len(t.downAt)-1]
}

func (t *Tracker) flapsLocked() int {
	n := 0
	now := time.Now()
	for _, at := range t.downAt {
		if now.Sub(at) < t.cfg.FlapWindow {
			n++
		}
	}
	return n
}

// Close stops probing and waits for the prober, and any OnReturn hook it
// runs, to return. The state stays as it was; a server that goes down
// afterwards is not probed.
func (t *Tracker) Close() {
	t.mu.Lock()
	t.closed = true
	if t.stop != nil {
		t.stop()
	}
	t.mu.Unlock()
	t.probers.Wait()
}
