package frontend

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

const (
	// readChunk is the initial read buffer and the least free space offered to each read.
	readChunk = 16 << 10
	// spillBytes is how much reply data is gathered before it is written out mid-batch.
	spillBytes = 64 << 10
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

	watchMu sync.Mutex // serialises Watch with wake
}

func newClientConn(s *Server, nc net.Conn) *clientConn {
	return &clientConn{srv: s, nc: nc, buf: make([]byte, 0, readChunk)}
}

// RemoteAddr is the client's address.
func (c *clientConn) RemoteAddr() string { return c.nc.RemoteAddr().String() }

func (c *clientConn) serve() {
	c.sess = c.srv.handler.NewSession(c)
	defer func() {
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
	if t := c.srv.limits.IdleTimeout; t > 0 {
		c.nc.SetReadDeadline(time.Now().Add(t))
	}
	n, err := c.nc.Read(c.buf[len(c.buf):cap(c.buf)])
	c.buf = c.buf[:len(c.buf)+n]
	if n > 0 {
		return nil
	}
	return err
}

// reserve moves unparsed input to the front and makes room for need bytes of request (or a
// read chunk), growing the buffer only as far as the request needs.
func (c *clientConn) reserve(need int) {
	unread := len(c.buf) - c.r
	want := max(need, unread+readChunk)
	if c.r > 0 && (c.r == len(c.buf) || cap(c.buf)-len(c.buf) < readChunk) {
		copy(c.buf, c.buf[c.r:])
		c.buf, c.r = c.buf[:unread], 0
	}
	if want > cap(c.buf)-c.r {
		grown := make([]byte, unread, want)
		copy(grown, c.buf[c.r:])
		c.buf, c.r = grown, 0
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
	if cap(c.out) > 4*spillBytes {
		c.out = nil // do not keep one huge reply's buffer for the connection's life
	}
	return nil
}

func (c *clientConn) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if t := c.srv.limits.WriteTimeout; t > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(t))
	}
	_, err := c.nc.Write(b)
	return err
}

// wake interrupts a connection waiting for input so it notices the server is shutting down.
func (c *clientConn) wake() {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	c.nc.SetReadDeadline(time.Now())
}

// Watch reads from the client in the background while the session waits; see Client.
func (c *clientConn) Watch(onClose func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(c.buf)-c.r < watchBufferLimit {
			c.reserve(0)
			n, err := c.nc.Read(c.buf[len(c.buf):cap(c.buf)])
			c.buf = c.buf[:len(c.buf)+n]
			if err == nil {
				continue
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				c.gone = true
				onClose()
			}
			return
		}
	}()
	return func() {
		c.watchMu.Lock()
		c.nc.SetReadDeadline(time.Now())
		c.watchMu.Unlock()
		<-done
		c.nc.SetReadDeadline(time.Time{})
	}
}
