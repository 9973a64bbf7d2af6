package frontend

import (
	"errors"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// readChunk is the initial read buffer and the least free space offered to each read.
	readChunk = 16 << 10
	// SpillBytes is how much reply data a Session gathers before it writes it out mid-batch.
	SpillBytes = 64 << 10
	// keepBuffer is the largest read buffer kept once the request that needed it is done.
	keepBuffer = 1 << 20
	// watchBufferLimit is how much a client may send while its session waits on a blocking
	// command; past it the watch stops reading and the client's bytes wait in the socket.
	watchBufferLimit = 1 << 20
)

// clientConn runs one client: read a batch of requests, dispatch them all, write every reply
// in order with one write, repeat.
type clientConn struct {
	srv  *Server
	nc   net.Conn
	sess Session
	buf  []byte // unparsed input is buf[r:]
	r    int
	skip int // input still to discard (see Session.Dispatch)
	out  []byte
	gone bool // the client hung up while watched

	writingSince atomic.Int64 // when the write in progress began (unix ns), 0 when none

	watchMu  sync.Mutex  // serialises Watch with wake
	stopping atomic.Bool // a watch is being stopped: its read deadline is not a wake
}

func newClientConn(s *Server, nc net.Conn) *clientConn {
	return &clientConn{srv: s, nc: nc, buf: make([]byte, 0, readChunk)}
}

// RemoteAddr is the client's address.
func (c *clientConn) RemoteAddr() string { return c.nc.RemoteAddr().String() }

func (c *clientConn) serve() {
	c.sess = c.srv.handler.NewSession(c)
	defer func() {
		if p := recover(); p != nil {
			c.srv.log.Error("client connection panicked; closing it", "client", c.RemoteAddr(),
				"panic", p, "stack", string(debug.Stack()))
		}
		c.sess.Close()
		c.nc.Close()
		c.srv.forget(c)
	}()
	for !c.gone {
		dispatched, action, err := c.dispatch()
		if dispatched == 0 && action == Continue && err == nil {
			if c.fill() != nil {
				return
			}
			continue
		}
		if c.flush() != nil {
			return
		}
		if fatal := (*FatalError)(nil); errors.As(err, &fatal) {
			c.write(fatal.Reply)
			return
		}
		switch action {
		case CloseAfter:
			return
		case Hijack:
			c.sess.Relay(c.nc, c.buf[c.r:])
			return
		}
		c.shrink()
	}
}

// dispatch hands the session every complete request in the buffer, up to MaxPipeline, and
// says how many it took. A Hijack leaves c.r at the hijacking request.
func (c *clientConn) dispatch() (int, Action, error) {
	c.discard()
	limit := max(c.srv.limits.MaxPipeline, 1)
	for i := range limit {
		n, need, action, err := c.sess.Dispatch(c.buf[c.r:])
		if err != nil || action == Hijack {
			return i, action, err
		}
		if n == 0 {
			c.reserve(need)
			return i, action, nil
		}
		c.r += n
		c.discard()
		if action == CloseAfter {
			return i + 1, action, nil
		}
	}
	return limit, Continue, nil
}

// discard drops input the session asked to skip, as far as it has arrived.
func (c *clientConn) discard() {
	if c.r > len(c.buf) {
		c.skip += c.r - len(c.buf)
		c.r = len(c.buf)
	}
	drop := min(c.skip, len(c.buf)-c.r)
	c.r += drop
	c.skip -= drop
}

// fill reads more input, waiting at most the idle timeout.
func (c *clientConn) fill() error {
	if c.srv.closing.Load() {
		return ErrServerClosed
	}
	c.reserve(0)
	if err := c.armIdle(); err != nil {
		return err
	}
	n, err := c.nc.Read(c.buf[len(c.buf):cap(c.buf)])
	c.buf = c.buf[:len(c.buf)+n]
	if n > 0 {
		return nil
	}
	return err
}

// armIdle sets the idle timeout for the next read, unless a shutdown has begun: its wake
// deadline must not be overwritten.
func (c *clientConn) armIdle() error {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.srv.closing.Load() {
		return ErrServerClosed
	}
	if t := c.srv.limits.IdleTimeout; t > 0 {
		c.nc.SetReadDeadline(time.Now().Add(t))
	}
	return nil
}

// reserve moves unparsed input to the front and makes room for the next read. The buffer grows
// by doubling as input arrives, towards need (the size of the request being read) but never
// ahead of the bytes actually received: a client announcing a huge request makes discoh hold
// no more than it sent.
func (c *clientConn) reserve(need int) {
	unread := len(c.buf) - c.r
	if c.r > 0 && (c.r == len(c.buf) || cap(c.buf)-len(c.buf) < readChunk) {
		copy(c.buf, c.buf[c.r:])
		c.buf, c.r = c.buf[:unread], 0
	}
	if cap(c.buf)-len(c.buf) >= readChunk || (need > 0 && cap(c.buf) >= need) {
		return
	}
	size := max(2*cap(c.buf), unread+readChunk)
	if need > unread+readChunk {
		size = min(size, need)
	}
	grown := make([]byte, unread, size)
	copy(grown, c.buf[c.r:])
	c.buf, c.r = grown, 0
}

// shrink drops a read buffer grown for one large request once it is consumed.
func (c *clientConn) shrink() {
	if cap(c.buf) > keepBuffer && c.r == len(c.buf) {
		c.buf, c.r = make([]byte, 0, readChunk), 0
	}
}

func (c *clientConn) flush() error {
	var err error
	c.out, err = c.sess.Flush(c.out[:0], c.write)
	if err != nil {
		return err
	}
	if err := c.write(c.out); err != nil {
		return err
	}
	if cap(c.out) > 4*SpillBytes {
		c.out = nil // do not keep one huge reply's buffer for the connection's life
	}
	return nil
}

func (c *clientConn) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	c.writingSince.Store(time.Now().UnixNano()) // the server's sweeper enforces WriteTimeout
	_, err := c.nc.Write(b)
	c.writingSince.Store(0)
	return err
}

// wake interrupts a connection waiting for input so it notices the server is shutting down.
func (c *clientConn) wake() {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	c.nc.SetReadDeadline(time.Now())
}

// Watch reads from the client in the background while the session waits; see Client. A read
// deadline that stop did not set (a shutdown's wake, an idle timeout) does not end the watch: a
// client blocked on purpose is not idle, and only its hanging up should cancel the wait.
func (c *clientConn) Watch(onClose func()) (stop func()) {
	c.nc.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(c.buf)-c.r < watchBufferLimit {
			c.reserve(0)
			n, err := c.nc.Read(c.buf[len(c.buf):cap(c.buf)])
			c.buf = c.buf[:len(c.buf)+n]
			switch {
			case err == nil:
			case errors.Is(err, os.ErrDeadlineExceeded):
				if c.stopped() {
					return
				}
			default:
				c.gone = true
				onClose()
				return
			}
		}
	}()
	return func() {
		c.watchMu.Lock()
		c.stopping.Store(true)
		c.nc.SetReadDeadline(time.Now())
		c.watchMu.Unlock()
		<-done
		c.stopping.Store(false)
		c.nc.SetReadDeadline(time.Time{})
	}
}

// stopped tells a watch whose read hit a deadline whether stop set it; if not, it clears the
// deadline so the watch reads on. Both happen under watchMu, so stop cannot slip in between.
func (c *clientConn) stopped() bool {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.stopping.Load() {
		return true
	}
	c.nc.SetReadDeadline(time.Time{})
	return false
}
