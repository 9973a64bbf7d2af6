//go:build linux

package frontend

import (
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/discoh/discoh/internal/rawio"
	"golang.org/x/sys/unix"
)

var errClientGone = errors.New("frontend: client gone")

// loopConn is a client served by a loop. The loop reads and dispatches its requests, one batch
// at a time; the goroutine that completes the batch's last reply writes the replies (Ready).
// What follows a batch waits until its replies are written, so replies stay in order.
type loopConn struct {
	inSet
	fd   int32 // the socket: closed once closed is set (until a rejoin brings a new one)
	l    *loop
	id   uint64
	sess Awaiter // nil after the session was shed, until the client's next request
	kept any     // what the shed session kept for the next one

	mu       sync.Mutex
	input                // input left over from a read; nil buffer when none
	out      *outBuffer  // the replies of the batch being flushed; nil between batches
	pend     pending     // replies the socket has not taken yet
	busy     bool        // a batch is dispatched and its replies not yet flushed
	readable bool        // the socket may hold input not read yet
	hup      bool        // the client hung up or its socket failed
	peerDone bool        // the client half-closed: reads go on until they return its end
	closed   bool        // the connection has ended
	quit     bool        // close once the replies are written (QUIT, a fatal error)
	fatal    *FatalError // its reply is written after the batch's replies
	// moved is the connection serving the client from a goroutine since it left the loop.
	moved atomic.Pointer[clientConn]

	writingSince atomic.Int64 // when replies began waiting for the socket (unix ns), 0 when none
	lastActive   atomic.Int64 // when input last arrived or replies were last written (unix ns)
}

// RemoteAddr implements Client. Only logs ask, so the address is looked up then: thousands of
// idle clients need not hold theirs.
func (c *loopConn) RemoteAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peer()
}

// peer is RemoteAddr with c.mu held.
func (c *loopConn) peer() string {
	if c.closed {
		return "a closed client"
	}
	return peerAddr(int(c.fd))
}

// ID implements Client.
func (c *loopConn) ID() uint64 { return c.id }

// Kept implements Client. Only the loop reads it, while it makes the client's next session.
func (c *loopConn) Kept() any { return c.kept }

// Looped implements Client.
func (c *loopConn) Looped() bool { return c.moved.Load() == nil }

// Watch implements Client. Blocking requests make the connection leave the loop first, so it
// is the goroutine now serving the client that watches.
func (c *loopConn) Watch(onClose func()) (stop func()) { return c.moved.Load().Watch(onClose) }

// event handles readiness reported by epoll, on the loop's goroutine.
func (c *loopConn) event(ev uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.recover()
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.readable = true
	}
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.peerDone = true
	}
	if ev&unix.EPOLLOUT != 0 && !c.pend.empty() {
		c.writePending()
	}
	c.step()
}

// wakeUp steps a connection handed back to the loop, on the loop's goroutine.
func (c *loopConn) wakeUp() {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.recover()
	c.step()
}

// stepBatches is how many batches one step may dispatch and answer at once before the loop
// turns to its other clients: a client pipelining requests answered without a server must
// not keep the loop to itself.
const stepBatches = 8

// stepBytes is how much input one step reads for a request that is not whole yet: a client
// sending a huge request (a million-argument MSET is 20 MB) must not keep the loop from its
// other clients while it arrives, and each read is parsed as it comes (resp.Parser resumes).
const stepBytes = loopReadBuffer

// step dispatches what the client has sent, reading as needed, until a batch is in flight, the
// replies wait for the socket, or the input runs out. It runs on the loop's goroutine: reads
// use the loop's buffer.
func (c *loopConn) step() {
	for batches, read := 0, 0; !c.closed && !c.busy && c.pend.empty(); {
		if batches == stepBatches {
			c.l.requeue(c)
			return
		}
		if len(c.unread()) > 0 {
			n, action, err := c.dispatch(c.session(), c.l.srv.limits.MaxPipeline)
			c.keepUnread()
			if n > 0 || action != Continue || err != nil {
				c.dispatched(n, action, err)
				batches++
				continue
			}
		}
		if c.l.srv.closing.Load() || (c.hup && !c.readable) {
			c.close()
			return
		}
		if !c.readable {
			return
		}
		if read >= stepBytes { // what was read is dispatched or in the client's own buffer
			c.l.requeue(c)
			return
		}
		read += c.read()
	}
}

