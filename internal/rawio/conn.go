package rawio

import (
	"cmp"
	"io"
	"net"
	"syscall"
)

// Conn reads and writes a connection's socket with Read and Write, waiting in the runtime's
// poller (so deadlines hold) only when the socket is not ready. A connection without a socket
// is read and written as usual.
type Conn struct {
	nc  net.Conn
	raw syscall.RawConn
}

// NewConn returns a Conn for nc.
func NewConn(nc net.Conn) Conn {
	c := Conn{nc: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	return c
}

// Read reads into p, as net.Conn's Read does.
func (c Conn) Read(p []byte) (int, error) {
	if c.raw == nil {
		return c.nc.Read(p)
	}
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, rerr = Read(int(fd), p)
		return rerr != ErrAgain
	})
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
func (c Conn) Write(p []byte) (int, error) {
	if c.raw == nil {
		return c.nc.Write(p)
	}
	written := 0
	for written < len(p) {
		var n int
		var werr error
		err := c.raw.Write(func(fd uintptr) bool {
			n, werr = Write(int(fd), p[written:])
			return werr != ErrAgain
		})
		if err = cmp.Or(err, werr); err != nil {
			return written, err
		}
		written += n
	}
	return written, nil
}
