// Package flight collapses concurrent calls for the same key into one: the first caller
// leads and runs the work, later callers join and share its result.
//
// Unlike a plain singleflight, the work runs on its own goroutine, so that a caller whose
// context ends stops waiting without cancelling the work for the others; and Group counts
// the calls it led and joined.
package flight

import (
	"context"
	"sync"
	"sync/atomic"
)

// Group collapses calls by key. The zero value is ready to use; a Group must not be copied.
type Group[K comparable, V any] struct {
	mu      sync.Mutex
	calls   map[K]*call[V]
	running sync.WaitGroup
	led     atomic.Int64
	joined  atomic.Int64
}

type call[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// Do returns the result of fn, run once for all the callers that ask for key while it runs.
// shared reports whether this caller joined a call another caller started. If ctx ends
// first, Do returns ctx's error and fn runs on; fn must therefore end by itself (bound it
// with its own timeout).
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func() (V, error)) (v V, shared bool, err error) {
	c, shared := g.start(key, fn)
	select {
	case <-c.done:
		return c.val, shared, c.err
	case <-ctx.Done():
		var zero V
		return zero, shared, ctx.Err()
	}
}

// start joins the call running for key, or starts one.
func (g *Group[K, V]) start(key K, fn func() (V, error)) (*call[V], bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		g.joined.Add(1)
		return c, true
	}
	if g.calls == nil {
		g.calls = make(map[K]*call[V])
	}
	c := &call[V]{done: make(chan struct{})}
	g.calls[key] = c
	g.led.Add(1)
	g.running.Go(func() { g.run(key, c, fn) })
	return c, false
}

func (g *Group[K, V]) run(key K, c *call[V], fn func() (V, error)) {
	defer func() {
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		close(c.done)
	}()
	c.val, c.err = fn()
}

// Wait blocks until no call is running.
func (g *Group[K, V]) Wait() { g.running.Wait() }

// Stats are a Group's counters since it was made.
type Stats struct {
	Led    int64 // calls that ran fn
	Joined int64 // calls that shared another call's result
}

// Stats returns the counters.
func (g *Group[K, V]) Stats() Stats { return Stats{Led: g.led.Load(), Joined: g.joined.Load()} }