// session returns the client's session, made anew when the last one was shed.
func (c *loopConn) session() Awaiter {
	if c.sess == nil {
		c.sess = c.l.srv.handler.NewSession(c).(Awaiter) // as the one made when it was accepted
		c.kept = nil                                     // the new session has it now
	}
	return c.sess
}

// read reads what the socket holds, up to stepBytes, and returns how much: into the loop's
// buffer when no partial request is left over, else after it.
func (c *loopConn) read() int {
	if len(c.buf) == 0 {
		c.buf, c.r = c.l.rbuf[:0], 0
	} else {
		c.reserve(0)
	}
	space := c.buf[len(c.buf):cap(c.buf)]
	space = space[:min(len(space), stepBytes)]
	n, err := rawio.Read(int(c.fd), space)
	switch {
	case n > 0:
		c.buf = c.buf[:len(c.buf)+n]
		c.lastActive.Store(time.Now().UnixNano())
		// Edge-triggered: input arriving after this read raises a new event. A half-close
		// that came with the input raised its event already: read on until its end.
		c.readable = n == len(space) || c.peerDone
	case err == rawio.ErrAgain:
		c.readable = false
	default: // 0 bytes: the client closed; or the socket failed
		c.readable, c.hup = false, true
	}
	if n <= 0 {
		c.keepUnread()
	}
	return max(n, 0)
}

// keepUnread copies input left in the loop's shared buffer into the connection's own, and
// drops the connection's buffer once it is consumed: an idle client holds none.
func (c *loopConn) keepUnread() {
	rest := c.unread()
	switch {
	case len(rest) == 0:
		c.buf, c.r = nil, 0
	case cap(c.buf) == cap(c.l.rbuf) && &c.buf[:1][0] == &c.l.rbuf[:1][0]:
		c.buf, c.r = append(make([]byte, 0, max(2*len(rest), 512)), rest...), 0
	}
}

// dispatched acts on a batch the loop dispatched: it waits for its replies without a goroutine,
// or moves the connection to a goroutine when the session needs one to wait.
func (c *loopConn) dispatched(n int, action Action, err error) {
	if fatal := (*FatalError)(nil); errors.As(err, &fatal) {
		c.fatal, c.quit = fatal, true
	}
	if action == CloseAfter {
		c.quit = true
	}
	if action == Block || action == Hijack {
		c.move(action, err)
		return
	}
	c.busy = true
	pending, ok := c.sess.Await(c)
	switch {
	case !ok:
		c.move(action, err)
	case !pending:
		c.flush()
	}
}

// Ready implements Waker: the batch's replies are all in. When Flush may block, it runs on a
// goroutine of its own, not on the goroutine that completed the last call (a backend
// connection's reader, which the Flush may need).
func (c *loopConn) Ready(slow bool) {
	if slow {
		go c.flushSlow()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return // a panic closed it while the batch was out
	}
	defer c.recover()
	c.flush()
	c.resume()
}

// flushSlow flushes without holding the lock during Flush, so the loop is never stuck on it.
// The loop leaves a busy connection's session alone, so Flush needs no lock; taking it first
// waits for Await, which may still be counting calls, to return.
func (c *loopConn) flushSlow() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	dst := c.outBuffer()
	c.mu.Unlock()
	out, err, ok := c.flushUnlocked(dst)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		c.busy = false
		c.close()
		return
	}
	defer c.recover()
	c.flushed(out, err)
	c.resume()
}

