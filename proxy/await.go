package proxy

import (
	"sync/atomic"

	"github.com/discoh/discoh/backends"
)

// Event loops (package frontend) serve a client without a goroutine of its own: they dispatch
// its requests and, instead of Flush waiting for the replies, are told when the last one is in.
// A request that could make the session wait for anything else (a transaction, a blocking
// command, a subscription, the coherence directory) moves the client to a goroutine first. So
// does any request while a server of the pool is down: its writes may be journalled for the
// server's replay, an fsync. Failover, warm-up and the held parts of a huge multi-key command
// happen in slow flushes, on a goroutine of their own.

// Waker is told when the replies a Waiter waits for are in (frontend.Waker).
type Waker interface{ Ready(slow bool) }

// Waiter counts the calls a batch waits for and tells the waker when the last is in.
// Finishing some replies sends more calls and waits for them, which must not happen on the
// goroutine that completed the batch, a backend connection's reader: they make the flush slow.
// A failed read is looked for elsewhere (on a copy, or with auto_eject_hosts on the server the
// key moved to); with copies, a miss on a server warming up is looked up on its partner.
type Waiter struct {
	waker    Waker
	waiting  atomic.Int32 // calls still out, plus one while the batch is being counted
	slow     atomic.Bool  // some call failed or came from a server warming up, or a part is held
	bytes    atomic.Int64 // reply bytes of the calls in so far
	warmable bool         // the pool has copies: misses on a server warming up are warmed
	// inline is set while the batch's flush runs on the goroutine that completed it (a
	// backend connection's reader, or the loop): that flush must not send a call and wait.
	inline bool
}

func (a *Waiter) Begin(w Waker, pool *backends.Pool) {
	a.waker = w
	a.slow.Store(false)
	a.bytes.Store(0)
	a.warmable = pool.Replicas() > 1
	a.inline = false
	a.waiting.Store(1) // so Ready cannot run before every call is counted
}

// MayWait reports whether the flush under way may send a call and wait for it (a warm-up).
func (a *Waiter) MayWait() bool { return !a.inline }

// Flushed ends a batch's flush.
func (a *Waiter) Flushed() { a.inline = false }

// Add counts call, unless it is in already.
func (a *Waiter) Add(call *backends.Call) {
	a.waiting.Add(1)
	if !call.Notify(a) {
		a.CallDone(call.Err != nil, call.Server, len(call.Reply))
	}
}

// SendsMore marks the batch's flush as one that sends more calls and waits for them (a huge
// command's held parts): it runs on a goroutine of its own once the calls out are in.
func (a *Waiter) SendsMore() { a.slow.Store(true) }

// End reports whether the waker will be told: some counted call is still out, or the flush is
// slow and must run elsewhere (it is told now).
func (a *Waiter) End() (pending bool) {
	if a.waiting.Add(-1) != 0 {
		return true
	}
	if a.flushIsSlow() {
		a.waker.Ready(true)
		return true
	}
	a.inline = true
	return false
}

// CallDone implements backends.Notifier.
func (a *Waiter) CallDone(failed bool, server *backends.Server, replyBytes int) {
	if failed || (a.warmable && server != nil && server.Warming()) {
		a.slow.Store(true)
	}
	a.bytes.Add(int64(replyBytes))
	if a.waiting.Add(-1) == 0 {
		slow := a.flushIsSlow()
		a.inline = !slow
		a.waker.Ready(slow)
	}
}

// inlineFlushBytes is the most reply data a flush copies on the goroutine that completed the
// batch. A larger one runs on a goroutine of its own: copying tens of MB to a client on a
// backend connection's reader held every other client's replies on that connection, long
// enough under load for its timeout to fail it.
const inlineFlushBytes = 256 << 10

func (a *Waiter) flushIsSlow() bool {
	return a.slow.Load() || a.bytes.Load() > inlineFlushBytes
}
