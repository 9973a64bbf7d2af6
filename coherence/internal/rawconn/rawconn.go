// Package rawconn is a minimal client for tests: one TCP connection to a real Redis or
// memcached server, one request at a time, implementing the guard package's doers.
package rawconn

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/resp"
)

// conn is a connection that is redialled after any error, so that a request cut short never
// leaves a reply for the next one.
type conn struct {
	addr string
	mu   sync.Mutex
	nc   net.Conn
	buf  []byte
}

// roundTrip writes req and reads until frame says a whole reply is in the buffer.
func (c *conn) roundTrip(ctx context.Context, req []byte, frame func([]byte) (int, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reply, err := c.exchange(ctx, req, frame)
	if err != nil && c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
	return reply, err
}

func (c *conn) exchange(ctx context.Context, req []byte, frame func([]byte) (int, error)) ([]byte, error) {
	if c.nc == nil {
		nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return nil, err
		}
		c.nc, c.buf = nc, c.buf[:0]
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	c.nc.SetDeadline(deadline)
	if _, err := c.nc.Write(req); err != nil {
		return nil, err
	}
	return c.read(frame)
}

func (c *conn) read(frame func([]byte) (int, error)) ([]byte, error) {
	c.buf = c.buf[:0]
	chunk := make([]byte, 16<<10)
	for {
		n, err := frame(c.buf)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return append([]byte(nil), c.buf[:n]...), nil
		}
		m, err := c.nc.Read(chunk)
		c.buf = append(c.buf, chunk[:m]...)
		if err != nil && m == 0 {
			return nil, err
		}
	}
}

func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

// Redis is a guard.RedisDoer over one connection.
type Redis struct{ c conn }

// NewRedis returns a client of the Redis server at addr; it dials on first use.
func NewRedis(addr string) *Redis { return &Redis{c: conn{addr: addr}} }

// Do sends one command; key is ignored (there is one server).
func (r *Redis) Do(ctx context.Context, _ []byte, args ...[]byte) ([]byte, error) {
	return r.c.roundTrip(ctx, resp.AppendCommand(nil, args...), resp.ScanReply)
}

// Close closes the connection.
func (r *Redis) Close() { r.c.close() }

// Memcache is a guard.MemcacheDoer over one connection.
type Memcache struct{ c conn }

// NewMemcache returns a client of the memcached server at addr; it dials on first use.
func NewMemcache(addr string) *Memcache { return &Memcache{c: conn{addr: addr}} }

// Do sends one request; key is ignored (there is one server).
func (m *Memcache) Do(ctx context.Context, _ []byte, req []byte, kind mcproto.Kind) ([]byte, error) {
	return m.c.roundTrip(ctx, req, func(b []byte) (int, error) { return mcproto.ScanResponse(b, kind) })
}

// Close closes the connection.
func (m *Memcache) Close() { m.c.close() }
