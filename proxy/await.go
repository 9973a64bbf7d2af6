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
// command, a subscription, the coherence directory, a failover to a copy) moves the client to
// a goroutine first. Servers use event loops only for pools with one copy per key and no
// coherence directory; the checks below hold the line should that change.

// awaiter counts the calls a batch waits for and tells the waker when the last is in.
// A failed call makes the flush slow: finishing a failed read looks for the key elsewhere (with
// auto_eject_hosts, on the server the key moved to), which must not happen on the goroutine
// that completed the call, a backend connection's reader.
type awaiter struct {
	waker   frontend.Waker
	waiting atomic.Int32 // calls still out, plus one while the batch is being counted
	failed  atomic.Bool  // some call of the batch failed
}

func (a *awaiter) begin(w frontend.Waker) {
	a.waker = w
	a.failed.Store(false)
	a.waiting.Store(1) // so Ready cannot run before every call is counted
}

// add counts call, unless it is in already.
func (a *awaiter) add(call *backends.Call) {
	a.waiting.Add(1)
	if !call.Notify(a) {
		a.CallDone(call.Err != nil)
	}
}

// end reports whether the waker will be told: some counted call is still out, or one failed
// and the flush must run elsewhere (it is told now).
func (a *awaiter) end() (pending bool) {
	if a.waiting.Add(-1) != 0 {
		return true
	}
	if a.failed.Load() {
		a.waker.Ready(true)
		return true
	}
	return false
}

// CallDone implements backends.Notifier.
func (a *awaiter) CallDone(failed bool) {
	if failed {
		a.failed.Store(true)
	}
	if a.waiting.Add(-1) == 0 {
		a.waker.Ready(a.failed.Load())
	}
}

// mayBlock reports whether dispatching args (local, or else cmd), or flushing its reply, may
// wait for more than the replies of the calls it sends.
func (s *Session) mayBlock(local local, cmd *commands.Command, args [][]byte) bool {
	if s.tx != nil || s.pins != nil || s.blockers != nil || s.r.Dir != nil || s.r.pool.Replicas() > 1 {
		return true
	}
	if local.run != nil {
		return local.mayBlock
	}
	return cmd != nil && isBlocking(cmd, args)
}

// Await implements frontend.Awaiter. Literal replies and the replies of calls and splits can
// be awaited: once their calls are in, finishing them waits for nothing else (with one copy per
// key, a failed read has no other copy to ask). Writes to several copies and blocking calls
// cannot.
func (s *Session) Await(w frontend.Waker) (pending, ok bool) {
	for i := range s.queue {
		if rp := &s.queue[i]; rp.copies != nil || rp.blocking {
			return false, false
		}
	}
	s.awaiter.begin(w)
	for i := range s.queue {
		rp := &s.queue[i]
		if rp.call != nil {
			s.awaiter.add(rp.call)
		}
		if rp.split != nil {
			for _, call := range rp.split.calls {
				s.awaiter.add(call)
			}
			for _, call := range rp.split.copies {
				s.awaiter.add(call)
			}
		}
	}
	return s.awaiter.end(), true
}

// mayBlock reports whether a request may wait for more than the replies of its calls: only
// with copies or a coherence directory, whatever the request.
func (s *MemcacheSession) mayBlock() bool {
	return s.m.Dir != nil || s.m.pool.Replicas() > 1
}

// Await implements frontend.Awaiter, as Session.Await does.
func (s *MemcacheSession) Await(w frontend.Waker) (pending, ok bool) {
	for i := range s.queue {
		if s.queue[i].copies != nil {
			return false, false
		}
	}
	s.awaiter.begin(w)
	for i := range s.queue {
		rp := &s.queue[i]
		var calls []*backends.Call
		switch {
		case rp.call != nil:
			s.awaiter.add(rp.call)
		case rp.get != nil:
			calls = rp.get.calls
		case rp.fanOut != nil:
			calls = rp.fanOut.calls
		}
		for _, call := range calls {
			s.awaiter.add(call)
		}
	}
	return s.awaiter.end(), true
}
