// Package backends keeps pipelined connections to the real cache servers of a pool.
//
// A Call is one request on its way to a server and the reply that comes back. Calls from many
// clients are multiplexed onto a few connections per server: a writer goroutine batches whatever
// is queued into one write, a reader goroutine matches replies to calls in order.
package backends

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
)

// Errors a Call can end with. They wrap the cause, so errors.Is works on both.
var (
	ErrDown    = errors.New("backends: server is down")
	ErrTimeout = errors.New("backends: timeout")
	ErrClosed  = errors.New("backends: connection closed")
)

// Framer returns the length of the first complete reply in buf, or 0 when buf holds only part of
// it. kind is the Call's Kind: memcached replies are framed by the request that caused them.
type Framer func(buf []byte, kind uint8) (int, error)

// Call is one request and its reply. Callers get one from NewCall, fill Req (and Kind, Frames),
// send it, Wait, read Reply or Err, and Release it.
type Call struct {
	Req    []byte // the encoded request, written to the server as is
	Kind   uint8  // handed to the Framer
	Frames int    // how many replies the request produces (MULTI...EXEC sends several); 0 = 1
	// Slow marks a request that may take long however healthy the server (KEYS, a script):
	// its deadline is longer, and missing it does not count against the server.
	Slow bool
	// Write marks a copy of a write, which a server being caught up after its return takes
	// (it serves no reads until then).
	Write  bool
	Reply  []byte // the raw reply frames, a copy owned by the Call
	Err    error  // set when no reply came: the server is down, timed out or closed
	Server *Server

	done   chan struct{}
	slow   *atomic.Int32 // the server's count of slow calls in flight, while this one is
	waited bool          // owned by the caller that waits
	state  atomic.Uint32
	notify Notifier // set by Notify, read by complete once state says it was armed
}

// Call states, for Notify.
const (
	callSent uint32 = iota
	callArmed
	callCompleted
)

// Notifier is told when a call completes, whether it failed (Err set), which server it went
// to (nil if none) and how many reply bytes it holds, so that nobody has to wait on it.
type Notifier interface {
	CallDone(failed bool, server *Server, replyBytes int)
}

// Notify arranges for n.CallDone to run once c completes, on the goroutine completing it, and
// reports true; it reports false, doing nothing, when c has completed already. Wait still
// works after Notify.
func (c *Call) Notify(n Notifier) bool {
	c.notify = n
	return c.state.CompareAndSwap(callSent, callArmed)
}

// maxPooledBytes is the largest request or reply buffer a pooled call keeps.
const maxPooledBytes = 16 << 10

var callPool = sync.Pool{New: func() any { return &Call{done: make(chan struct{}, 1)} }}

// NewCall returns an empty Call from a pool.
func NewCall() *Call { return callPool.Get().(*Call) }

// Release returns c to the pool. c must have completed (Wait returned) or never been sent.
func (c *Call) Release() {
	c.Req, c.Reply, c.Err, c.Kind, c.Frames, c.Server = c.Req[:0], c.Reply[:0], nil, 0, 0, nil
	if cap(c.Req) > maxPooledBytes {
		c.Req = nil
	}
	if cap(c.Reply) > maxPooledBytes {
		c.Reply = nil // a pool of calls must not keep a burst of large values alive
	}
	c.Slow, c.Write, c.slow = false, false, nil
	c.waited, c.notify = false, nil
	c.state.Store(callSent)
	callPool.Put(c)
}

// Wait blocks until the call has a reply or an error. Waiting again returns at once.
func (c *Call) Wait() {
	if !c.waited {
		<-c.done
		c.waited = true
	}
}

func (c *Call) frames() int { return max(c.Frames, 1) }

func (c *Call) complete(reply []byte, err error) {
	c.Reply = append(c.Reply[:0], reply...)
	c.Err = err
	if c.slow != nil {
		c.slow.Add(-1)
		c.slow = nil
	}
	if c.Server != nil {
		c.Server.report(err)
	}
	// Once done is signalled the waiter may release c, so the notifier is read before.
	var n Notifier
	server, size := c.Server, len(c.Reply)
	if c.state.Swap(callCompleted) == callArmed {
		n = c.notify
	}
	c.done <- struct{}{}
	if n != nil {
		n.CallDone(err != nil, server, size)
	}
}

// Describe words a call's error for a client: without the package prefixes the sentinels carry
// for logs ("server is down: dial tcp ...: connection refused", "timeout: no reply for 1s").
func Describe(err error) string {
	return strings.ReplaceAll(err.Error(), "backends: ", "")
}
