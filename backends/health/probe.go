package health

import (
	"context"
	"fmt"
	"time"
)

// probeUntilUp is the prober goroutine: it probes after delay, backing off
// after every failure, until the server is marked up or ctx is cancelled.
func (t *Tracker) probeUntilUp(ctx context.Context, delay time.Duration) {
	for {
		if !t.sleep(ctx, t.jitter(delay)) {
			return
		}
		if t.tryReturn(ctx) {
			return
		}
		delay = t.cfg.backoff(delay)
	}
}

// sleep waits d, publishing when the next probe is due. It reports false
// if ctx was cancelled first.
func (t *Tracker) sleep(ctx context.Context, d time.Duration) bool {
	t.mu.Lock()
	t.nextProbe = time.Now().Add(d)
	t.mu.Unlock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		t.mu.Lock()
		t.nextProbe = time.Time{}
		t.mu.Unlock()
		return true
	case <-ctx.Done():
		return false
	}
}

// tryReturn probes the server and, if it answers, runs the OnReturn hook
// and marks the server up. It reports whether the server is up.
func (t *Tracker) tryReturn(ctx context.Context) bool {
	if err := t.probe(ctx); err != nil {
		t.probeFailed(fmt.Errorf("health: probe: %w", err))
		return false
	}
	hook := t.returning()
	if hook != nil {
		if err := hook(ctx); err != nil {
			t.returnFailed(fmt.Errorf("health: on return: %w", err))
			return false
		}
	}
	return t.markUp(ctx)
}

func (t *Tracker) probeFailed(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = err
	t.failures.Add(1)
}

// returning enters StateReturning and returns the hook to run. Failures
// counted before the probe succeeded are forgotten, so only new ones can
// send the server back down.
func (t *Tracker) returning() func(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.state = StateReturning
	t.failures.Store(0)
	t.changedLocked(nil)
	return t.onReturn
}

func (t *Tracker) returnFailed(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = err
	t.state = StateDown
	t.changedLocked(err)
}

// markUp marks the server up unless, while the hook ran, Eject or a
// failure sent it back down or Close cancelled ctx; then the prober goes
// on (or stops, for Close). It reports whether the prober is done.
func (t *Tracker) markUp(ctx context.Context) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ctx.Err() != nil {
		return true
	}
	if t.state != StateReturning {
		return false
	}
	t.state = StateUp
	t.stop = nil
	t.failures.Store(0)
	t.up.Store(true) // before the change is told (and Returning turns false): never neither
	if t.downGauge != nil {
		t.downGauge.Add(-1)
	}
	t.changedLocked(nil)
	return true
}
