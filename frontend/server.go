package frontend

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("frontend: server closed")

// Limits bound what one client can make the server hold or wait for. The protocol's own
// limits (request size, arguments) are its Session's to enforce.
type Limits struct {
	MaxPipeline    int           // requests dispatched before their replies are written
	MaxConnections int           // 0 = unlimited
	IdleTimeout    time.Duration // close a client silent this long; 0 = never
	WriteTimeout   time.Duration // close a client that does not read its replies; 0 = never
}

// Server accepts clients and serves each with a Session from its Handler.
type Server struct {
	handler Handler
	limits  Limits
	log     *slog.Logger
	full    []byte // the reply to a client over MaxConnections

	closing  atomic.Bool
	mu       sync.Mutex
	listener net.Listener
	conns    map[*clientConn]struct{}
	done     sync.WaitGroup // one per live connection

	Accepted atomic.Int64 // connections accepted since start
	Rejected atomic.Int64 // connections refused over MaxConnections
}

// New returns a server; call Serve to start it. full is what a client over MaxConnections
// reads before it is closed, in the protocol's words.
func New(h Handler, limits Limits, full []byte, log *slog.Logger) *Server {
	return &Server{handler: h, limits: limits, full: full, log: log, conns: make(map[*clientConn]struct{})}
}

// Serve accepts connections on l until Shutdown or Close, and then returns ErrServerClosed.
// Temporary accept errors back off instead of spinning.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	s.listener = l
	s.mu.Unlock()
	if s.closing.Load() {
		l.Close()
		return ErrServerClosed
	}
	if t := s.limits.WriteTimeout; t > 0 {
		go s.sweep(t)
	}
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if s.closing.Load() {
			if nc != nil {
				nc.Close()
			}
			return ErrServerClosed
		}
		if err != nil {
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.start(nc)
	}
}

func (s *Server) start(nc net.Conn) {
	s.Accepted.Add(1)
	s.mu.Lock()
	if s.limits.MaxConnections > 0 && len(s.conns) >= s.limits.MaxConnections {
		s.mu.Unlock()
		s.Rejected.Add(1)
		nc.Write(s.full)
		nc.Close()
		return
	}
	c := newClientConn(s, nc)
	s.conns[c] = struct{}{}
	s.done.Add(1)
	s.mu.Unlock()
	go c.serve()
}

// sweep closes clients whose write has been stuck longer than timeout: they stopped reading
// their replies. One ticker for all clients costs less than a deadline on every write.
func (s *Server) sweep(timeout time.Duration) {
	tick := time.NewTicker(min(max(timeout/4, 5*time.Millisecond), time.Second))
	defer tick.Stop()
	for now := range tick.C {
		if s.closing.Load() {
			return
		}
		s.mu.Lock()
		for c := range s.conns {
			if ws := c.writingSince.Load(); ws != 0 && now.UnixNano()-ws > int64(timeout) {
				s.log.Warn("closing a client that does not read its replies", "client", c.RemoteAddr(), "write_timeout", timeout)
				c.nc.Close()
			}
		}
		s.mu.Unlock()
	}
}

func (s *Server) forget(c *clientConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.done.Done()
}

// Clients is the number of connected clients.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown stops accepting, lets every connection finish the requests it has read and write
// their replies, then closes it. If ctx ends first, the rest are closed hard.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopAccepting()
	s.mu.Lock()
	for c := range s.conns {
		c.wake()
	}
	s.mu.Unlock()
	drained := make(chan struct{})
	go func() { s.done.Wait(); close(drained) }()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		s.Close()
		<-drained
		return ctx.Err()
	}
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.stopAccepting()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return nil
}

func (s *Server) stopAccepting() {
	s.closing.Store(true)
	s.mu.Lock()
	if s.listener != nil {
		s.listener.Close()
	}
	s.mu.Unlock()
}
