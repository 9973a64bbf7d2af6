package proxy

import (
	"context"
	"sync"
)

// Watcher reports a client hanging up (frontend.Client's Watch).
type Watcher interface {
	Watch(onClose func()) (stop func())
}

// WaitContext is the context of one request's waits on the coherence directory (a read waiting
// for a pull in flight, an explicit pull): the client hanging up cancels it, so a client that
// left does not hold its session for the wait's whole bound. The client is watched only once
// something waits on the context (calls Done): a read that hits costs no watch. End it before
// the request's dispatch returns.
//
// Invalidations and fills do not take one: Redis carries out a DEL or SET it has read even when
// its client hangs up, and so does discoh.
type WaitContext struct {
	context.Context
	cancel context.CancelFunc
	client Watcher
	once   sync.Once
	stop   func()
}

// NewWaitContext returns the context of a request of client's.
func NewWaitContext(client Watcher) *WaitContext {
	ctx, cancel := context.WithCancel(context.Background())
	return &WaitContext{Context: ctx, cancel: cancel, client: client}
}

// Done implements context.Context, watching the client from the first call on.
func (w *WaitContext) Done() <-chan struct{} {
	w.once.Do(func() { w.stop = w.client.Watch(w.cancel) })
	return w.Context.Done()
}

// End stops the watch, if one started, and releases the context.
func (w *WaitContext) End() {
	w.once.Do(func() {}) // no watch starts after this
	if w.stop != nil {
		w.stop()
	}
	w.cancel()
}
