package proxy

import (
	"bytes"

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

// Await implements frontend.Awaiter. Literal replies and the replies of single calls can be
// awaited; a split, copies or a blocking call cannot (their finishing waits on more calls).
func (s *Session) Await(w frontend.Waker) (pending, ok bool) {
	for i := range s.queue {
		if rp := &s.queue[i]; rp.copies != nil || rp.split != nil || rp.blocking {
			return false, false
		}
	}
	s.waker = w
	s.waiting.Store(1) // Await's own, so Ready cannot run before every call is counted
	for i := range s.queue {
		if call := s.queue[i].call; call != nil {
			s.waiting.Add(1)
			if !call.Notify(s) {
				s.waiting.Add(-1)
			}
		}
	}
	return s.waiting.Add(-1) != 0, true
}

// CallDone implements backends.Notifier.
func (s *Session) CallDone() {
	if s.waiting.Add(-1) == 0 {
		s.waker.Ready()
	}
}
