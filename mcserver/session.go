package mcserver

import (
	"strconv"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/internal/memlimit"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/proxy"
)

// Session is one memcached client's state. Its methods run on the client's connection
// goroutine.
type Session struct {
	m      *Memcache
	client frontend.Client
	id     uint64

	queue   []mcReply
	lit     []byte
	scratch []int  // scratch for server lists
	enc     []byte // scratch: a request re-encoded for its servers, copied into each call
	ownerOf []int  // scratch for a get: the server of each key
	servers []int  // scratch for a get: its distinct servers
	batch   proxy.BatchBound

	proxy.Waiter // for an event loop: see Await
}

// mcReply is one queued reply: literal bytes, one call's reply, or a multi-get's merge.
type mcReply struct {
	litFrom, litTo int
	call           *backends.Call
	copies         []*backends.Call // a write sent to every live copy of its key
	get            *mcGet
	fanOut         *mcFanOut
	kind           mcproto.Kind
	keys           int  // a get's number of keys, for the hit counters
	noreply        bool // the client asked for no reply: wait for the server, send nothing
	quiet          bool // a meta command with q: send only what memcached would send
	read, write    bool // a keyed read (may fail over) or write (a failure is a missed write)
}

// Dispatch starts a request the parser (server.go) read. While an event loop serves the
// client, a request that may block returns frontend.Block untouched, for the goroutine the
// client moves to.
func (s *Session) Dispatch(req *mcproto.Request) frontend.Action {
	if s.client.Looped() && s.mayBlock() {
		return frontend.Block
	}
	if memlimit.Over() && requestSize(req) > memlimit.LargeRequest {
		if !req.Noreply {
			s.queueLit(func(dst []byte) []byte {
				return append(dst, "SERVER_ERROR out of memory (discoh is near max_memory)\r\n"...)
			})
		}
		return frontend.EndBatch
	}
	action := s.dispatch(req)
	full := s.batch.Full(s.m.MaxReplyBytes) || memlimit.Over() // as for Redis: one request at a time
	if (full || s.holdsParts()) && action == frontend.Continue {
		return frontend.EndBatch
	}
	return action
}

// holdsParts reports whether the request just dispatched holds parts back (see
// Session.holdsParts).
func (s *Session) holdsParts() bool {
	n := len(s.queue)
	return n > 0 && s.queue[n-1].get != nil && s.queue[n-1].get.win.Holding()
}

func (s *Session) dispatch(req *mcproto.Request) frontend.Action {
	if s.routeCoherent(req) {
		return frontend.Continue
	}
	switch k := req.Kind; {
	case k.IsRetrieval():
		s.dispatchGet(req)
	case k.IsStorage():
		s.m.Stats.CmdSet.Add(1)
		s.enc = mcproto.AppendStorage(s.enc[:0], req, false)
		s.forwardKey(req, s.enc)
	case k == mcproto.Delete, k == mcproto.Incr, k == mcproto.Decr, k == mcproto.Touch:
		s.enc = appendKeyCommand(s.enc[:0], req)
		s.forwardKey(req, s.enc)
	case k.IsMeta():
		s.dispatchMeta(req)
	default:
		return s.dispatchLocal(req)
	}
	return frontend.Continue
}

// requestSize is what a request holds: its value and its keys.
func requestSize(req *mcproto.Request) int {
	n := len(req.Data)
	for _, k := range req.Keys {
		n += len(k)
	}
	return n
}

// appendKeyCommand re-encodes a delete, incr, decr or touch without noreply: discoh always
// wants the server's reply, to keep replies paired with requests; the client's noreply is
// honoured by not passing it on.
func appendKeyCommand(line []byte, req *mcproto.Request) []byte {
	line = append(append(line, req.Kind.String()...), ' ')
	line = append(line, req.Keys[0]...)
	switch req.Kind {
	case mcproto.Incr, mcproto.Decr:
		line = strconv.AppendUint(append(line, ' '), req.Delta, 10)
	case mcproto.Touch:
		line = strconv.AppendInt(append(line, ' '), req.Exptime, 10)
	}
	return append(line, "\r\n"...)
}

