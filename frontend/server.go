package frontend

import (
	"context"
	"errors"
	"io"
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
	// EventLoop serves clients whose Session is an Awaiter from event loops (Linux, TCP)
	// instead of a goroutine each: less memory per client and no goroutine hand-off per request.
	EventLoop bool
}

// Server accepts clients and serves each with a Session from its Handler.
type Server struct {
	handler Handler
	limits  Limits
	log     *slog.Logger
	full    []byte // the reply to a client over MaxConnections

	closing  atomic.Bool
	expired  atomic.Bool // a shutdown's drain time is up: clients still waiting are answered
	mu       sync.Mutex
	listener net.Listener
	conns    connSet
	loops    []*loop
	// acceptFile is the listener's socket as the loops accept on it; closed with the listener.
	acceptFile io.Closer
	done       sync.WaitGroup       // one per live connection
	lastID     atomic.Uint64        // the ID of the last client accepted
	lastTurn   atomic.Pointer[turn] // the turn of the client last moved off a loop

	Accepted atomic.Int64 // clients served since start (those over MaxConnections are not)
	Rejected atomic.Int64 // connections refused over MaxConnections
	Moved    atomic.Int64 // clients moved off an event loop to a goroutine (Block)
	Rejoined atomic.Int64 // moved clients handed back to their event loop
}

// New returns a server; call Serve to start it. full is what a client over MaxConnections
// reads before it is closed, in the protocol's words.
func New(h Handler, limits Limits, full []byte, log *slog.Logger) *Server {
	return &Server{handler: h, limits: limits, full: full, log: log}
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
	if s.limits.WriteTimeout > 0 || s.limits.IdleTimeout > 0 {
		go s.sweep()
	}
	if s.limits.EventLoop {
		if looped, err := s.serveLoops(l); looped || err != nil {
			return err
		}
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
		if backoff = s.pause(backoff, err); err != nil {
			continue
		}
		s.start(nc)
	}
}

// pause backs off after a failed accept, doubling from 5ms to a second, instead of spinning
// (out of file descriptors, say). It returns the next backoff: 0 after a success.
func (s *Server) pause(backoff time.Duration, err error) time.Duration {
	if err == nil {
		return 0
	}
	backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
	s.log.Warn("accept failed", "err", err, "retry_in", backoff)
	time.Sleep(backoff)
	return backoff
}

func (s *Server) start(nc net.Conn) {
	s.mu.Lock()
	if s.limits.MaxConnections > 0 && len(s.conns) >= s.limits.MaxConnections {
		s.mu.Unlock()
		s.Rejected.Add(1)
		nc.Write(s.full)
		nc.Close()
		return
	}
	c := newClientConn(s, s.lastID.Add(1), nc)
	s.conns.add(c)
	s.done.Add(1)
	s.mu.Unlock()
	s.Accepted.Add(1)
	go c.serve()
}

// served is a connection the server tracks, however it is served.
type served interface {
	RemoteAddr() string
	wake() // make it notice a shutdown
	kill() // close it at once
	// expired says why the connection should be closed now ("" when it should not).
	expired(now int64, l Limits) string
	place() *inSet // in the server's connSet
}

// sweep closes clients whose write has been stuck longer than the write timeout (they stopped
// reading their replies) and, on event loops, clients idle past the idle timeout. One ticker
// for all clients costs less than a deadline on every write.
func (s *Server) sweep() {
	every := min(s.limits.WriteTimeout, s.limits.IdleTimeout)
	if every <= 0 {
		every = max(s.limits.WriteTimeout, s.limits.IdleTimeout)
	}
	tick := time.NewTicker(min(max(every/4, 5*time.Millisecond), time.Second))
	defer tick.Stop()
	for now := range tick.C {
		if s.closing.Load() {
			return
		}
		for i := 0; ; i++ {
			c := s.at(i)
			if c == nil {
				break
			}
			if why := c.expired(now.UnixNano(), s.limits); why != "" {
				s.log.Warn("closing a client", "client", c.RemoteAddr(), "why", why)
				c.kill()
			}
		}
	}
}

// at returns the i-th connection, nil past the last. Walking the connections with it copies
// none: one that ends meanwhile moves the last into its place, which the walk then misses (the
// next sweep sees it).
func (s *Server) at(i int) served {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.conns) {
		return nil
	}
	return s.conns[i]
}

// snapshot lists the connections. Their methods are called without s.mu: a connection may
// take its own lock and then s.mu (to forget itself).
func (s *Server) snapshot() []served {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]served(nil), s.conns...)
}

// swap puts c in old's place (old nil: c is new and already added to done).
func (s *Server) swap(old, c served) {
	s.mu.Lock()
	if old != nil {
		s.conns.replace(old, c)
	} else {
		s.conns.add(c)
	}
	s.mu.Unlock()
}

func (s *Server) forget(c served) {
	s.mu.Lock()
	s.conns.remove(c)
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
	for _, c := range s.snapshot() {
		c.wake()
	}
	drained := make(chan struct{})
	go func() { s.done.Wait(); close(drained) }()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
	}
	// Clients still blocked (BLPOP 0) get an error reply, not just a closed connection: their
	// waits end, their replies are written, and only then is every connection closed.
	s.expired.Store(true)
	for _, c := range s.snapshot() {
		c.wake()
	}
	select {
	case <-drained:
	case <-time.After(expiredGrace):
	}
	s.Close()
	<-drained
	return ctx.Err()
}

// expiredGrace is how long a shutdown whose drain time is up lets blocked clients' error
// replies be written before it closes every connection.
const expiredGrace = 200 * time.Millisecond

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.stopAccepting()
	for _, c := range s.snapshot() {
		c.kill()
	}
	return nil
}

func (s *Server) stopAccepting() {
	s.closing.Store(true)
	s.mu.Lock()
	if s.listener != nil {
		s.listener.Close()
	}
	if s.acceptFile != nil {
		s.acceptFile.Close()
	}
	s.mu.Unlock()
}

// Counts returns the clients s serves now and those it has admitted since it started (over
// max_clients ones are not), or zeros for a nil s (no front end).
func (s *Server) Counts() (connected, total int64) {
	if s == nil {
		return 0, 0
	}
	return int64(s.Clients()), s.Accepted.Load()
}
