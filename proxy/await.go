package proxy

import (
	"sync/atomic"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/proxy/commands"
)

// Event loops (package frontend) serve a client without a goroutine of its own: they dispatch
// its requests and, instead of Flush waiting for the replies, are told when the last one is in.
// A request that could make the session wait for anything else (a transaction, a blocking
// command, a subscription, the coherence directory) moves the client to a goroutine first. So
// does any request while a server of the pool is down: its writes may be journalled for the
// server's replay, an fsync. Failover, warm-up and the held parts of a huge multi-key command
// happen in slow flushes, on a goroutine of their own.

// awaiter counts the calls a batch waits for and tells the waker when the last is in.
// Finishing some replies sends more calls and waits for them, which must not happen on the
// goroutine that completed the batch, a backend connection's reader: they make the flush slow.
// A failed read is looked for elsewhere (on a copy, or with auto_eject_hosts on the server the
// key moved to); with copies, a miss on a server warming up is looked up on its partner.
type awaiter struct {
	waker    frontend.Waker
	waiting  atomic.Int32 // calls still out, plus one while the batch is being counted
	slow     atomic.Bool  // some call failed or came from a server warming up, or a part is held
	bytes    atomic.Int64 // reply bytes of the calls in so far
	warmable bool         // the pool has copies: misses on a server warming up are warmed
	// inline is set while the batch's flush runs on the goroutine that completed it (a
	// backend connection's reader, or the loop): that flush must not send a call and wait.
	inline bool
}

func (a *awaiter) begin(w frontend.Waker, pool *backends.Pool) {
	a.waker = w
	a.slow.Store(false)
	a.bytes.Store(0)
	a.warmable = pool.Replicas() > 1
	a.inline = false
	a.waiting.Store(1) // so Ready cannot run before every call is counted
}

// mayWait reports whether the flush under way may send a call and wait for it (a warm-up).
func (a *awaiter) mayWait() bool { return !a.inline }

// flushed ends a batch's flush.
func (a *awaiter) flushed() { a.inline = false }

// add counts call, unless it is in already.
func (a *awaiter) add(call *backends.Call) {
	a.waiting.Add(1)
	if !call.Notify(a) {
		a.CallDone(call.Err != nil, call.Server, len(call.Reply))
	}
}

// sendsMore marks the batch's flush as one that sends more calls and waits for them (a huge
// command's held parts): it runs on a goroutine of its own once the calls out are in.
func (a *awaiter) sendsMore() { a.slow.Store(true) }

// end reports whether the waker will be told: some counted call is still out, or the flush is
// slow and must run elsewhere (it is told now).
func (a *awaiter) end() (pending bool) {
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
func (a *awaiter) CallDone(failed bool, server *backends.Server, replyBytes int) {
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

func (a *awaiter) flushIsSlow() bool {
	return a.slow.Load() || a.bytes.Load() > inlineFlushBytes
}

// mayBlock reports whether dispatching args (local, or else cmd), or flushing its reply, may
// wait for more than the replies of the calls it sends.
func (s *Session) mayBlock(local local, cmd *commands.Command, args [][]byte) bool {
	if !s.Loopable() {
		return true
	}
	if local.run != nil {
		return local.mayBlock
	}
	return cmd != nil && isBlocking(cmd, args)
}

// Loopable implements frontend.Awaiter: no transaction or watched keys, and a pool whose
// requests can be served on a loop. The session's own connections (kept after WATCH or a
// blocking command) do not matter: sending on them does not wait.
func (s *Session) Loopable() bool {
	return s.tx == nil && s.watching < 0 && s.r.Dir == nil && s.r.pool.Steady()
}

// Await implements frontend.Awaiter. Literal replies and the replies of calls, writes to
// copies and splits can be awaited: once their calls are in, finishing them waits for nothing
// else unless a call failed (then the flush is slow). Blocking calls cannot.
func (s *Session) Await(w frontend.Waker) (pending, ok bool) {
	for i := range s.queue {
		if s.queue[i].blocking {
			return false, false
		}
	}
	s.awaiter.begin(w, s.r.pool)
	for i := range s.queue {
		rp := &s.queue[i]
		if rp.call != nil {
			s.awaiter.add(rp.call)
		}
		for _, call := range rp.copies {
			s.awaiter.add(call)
		}
		if rp.split != nil {
			rp.split.await(&s.awaiter)
		}
	}
	return s.awaiter.end(), true
}

// mayBlock reports whether a request may wait for more than the replies of its calls: with a
// coherence directory, or a server down, whatever the request.
func (s *MemcacheSession) mayBlock() bool {
	return s.m.Dir != nil || !s.m.pool.Steady()
}

// Loopable implements frontend.Awaiter, as Session.Loopable does.
func (s *MemcacheSession) Loopable() bool { return !s.mayBlock() }

// Await implements frontend.Awaiter, as Session.Await does.
func (s *MemcacheSession) Await(w frontend.Waker) (pending, ok bool) {
	s.awaiter.begin(w, s.m.pool)
	for i := range s.queue {
		rp := &s.queue[i]
		var calls []*backends.Call
		switch {
		case rp.call != nil:
			s.awaiter.add(rp.call)
		case rp.copies != nil:
			calls = rp.copies
		case rp.get != nil:
			rp.get.win.await(&s.awaiter)
		case rp.fanOut != nil:
			calls = rp.fanOut.calls
		}
		for _, call := range calls {
			s.awaiter.add(call)
		}
	}
	return s.awaiter.end(), true
}
