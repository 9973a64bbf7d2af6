package proxy

import (
	"bytes"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/proxy/commands"
)

// Event loops (package frontend) serve a client without a goroutine of its own: they dispatch
// its requests and, instead of Flush waiting for the replies, are told when the last one is in.
// A request that could make the session wait for anything else (a transaction, a blocking
// command, a subscription, the coherence directory, a failover to a copy) moves the client to
// a goroutine first.

// MayBlock reports whether dispatching args, or flushing its reply, may wait for more than
// the replies of calls already sent.
func (s *Session) MayBlock(args [][]byte) bool {
	if s.tx != nil || s.pins != nil || s.blockers != nil || s.r.Dir != nil || s.r.pool.Replicas() > 1 {
		return true
	}
	for _, name := range mayBlock {
		if bytes.EqualFold(args[0], name) {
			return true
		}
	}
	if cmd := commands.Lookup(args); cmd != nil {
		return isBlocking(cmd, args)
	}
	return false
}

// mayBlock are the commands that wait, dial a connection or take the client over.
var mayBlock = [][]byte{
	[]byte("multi"), []byte("exec"), []byte("discard"), []byte("watch"), []byte("unwatch"),
	[]byte("reset"), []byte("subscribe"), []byte("psubscribe"), []byte("ssubscribe"),
	[]byte("discoh"),
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
	s.waker = w
	s.waiting.Store(1) // Await's own, so Ready cannot run before every call is counted
	for i := range s.queue {
		rp := &s.queue[i]
		if rp.call != nil {
			s.await(rp.call)
		}
		if rp.split != nil {
			for _, call := range rp.split.calls {
				s.await(call)
			}
			for _, call := range rp.split.copies {
				s.await(call)
			}
		}
	}
	return s.waiting.Add(-1) != 0, true
}

// await counts call among those Await waits for, unless it is in already.
func (s *Session) await(call *backends.Call) {
	s.waiting.Add(1)
	if !call.Notify(s) {
		s.waiting.Add(-1)
	}
}

// CallDone implements backends.Notifier.
func (s *Session) CallDone() {
	if s.waiting.Add(-1) == 0 {
		s.waker.Ready()
	}
}
