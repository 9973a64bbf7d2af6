package rawio

import (
	"cmp"
	"io"
	"net"
	"syscall"
)

// Conn reads and writes a connection's socket with Read and Write, waiting in the runtime's
// poller (so deadlines hold) only when the socket is not ready. A connection without a socket
// is read and written as usual. One Read and one Write may run at once, as on a net.Conn; the
// callbacks handed to the runtime are made once, so neither allocates.
type Conn struct {
	nc  net.Conn
	raw syscall.RawConn

	rbuf   []byte
	rn     int
	rerr   error
	readFn func(uintptr) bool

	peek   [1]byte
	waitFn func(uintptr) bool

	wbuf    []byte
	wn      int
	werr    error
	writeFn func(uintptr) bool
}

// NewConn returns a Conn for nc.
func NewConn(nc net.Conn) *Conn {
	c := &Conn{nc: nc}
	if sc, ok := nc.(syscall.Conn); ok && rawSockets {
		c.raw, _ = sc.SyscallConn()
	}
	c.readFn, c.writeFn, c.waitFn = c.readOnce, c.writeOnce, c.readableOnce
	return c
}

func (c *Conn) readableOnce(fd uintptr) bool { return readable(int(fd), &c.peek) }

// WaitReadable waits in the runtime's poller, within the read deadline, until the socket has
// input, or its end, to read: a caller waiting on a quiet client need not hold a buffer for the
// Read that follows. Where the socket cannot be peeked at (a connection without one, systems
// other than Linux), it returns at once and Read waits instead.
func (c *Conn) WaitReadable() error {
	if c.raw == nil {
		return nil
	}
	return c.raw.Read(c.waitFn)
}

func (c *Conn) readOnce(fd uintptr) bool {
	c.rn, c.rerr = Read(int(fd), c.rbuf)
	return c.rerr != ErrAgain
}

func (c *Conn) writeOnce(fd uintptr) bool {
	c.wn, c.werr = Write(int(fd), c.wbuf)
	return c.werr != ErrAgain
}

// Read reads into p, as net.Conn's Read does.
func (c *Conn) Read(p []byte) (int, error) {
	if c.raw == nil {
		return c.nc.Read(p)
	}
	c.rbuf = p
	err := c.raw.Read(c.readFn)
	n, rerr := c.rn, c.rerr
	c.rbuf, c.rerr = nil, nil
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, rerr
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p, as net.Conn's Write does.
func (c *Conn) Write(p []byte) (int, error) {
	if c.raw == nil {
		return c.nc.Write(p)
	}
	written := 0
	for written < len(p) {
		c.wbuf = p[written:]
		err := cmp.Or(c.raw.Write(c.writeFn), c.werr)
		c.wbuf, c.werr = nil, nil
		if err != nil {
			return written, err
		}
		written += c.wn
	}
	return written, nil
}

// Quiet reports whether nc, an idle connection that should have nothing to read, indeed has
// nothing: no input, no end of stream, no error. A connection kept in reserve is checked so
// before use; one whose peer hung up meanwhile is not. Where the socket cannot be peeked at
// (systems other than Linux, connections without one) it reports false.
func Quiet(nc net.Conn) bool {
	readable, ok := peek(nc)
	return ok && !readable
}

// Unread reports whether nc has input (or its end) waiting to be read: a reader that has not
// caught up with its peer. Where the socket cannot be peeked at it reports false.
func Unread(nc net.Conn) bool {
	readable, ok := peek(nc)
	return ok && readable
}

// peek reports whether nc's socket has input, its end or an error to read; ok is false where it
// cannot be peeked at.
func peek(nc net.Conn) (has, ok bool) {
	sc, isSocket := nc.(syscall.Conn)
	if !isSocket || !rawSockets || !peekable {
		return false, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	var b [1]byte
	if err := raw.Control(func(fd uintptr) { has = readable(int(fd), &b) }); err != nil {
		return false, false
	}
	return has, true
}