// forwardKey sends the encoded request to the server owning the request's key.
func (s *Session) forwardKey(req *mcproto.Request, encoded []byte) {
	if req.Kind == mcproto.Touch {
		s.m.Stats.CmdTouch.Add(1)
	}
	s.forward(req, encoded, req.Noreply, false)
}

// forward sends an encoded single-key request: a write to every live copy of the key, a read to
// its best live copy.
func (s *Session) forward(req *mcproto.Request, encoded []byte, noreply, quiet bool) {
	write := req.Kind != mcproto.MetaGet && req.Kind != mcproto.MetaDebug
	targets := s.targets(req.Keys[0], write)
	if !write {
		targets = targets[:1] // a read asks the best copy; failover tries the next on error
	} else if req.Kind == mcproto.Cas && len(targets) > 1 {
		// A cas token is the primary's own: the other copies would answer EXISTS. They lose
		// their copy instead, and are refilled from the primary on their next miss.
		s.dropCopies(req.Keys[0], targets[1:])
		targets = targets[:1]
	}
	rp := mcReply{kind: req.Kind, noreply: noreply, quiet: quiet, read: !write, write: write}
	if len(targets) == 1 {
		rp.call = s.sendEncoded(targets[0], encoded, req.Kind, false)
	} else {
		rp.copies = make([]*backends.Call, len(targets))
		for i, t := range targets {
			rp.copies[i] = s.sendEncoded(t, encoded, req.Kind, true)
		}
		s.m.pool.BeginWrite(req.Keys[0])
	}
	s.queue = append(s.queue, rp)
	if cap(s.enc) > keepEncoded {
		s.enc = nil // do not hold one large value's copy for the connection's life
	}
}

// keepEncoded is the largest encoding scratch a session keeps between requests.
const keepEncoded = 64 << 10

// sendEncoded sends a copy of an encoded request to server; a copy of a write is marked so
// (Call.Write).
func (s *Session) sendEncoded(server int, encoded []byte, kind mcproto.Kind, copyOfWrite bool) *backends.Call {
	call := backends.NewCall()
	call.Req, call.Kind, call.Write = append(call.Req, encoded...), uint8(kind), copyOfWrite
	s.send(server, call)
	return call
}

// dropCopies deletes key on servers, waiting for nothing but the replies' pairing.
func (s *Session) dropCopies(key []byte, servers []int) {
	for _, i := range servers {
		call := backends.NewCall()
		call.Req = append(append(append(call.Req, "delete "...), key...), "\r\n"...)
		call.Kind = uint8(mcproto.Delete)
		s.send(i, call)
		s.queue = append(s.queue, mcReply{call: call, kind: mcproto.Delete, noreply: true, write: true})
	}
}

// targets returns the key's live servers: all copies for a write, the best first for a read.
func (s *Session) targets(key []byte, write bool) []int {
	s.scratch = proxy.Targets(s.m.pool, key, write, s.scratch[:0])
	return s.scratch
}

func (s *Session) send(server int, call *backends.Call) {
	s.m.pool.Servers[server].Send(call, backends.LaneRESP2, s.id)
}

// dispatchMeta forwards a meta command as the client wrote it, less the q flag: discoh needs
// every reply to keep them paired, and drops the ones memcached would have held back.
func (s *Session) dispatchMeta(req *mcproto.Request) {
	if req.Kind == mcproto.MetaNoop {
		s.queueLit(func(dst []byte) []byte { return append(dst, "MN\r\n"...) })
		return
	}
	line, quiet := mcproto.StripQuiet(req.Line, s.enc[:0])
	s.enc = append(line, "\r\n"...)
	if req.Kind == mcproto.MetaSet {
		s.enc = append(append(s.enc, req.Data...), "\r\n"...)
	}
	s.forward(req, s.enc, false, quiet)
}

