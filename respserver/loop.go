package respserver

import (
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/respserver/commands"
)

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
	s.Waiter.Begin(w, s.r.pool)
	for i := range s.queue {
		rp := &s.queue[i]
		if rp.call != nil {
			s.Waiter.Add(rp.call)
		}
		for _, call := range rp.copies {
			s.Waiter.Add(call)
		}
		if rp.split != nil {
			rp.split.await(&s.Waiter)
		}
	}
	return s.Waiter.End(), true
}
