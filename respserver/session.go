package respserver

import (
	"fmt"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/internal/memlimit"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
	"github.com/discoh/discoh/respserver/commands"
)

// Session is one Redis client's state. Its methods run on the client's connection goroutine.
type Session struct {
	r      *Redis
	client frontend.Client
	id     uint64
	lane   int          // backends.LaneRESP2 or LaneRESP3, set by HELLO
	name   string       // CLIENT SETNAME
	carry  *clientState // lane and name across a shed, once either was set (see Shed)

	queue   []reply // replies of the batch being dispatched, in request order
	lit     []byte  // the bytes of literal replies in queue
	keys    []int   // scratch for key positions
	scratch []int   // scratch for server lists

	tx       *txn                                  // between MULTI and EXEC/DISCARD
	pins     map[int]*backends.Pinned              // the session's own connections, from WATCH on
	watching int                                   // the server holding WATCH state; -1 for none
	blockers map[*backends.Server]*backends.Pinned // connections for blocking commands
	cmd      *commands.Command                     // the request being dispatched's; nil if Redis has none
	slow     bool                                  // the request being dispatched is slow (Call.Slow)
	batch    proxy.BatchBound                      // bounds the reply bytes one batch holds
	replyOff bool                                  // CLIENT REPLY OFF: replies are not sent
	skipping bool                                  // CLIENT REPLY SKIP: the next reply is not sent
	shape    resp.Shape                            // the reply type it gets, when known

	proxy.Waiter // for an event loop: see Await
}

// reply is one queued reply: literal bytes, one call's reply passed through, or the merge of a
// split command's calls.
type reply struct {
	litFrom, litTo int
	call           *backends.Call
	copies         []*backends.Call // a write sent to every live copy of its key
	split          *split
	blocking       bool // wait watching the client, who may hang up
	lastFrame      bool // pass through only the last of the call's frames (EXEC)
	silent         bool // wait for the reply but send the client nothing
	muted          bool // CLIENT REPLY OFF or SKIP: finish the reply but send nothing
	read, write    bool // a keyed read (may fail over) or write (a failure is a missed write)
}

func (s *Session) resp3() bool { return s.lane == backends.LaneRESP3 }

// Dispatch starts a request the parser (server.go) read. While an event loop serves the
// client, a request that may block returns frontend.Block untouched, for the goroutine the
// client moves to.
func (s *Session) Dispatch(args [][]byte, raw []byte) frontend.Action {
	local, cmd := localHandler(args[0]), commands.Lookup(args)
	if s.client.Looped() && s.mayBlock(local, cmd, args) {
		return frontend.Block
	}
	s.r.Stats.Commands.Add(1)
	s.cmd = cmd
	s.slow, s.shape = traits(cmd)
	from, wasOff, wasSkipping := len(s.queue), s.replyOff, s.skipping
	s.skipping = false
	if memlimit.Over() && len(raw) > memlimit.LargeRequest {
		s.queueError(fmt.Sprintf("OOM discoh is near max_memory: a request of %d bytes is refused until memory falls", len(raw)))
		return frontend.EndBatch
	}
	action := s.dispatch(args, raw, local, cmd)
	if (wasOff && s.replyOff) || wasSkipping { // CLIENT REPLY ON itself is answered
		for i := from; i < len(s.queue); i++ {
			s.queue[i].muted = true
		}
	}
	// Near max_memory every request ends its batch: a client's replies are then written before
	// its next request is read, so clients that do not read their replies stop adding to them.
	full := s.batch.Full(s.r.MaxReplyBytes) || memlimit.Over()
	if (full || s.holdsParts()) && action == frontend.Continue {
		return frontend.EndBatch
	}
	return action
}

// holdsParts reports whether the request just dispatched holds parts back until earlier ones
// are answered (a huge multi-key command): the batch ends with it, so that none of the client's
// later requests overtakes them.
func (s *Session) holdsParts() bool {
	n := len(s.queue)
	return n > 0 && s.queue[n-1].split != nil && s.queue[n-1].split.win.Holding()
}

// traits says whether the request may run for long on a healthy server (commands.Slow), and
// what type of reply it gets, for the calls it makes.
func traits(cmd *commands.Command) (slow bool, shape resp.Shape) {
	if cmd == nil {
		return false, resp.AnyReply
	}
	return cmd.Slow, cmd.Reply
}

// queueLit queues a reply made of the bytes add appends.
func (s *Session) queueLit(add func(dst []byte) []byte) {
	from := len(s.lit)
	s.lit = add(s.lit)
	s.queue = append(s.queue, reply{litFrom: from, litTo: len(s.lit)})
}

func (s *Session) queueError(msg string) {
	s.r.Stats.Errors.Add(1)
	s.queueLit(func(dst []byte) []byte { return resp.AppendError(dst, msg) })
}

func (s *Session) queueSimple(msg string) {
	s.queueLit(func(dst []byte) []byte { return resp.AppendSimple(dst, msg) })
}