// Reject answers a request the parser (server.go) refused. Like Dispatch, it returns
// frontend.Block untouched when the reject sends a delete that may block.
func (s *Session) Reject(e *mcproto.Error, req *mcproto.Request) frontend.Action {
	if e.Delete && len(req.Keys) > 0 && s.client.Looped() && s.mayBlock() {
		return frontend.Block
	}
	if e.Delete && len(req.Keys) > 0 {
		// memcached drops the stored value when it refuses a too-large set; so does discoh,
		// or the client would go on reading the value it meant to replace.
		del := &mcproto.Request{Kind: mcproto.Delete, Keys: req.Keys[:1]}
		s.enc = appendKeyCommand(s.enc[:0], del)
		s.forward(del, s.enc, true, false)
	}
	s.queueLit(e.AppendReply)
	return frontend.Continue
}

func (s *Session) queueLit(add func(dst []byte) []byte) {
	from := len(s.lit)
	s.lit = add(s.lit)
	s.queue = append(s.queue, mcReply{litFrom: from, litTo: len(s.lit)})
}

// Flush implements frontend.Session.
func (s *Session) Flush(dst []byte, spill func([]byte) error) ([]byte, error) {
	total := 0
	dst, err := proxy.FlushQueue(s.queue, dst, frontend.SpillBytes, spill, func(dst []byte, rp *mcReply) []byte {
		start := len(dst)
		dst = s.finish(dst, rp)
		total += len(dst) - start
		return dst
	})
	s.batch.Flushed(total, s.m.MaxReplyBytes)
	s.queue, s.lit = s.queue[:0], s.lit[:0]
	s.Waiter.Flushed()
	return dst, err
}

func (s *Session) finish(dst []byte, rp *mcReply) []byte {
	switch {
	case rp.get != nil:
		return rp.get.finish(s, dst)
	case rp.fanOut != nil:
		return rp.fanOut.finish(dst, rp.noreply)
	case rp.copies != nil:
		rp.call = s.firstCopy(rp.copies)
		return s.finishCall(dst, rp)
	case rp.call != nil:
		return s.finishCall(dst, rp)
	default:
		return append(dst, s.lit[rp.litFrom:rp.litTo]...)
	}
}

func (s *Session) finishCall(dst []byte, rp *mcReply) []byte {
	call := rp.call
	call.Wait()
	switch {
	case call.Err != nil && rp.read:
		call = s.failover(call)
	case rp.read && s.m.pool.Replicas() > 1 && string(call.Reply) == "END\r\n" && call.Server.Warming() && s.Waiter.MayWait():
		call = s.warm(call)
	}
	defer call.Release()
	switch {
	case rp.noreply:
		if call.Err != nil {
			s.m.Stats.BackendErrors.Add(1)
		}
		return dst
	case call.Err != nil:
		return s.appendBackendError(dst, call)
	case rp.quiet && mcproto.QuietSuppressed(rp.kind, call.Reply):
		return dst
	case rp.kind.IsRetrieval():
		s.countHits(call.Reply, rp.keys)
	}
	return append(dst, call.Reply...)
}

// appendBackendError answers as memcached answers a failure of its own, naming the server.
func (s *Session) appendBackendError(dst []byte, call *backends.Call) []byte {
	s.m.Stats.BackendErrors.Add(1)
	dst = append(dst, "SERVER_ERROR backend "...)
	dst = append(dst, call.Server.String()...)
	dst = append(dst, ": "...)
	dst = append(dst, oneLine(backends.Describe(call.Err))...)
	return append(dst, "\r\n"...)
}

// oneLine keeps an error message on one protocol line.
func oneLine(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i] = ' '
		}
	}
	return b
}

// Close implements frontend.Session.
func (s *Session) Close() {}

// Shed implements frontend.Awaiter: a memcached client sets nothing a session must keep.
func (s *Session) Shed() (keep any, shed bool) {
	s.client, s.batch = nil, proxy.BatchBound{}
	s.queue, s.lit, s.enc = proxy.Kept(s.queue, proxy.KeptReplies), proxy.Kept(s.lit, proxy.KeptBytes), proxy.Kept(s.enc, proxy.KeptBytes)
	s.m.free.Put(s)
	return nil, true
}
