package frontend

// input is a client's unparsed bytes, shared by both ways of serving a connection (a goroutine
// per client, or an event loop).
type input struct {
	buf  []byte // unparsed input is buf[r:]
	r    int
	skip int // input still to discard (see Session.Dispatch)
}

func (in *input) unread() []byte { return in.buf[in.r:] }

// dispatch hands the session every complete request in the buffer, up to limit, and says how
// many it took. A Hijack or Block leaves r at the request that returned it.
func (in *input) dispatch(sess Session, limit int) (int, Action, error) {
	in.discard()
	if in.r == len(in.buf) {
		return 0, Continue, nil // nothing to parse, and no buffer to make for it
	}
	limit = max(limit, 1)
	for i := range limit {
		n, need, action, err := sess.Dispatch(in.buf[in.r:])
		if err != nil || action == Hijack || action == Block {
			return i, action, err
		}
		if n == 0 {
			in.reserve(need)
			return i, action, nil
		}
		in.r += n
		in.discard()
		switch action {
		case CloseAfter:
			return i + 1, action, nil
		case EndBatch:
			return i + 1, Continue, nil
		}
	}
	return limit, Continue, nil
}

// discard drops input the session asked to skip, as far as it has arrived.
func (in *input) discard() {
	if in.r > len(in.buf) {
		in.skip += in.r - len(in.buf)
		in.r = len(in.buf)
	}
	drop := min(in.skip, len(in.buf)-in.r)
	in.r += drop
	in.skip -= drop
}

// reserve moves unparsed input to the front and makes room for the next read. The buffer grows
// by doubling as input arrives, towards need (the size of the request being read) but never
// ahead of the bytes actually received: a client announcing a huge request makes discoh hold
// no more than it sent. need is often a lower bound that creeps up as the request arrives (6
// bytes for each argument still to come): growing by half at least keeps a 20 MB request from
// being copied over again for each small step.
func (in *input) reserve(need int) {
	unread := len(in.buf) - in.r
	if in.r > 0 && (in.r == len(in.buf) || cap(in.buf)-len(in.buf) < readChunk) {
		copy(in.buf, in.buf[in.r:])
		in.buf, in.r = in.buf[:unread], 0
	}
	if cap(in.buf)-len(in.buf) >= readChunk || (need > 0 && cap(in.buf) >= need) {
		return
	}
	size := max(2*cap(in.buf), unread+readChunk)
	if need > unread+readChunk {
		size = min(size, max(need, unread+unread/2))
	}
	grown := make([]byte, unread, size)
	copy(grown, in.buf[in.r:])
	in.buf, in.r = grown, 0
}

// reserveAside makes room for a read without moving the bytes already read, which a request
// being dispatched may still point into (a watch reads while a session waits): when the buffer
// is full, the unread bytes go to a new one and the old one is left as it was.
func (in *input) reserveAside() {
	if cap(in.buf)-len(in.buf) >= readChunk {
		return
	}
	unread := len(in.buf) - in.r
	grown := make([]byte, unread, max(2*cap(in.buf), unread+readChunk))
	copy(grown, in.buf[in.r:])
	in.buf, in.r = grown, 0
}

// shrink drops a buffer grown for one large request once it is consumed.
func (in *input) shrink() {
	if cap(in.buf) > keepBuffer && in.r == len(in.buf) {
		in.buf, in.r = nil, 0
	}
}