// flushUnlocked runs Flush, logging a panic and reporting it as !ok.
func (c *loopConn) flushUnlocked(dst []byte) (out []byte, err error, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.l.srv.log.Error("client connection panicked; closing it", "client", c.RemoteAddr(),
				"panic", p, "stack", string(debug.Stack()))
			ok = false
		}
	}()
	out, err = c.sess.Flush(dst, c.lockedWrite)
	return out, err, true
}

func (c *loopConn) lockedWrite(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.write(b)
}

// resume hands the connection back to the loop after a flush when it has input to go on with,
// or the server is shutting down.
func (c *loopConn) resume() {
	if !c.closed && c.pend.empty() && (c.readable || len(c.unread()) > 0 || c.l.srv.closing.Load()) {
		c.l.handoff(c)
	}
}

// flush writes the batch's replies, then the fatal error's reply, and closes when told to.
func (c *loopConn) flush() {
	out, err := c.sess.Flush(c.outBuffer(), c.write)
	c.flushed(out, err)
}

// outBuffer returns the empty buffer a batch's replies are gathered in.
func (c *loopConn) outBuffer() []byte {
	if c.out == nil {
		c.out = outBuffers.Get().(*outBuffer)
	}
	return c.out.b[:0]
}

// flushed finishes a flush that ended with out still to write. The client's idle time counts
// from here, as it does from a goroutine's next read.
func (c *loopConn) flushed(out []byte, err error) {
	c.lastActive.Store(time.Now().UnixNano())
	if err == nil {
		c.write(out)
	}
	c.out.b = out[:0]
	c.busy = false
	if c.fatal != nil {
		c.write(c.fatal.Reply)
		c.fatal = nil
	}
	if c.hup || (c.quit && c.pend.empty()) {
		c.close()
		return
	}
	if !c.quit && !c.readable && len(c.unread()) == 0 {
		c.shed()
	}
}

// shed gives the session and the reply buffer up between batches, when the session has
// nothing of the client's to keep (see Awaiter.Shed). Clients that pause between requests,
// and idle ones, then hold neither: the loop makes them again for the next request.
func (c *loopConn) shed() {
	c.releaseOut()
	if keep, shed := c.sess.Shed(); shed {
		c.sess, c.kept = nil, keep
	}
}

func (c *loopConn) releaseOut() {
	if c.out != nil {
		c.out.release()
		c.out = nil
	}
}

// write writes b without waiting: what the socket does not take now waits in pend, and the
// loop writes it when the socket is writable again.
func (c *loopConn) write(b []byte) error {
	if c.hup {
		return errClientGone
	}
	if !c.pend.empty() {
		c.pend.add(b)
		return nil
	}
	for len(b) > 0 {
		n, err := rawio.Write(int(c.fd), b)
		switch {
		case err == rawio.ErrAgain:
			c.pend.add(b)
			c.writingSince.CompareAndSwap(0, time.Now().UnixNano()) // kept until all is written
			return nil
		case err != nil:
			c.hup = true
			return errClientGone
		default:
			b = b[n:]
		}
	}
	return nil
}

// writePending writes the replies that waited for the socket. The write timeout runs from
// when they began to wait until the last byte is taken, as for a blocking write.
func (c *loopConn) writePending() {
	for !c.pend.empty() {
		n, err := rawio.Write(int(c.fd), c.pend.next())
		switch {
		case err == rawio.ErrAgain:
			return
		case err != nil:
			c.hup = true
			c.pend.reset()
			c.writingSince.Store(0)
			return
		}
		c.pend.written(n)
	}
	c.writingSince.Store(0)
	if c.quit && !c.busy { // a batch in flight closes when it is flushed
		c.close()
	}
}

