package frontend

import (
	"errors"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/discoh/discoh/internal/rawio"
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
	inSet
	srv  *Server
	id   uint64
	nc   net.Conn
	io   *rawio.Conn // nc, read and written without handing the processor off
	sess Session
	input
	out  []byte
	gone bool // the client hung up while watched

	// rejoin, for a client that moved off an event loop, hands it back to the loop (see
	// tryRejoin); calm counts the batches in a row after which its session was Loopable.
	rejoin   func(*clientConn) bool
	calm     int
	rejoined bool // the loop serves the client again: ending this goroutine ends nothing else
	// turn, for a client just moved off its loop, orders its first dispatch after turnAfter's
	// (see turn).
	turn, turnAfter *turn

	writingSince atomic.Int64 // when the write in progress began (unix ns), 0 when none

	watchMu  sync.Mutex  // serialises Watch with wake
	stopping atomic.Bool // a watch is being stopped: its read deadline is not a wake
}

func newClientConn(s *Server, id uint64, nc net.Conn) *clientConn {
	return &clientConn{srv: s, id: id, nc: nc, io: rawio.NewConn(nc)}
}

// RemoteAddr is the client's address ("unknown" for a client moved off an event loop after its
// connection was reset: the runtime could not look its address up).
func (c *clientConn) RemoteAddr() string {
	if a := c.nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return "unknown"
}

// ID implements Client.
func (c *clientConn) ID() uint64 { return c.id }

// Kept implements Client: a goroutine keeps its client's session, so nothing is kept apart.
func (c *clientConn) Kept() any { return nil }

// serve runs a client accepted for a goroutine of its own.
func (c *clientConn) serve() {
	c.sess = c.srv.handler.NewSession(c)
	c.guard((*clientConn).serveLoop)
}

// guard runs run and then ends the connection, also when run panics.
func (c *clientConn) guard(run func(*clientConn)) {
	defer func() {
		if p := recover(); p != nil {
			c.srv.log.Error("client connection panicked; closing it", "client", c.RemoteAddr(),
				"panic", p, "stack", string(debug.Stack()))
		}
		c.endTurn()
		c.nc.Close()
		if !c.rejoined {
			c.sess.Close()
			c.srv.forget(c)
		}
	}()
	run(c)
}

func (c *clientConn) serveLoop() {
	for !c.gone {
		dispatched, action, err := c.dispatchInTurn(c.srv.limits.MaxPipeline)
		if dispatched == 0 && action == Continue && err == nil {
			if c.tryRejoin() {
				return
			}
			if c.fill() != nil {
				return
			}
			continue
		}
		if c.finishBatch(action, err) {
			return
		}
		c.countCalm()
		c.shrink()
	}
}

// rejoinAfter is how many batches in a row a client that moved off its event loop must send
// with its session Loopable before it goes back: a client that often needs a goroutine (a
// transaction every few requests) keeps one instead of moving back and forth.
const rejoinAfter = 64

// countCalm counts the batches after which a moved client's session could be looped again.
func (c *clientConn) countCalm() {
	if c.rejoin == nil {
		return
	}
	if a, ok := c.sess.(Awaiter); ok && a.Loopable() {
		c.calm++
	} else {
		c.calm = 0
	}
}

// tryRejoin hands a moved client back to its event loop once it has been calm long enough and
// has no input left over (with nothing to read, the goroutine would only wait).
func (c *clientConn) tryRejoin() bool {
	if c.rejoin == nil || c.calm < rejoinAfter || len(c.unread()) > 0 || c.skip > 0 || c.srv.closing.Load() {
		return false
	}
	c.calm = 0
	c.rejoined = c.rejoin(c)
	return c.rejoined
}

// finishBatch writes the replies of the requests dispatched and acts on how the batch ended. It
// reports whether the connection is done.
func (c *clientConn) finishBatch(action Action, err error) bool {
	if c.flush() != nil {
		return true
	}
	if fatal := (*FatalError)(nil); errors.As(err, &fatal) {
		c.write(fatal.Reply)
		return true
	}
	switch action {
	case CloseAfter:
		return true
	case Hijack:
		return c.relay()
	}
	return false
}

// relay hands the connection to the session's Relay. When the client leaves the relayed mode
// (a subscriber that unsubscribed from everything), it goes on with what the client sent after.
// A session that hijacks without being a Hijacker has its connection closed.
func (c *clientConn) relay() (done bool) {
	h, ok := c.sess.(Hijacker)
	if !ok {
		c.srv.log.Error("frontend: a session that cannot relay returned Hijack")
		return true
	}
	c.endTurn() // a subscriber dispatches nothing: the client moved after it may go
	rest, err := h.Relay(c.nc, c.buf[c.r:])
	if err != nil {
		return true
	}
	c.releaseReadBuffer()
	if len(rest) > 0 {
		c.buf = rest
	}
	return false
}

// fill reads more input, waiting at most the idle timeout. With no partial request to keep, it
// waits holding no buffer: thousands of quiet clients would otherwise hold 16 KB each.
func (c *clientConn) fill() error {
	if c.srv.closing.Load() {
		return ErrServerClosed
	}
	if err := c.armIdle(); err != nil {
		return err
	}
	if len(c.unread()) == 0 {
		c.releaseReadBuffer()
		if err := c.io.WaitReadable(); err != nil {
			return err
		}
	}
	if c.buf == nil {
		c.buf, c.r = readBuffers.Get().(*[readChunk]byte)[:0], 0
	}
	c.reserve(0)
	n, err := c.io.Read(c.buf[len(c.buf):cap(c.buf)])
	c.buf = c.buf[:len(c.buf)+n]
	if n > 0 {
		return nil
	}
	return err
}

// readBuffers are read buffers of goroutine-served clients, taken for each read.
var readBuffers = sync.Pool{New: func() any { return new([readChunk]byte) }}

// releaseReadBuffer gives a consumed read buffer of the usual size back for another read.
func (c *clientConn) releaseReadBuffer() {
	if cap(c.buf) == readChunk {
		readBuffers.Put((*[readChunk]byte)(c.buf[:readChunk]))
	}
	c.buf, c.r = nil, 0
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
	_, err := c.io.Write(b)
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
	c.watchMu.Lock()
	if !c.srv.closing.Load() { // a shutdown's wake may have set the deadline already
		c.nc.SetReadDeadline(time.Time{})
	}
	c.watchMu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(c.buf)-c.r < watchBufferLimit {
			c.reserveAside()
			n, err := c.nc.Read(c.buf[len(c.buf):cap(c.buf)])
			c.buf = c.buf[:len(c.buf)+n]
			switch {
			case err == nil:
			case errors.Is(err, os.ErrDeadlineExceeded):
				if c.stopped() {
					return
				}
				if c.srv.expired.Load() {
					// The shutdown's drain time is up: end the wait, so the client is
					// answered (an error) before its connection closes.
					onClose()
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

// Looped implements Client: a clientConn has a goroutine of its own.
func (c *clientConn) Looped() bool { return false }

// kill implements served.
func (c *clientConn) kill() { c.nc.Close() }

// expired implements served: idle clients are closed by their read deadline instead.
func (c *clientConn) expired(now int64, l Limits) string {
	if ws := c.writingSince.Load(); l.WriteTimeout > 0 && ws != 0 && now-ws > int64(l.WriteTimeout) {
		return "does not read its replies"
	}
	return ""
}