// Flush implements frontend.Session.
func (s *Session) Flush(dst []byte, spill func([]byte) error) ([]byte, error) {
	total := 0
	dst, err := proxy.FlushQueue(s.queue, dst, frontend.SpillBytes, spill, func(dst []byte, rp *reply) []byte {
		start := len(dst)
		dst = s.capReply(start, s.finish(dst, rp))
		if rp.muted {
			return dst[:start]
		}
		total += len(dst) - start
		return dst
	})
	s.batch.Flushed(total, s.r.MaxReplyBytes)
	s.queue, s.lit = s.queue[:0], s.lit[:0]
	s.Waiter.Flushed()
	return dst, err
}

// capReply replaces a reply larger than the pool's max_pending_output_bytes with an error, so
// one client cannot make discoh hold an unbounded reply for it.
func (s *Session) capReply(start int, after []byte) []byte {
	size := len(after) - start
	if s.r.MaxReplyBytes <= 0 || size <= s.r.MaxReplyBytes {
		return after
	}
	s.r.Stats.Errors.Add(1)
	msg := fmt.Sprintf("ERR reply of %d bytes over max_pending_output_bytes %d", size, s.r.MaxReplyBytes)
	return resp.AppendError(after[:start], msg)
}

// finish waits for one reply and appends it to dst.
func (s *Session) finish(dst []byte, rp *reply) []byte {
	switch {
	case rp.copies != nil:
		return s.finishCopies(dst, rp.copies)
	case rp.call != nil:
		return s.finishCall(dst, rp)
	case rp.split != nil:
		return rp.split.finish(s, dst)
	default:
		return append(dst, s.lit[rp.litFrom:rp.litTo]...)
	}
}

func (s *Session) finishCall(dst []byte, rp *reply) []byte {
	call := rp.call
	if rp.blocking {
		s.r.Stats.Blocked.Add(1)
		stop := s.client.Watch(func() { s.closeBlockers() })
		call.Wait()
		stop()
		s.r.Stats.Blocked.Add(-1)
	} else {
		call.Wait()
	}
	if call.Err != nil {
		call = s.afterFailure(call, rp)
	} else if rp.read && s.r.pool.Replicas() > 1 && isNull(call.Reply) && call.Server.Warming() && s.Waiter.MayWait() {
		call = s.warm(call)
	}
	defer call.Release()
	switch {
	case rp.silent:
		return dst
	case call.Err != nil:
		return s.appendBackendError(dst, call)
	case rp.lastFrame:
		return append(dst, lastFrame(call.Reply)...)
	}
	return append(dst, call.Reply...)
}

// afterFailure handles a call that got no reply: a read is retried on the key's next live copy.
// A write sent to one server alone that failed reached no copy (the client hears the error), so
// no copy is out of step with another and nothing is recorded as missed.
func (s *Session) afterFailure(call *backends.Call, rp *reply) *backends.Call {
	if rp.read {
		return s.failover(call)
	}
	return call
}

// appendBackendError says which server failed and why, in the client's reply.
func (s *Session) appendBackendError(dst []byte, call *backends.Call) []byte {
	s.r.Stats.Errors.Add(1)
	s.r.Stats.Backend.Add(1)
	return resp.AppendError(dst, "ERR backend "+call.Server.String()+": "+backends.Describe(call.Err))
}

func isNull(reply []byte) bool {
	return string(reply) == "$-1\r\n" || string(reply) == "_\r\n"
}

// lastFrame returns the last reply in a run of complete replies.
func lastFrame(frames []byte) []byte {
	for {
		n, err := resp.ScanReply(frames)
		if err != nil || n == 0 || n == len(frames) {
			return frames
		}
		frames = frames[n:]
	}
}

// Shed implements frontend.Awaiter. A session holding no transaction and no connections of
// its own goes to the router's free sessions, its buffers with it, for the next client that
// needs one; HELLO's protocol and CLIENT SETNAME's name, when set, are kept for the client's
// next session in a clientState (made once per client: shedding allocates nothing).
func (s *Session) Shed() (keep any, shed bool) {
	if s.tx != nil || s.watching >= 0 || len(s.pins) > 0 || len(s.blockers) > 0 || s.replyOff || s.skipping {
		return nil, false
	}
	if s.lane != backends.LaneRESP2 || s.name != "" {
		if s.carry == nil {
			s.carry = new(clientState)
		}
		*s.carry = clientState{lane: s.lane, name: s.name}
		keep = s.carry
	}
	s.client, s.carry, s.lane, s.name, s.batch = nil, nil, backends.LaneRESP2, "", proxy.BatchBound{}
	s.queue, s.lit = proxy.Kept(s.queue, proxy.KeptReplies), proxy.Kept(s.lit, proxy.KeptBytes)
	s.r.free.Put(s)
	return keep, true
}

// clientState is what a client set that outlives its session between requests (see Shed).
type clientState struct {
	lane int
	name string
}

// Close implements frontend.Session.
func (s *Session) Close() {
	s.closeBlockers()
	s.closePins()
}