// move hands the client to a goroutine of its own, which writes the replies of the batch
// dispatched so far and goes on from the request that returned action.
func (c *loopConn) move(action Action, err error) {
	c.l.remove(int(c.fd))
	in := c.input
	if len(in.buf) > 0 {
		in.buf = append([]byte(nil), in.unread()...)
		in.r = 0
	}
	c.buf, c.r = nil, 0
	c.releaseOut()
	addr := c.peer()
	c.closed = true
	cc := c.l.srv.adopt(c, c.id, int(c.fd), addr, c.sess)
	if cc == nil {
		return
	}
	cc.input = in
	cc.rejoin = c.rejoin
	cc.turn = newTurn()
	cc.turnAfter = c.l.srv.lastTurn.Swap(cc.turn)
	c.moved.Store(cc)
	c.l.srv.Moved.Add(1)
	go cc.guard(func(cc *clientConn) {
		if !cc.finishBatch(action, err) {
			cc.serveLoop()
		}
	})
}

// rejoin takes the client back from cc, the goroutine serving it since it moved, which has no
// input left and no reply outstanding: the loop serves it again, with the same session, on a
// duplicate of cc's socket (cc then closes its own). It reports false, changing nothing, when
// the socket cannot be duplicated or the loop refuses it.
func (c *loopConn) rejoin(cc *clientConn) bool {
	fd, err := dupSocket(cc.nc)
	if err != nil {
		return false
	}
	// Held until the loop has c: a wake or a stale handoff must not step, and maybe close, c
	// before the loop watches its descriptor.
	c.mu.Lock()
	c.fd = int32(fd)
	c.input, c.fatal = input{}, nil
	c.pend.reset()
	c.busy, c.hup, c.peerDone, c.quit, c.closed = false, false, false, false, false
	c.readable = true
	c.writingSince.Store(0)
	c.lastActive.Store(time.Now().UnixNano())
	c.moved.Store(nil)
	c.l.srv.swap(cc, c)
	if err := c.l.add(c); err != nil {
		c.closed = true
		c.moved.Store(cc)
		c.l.srv.swap(c, cc)
		c.mu.Unlock()
		unix.Close(fd)
		return false
	}
	c.mu.Unlock()
	if c.l.srv.closing.Load() {
		c.wake() // a shutdown that listed its clients before the swap did not see c
	}
	c.l.srv.Rejoined.Add(1)
	return true
}

// close ends the connection, unless a batch is in flight: its replies' completion closes it.
func (c *loopConn) close() {
	if c.closed {
		return
	}
	if c.busy {
		c.hup = true
		return
	}
	c.closed = true
	if c.sess != nil {
		c.sess.Close()
	}
	c.l.remove(int(c.fd))
	unix.Close(int(c.fd))
	c.releaseOut()
	c.buf = nil
	c.pend.reset()
	c.l.srv.forget(c)
}

// recover closes a connection whose session panicked, as a goroutine-served one would be.
func (c *loopConn) recover() {
	if p := recover(); p != nil {
		c.l.srv.log.Error("client connection panicked; closing it", "client", c.peer(),
			"panic", p, "stack", string(debug.Stack()))
		c.busy = false
		c.close()
	}
}

// wake implements served: the loop steps the client, which then sees the server closing. A
// closed client is left alone: its loop may be gone, and the eventfd's number reused.
func (c *loopConn) wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.l.handoff(c)
	}
}

// kill implements served: shutting the socket down makes the loop see a hang-up and close it.
func (c *loopConn) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		unix.Shutdown(int(c.fd), unix.SHUT_RDWR)
	}
}

// expired implements served.
func (c *loopConn) expired(now int64, l Limits) string {
	if ws := c.writingSince.Load(); l.WriteTimeout > 0 && ws != 0 && now-ws > int64(l.WriteTimeout) {
		return "does not read its replies"
	}
	c.mu.Lock()
	idle := !c.busy && c.pend.empty()
	c.mu.Unlock()
	if l.IdleTimeout > 0 && idle && now-c.lastActive.Load() > int64(l.IdleTimeout) {
		return "idle"
	}
	return ""
}
