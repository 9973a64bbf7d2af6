package mcserver

import (
	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
)

// mayBlock reports whether a request may wait for more than the replies of its calls: with a
// coherence directory, or a server down, whatever the request.
func (s *Session) mayBlock() bool {
	return s.m.Dir != nil || !s.m.pool.Steady()
}

// Loopable implements frontend.Awaiter, as Session.Loopable does.
func (s *Session) Loopable() bool { return !s.mayBlock() }

// Await implements frontend.Awaiter, as Session.Await does.
func (s *Session) Await(w frontend.Waker) (pending, ok bool) {
	s.Waiter.Begin(w, s.m.pool)
	for i := range s.queue {
		rp := &s.queue[i]
		var calls []*backends.Call
		switch {
		case rp.call != nil:
			s.Waiter.Add(rp.call)
		case rp.copies != nil:
			calls = rp.copies
		case rp.get != nil:
			rp.get.win.Await(&s.Waiter)
		case rp.fanOut != nil:
			calls = rp.fanOut.calls
		}
		for _, call := range calls {
			s.Waiter.Add(call)
		}
	}
	return s.Waiter.End(), true
}
