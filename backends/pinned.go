package backends

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/discoh/discoh/internal/rawio"
)

// Pinned is a pipelined connection used by one client alone: for WATCH state, which lives on a
// connection, and for blocking commands, which would hold up everyone on a shared one.
type Pinned struct {
	c *conn
	s *Server
}

// pins is what a server keeps for pinned connections: one spare connection per lane, dialled
// and handshaken ahead, so a client's first blocking command is written at once rather than
// after a dial; and the lock that writes blocking calls in the order they were made.
type pins struct {
	mu        sync.Mutex
	spare     [lanes]net.Conn
	refilling [lanes]atomic.Bool

	order sync.Mutex // held from taking a connection until the blocking call is written
}

// Pin returns a connection for the caller's use alone. timeout bounds each reply as on shared
// connections; 0 lets a reply take as long as it takes (a blocking command's own timeout rules).
func (s *Server) Pin(lane int, timeout time.Duration) (*Pinned, error) {
	nc := s.takeSpare(lane)
	if nc == nil {
		var err error
		if nc, err = s.DialRaw(lane); err != nil {
			return nil, err
		}
	}
	s.refillSpare(lane)
	return &Pinned{c: newConn(nc, s.opts, timeout, &s.slowCalls), s: s}, nil
}

// takeSpare returns the lane's spare connection if it is still quiet: one the server closed
// meanwhile (a restart, its idle timeout) is dropped, not handed to a client.
func (s *Server) takeSpare(lane int) net.Conn {
	s.pins.mu.Lock()
	nc := s.pins.spare[lane]
	s.pins.spare[lane] = nil
	s.pins.mu.Unlock()
	if nc != nil && !rawio.Quiet(nc) {
		nc.Close()
		return nil
	}
	return nc
}

// refillSpare dials the lane's next spare in the background, one dial at a time; a dial that
// fails leaves none, and the next Pin dials for itself.
func (s *Server) refillSpare(lane int) {
	if !s.pins.refilling[lane].CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.pins.refilling[lane].Store(false)
		nc, err := s.DialRaw(lane)
		if err != nil {
			return
		}
		s.pins.mu.Lock()
		if s.closed.Load() || s.pins.spare[lane] != nil {
			s.pins.mu.Unlock()
			nc.Close()
			return
		}
		s.pins.spare[lane] = nc
		s.pins.mu.Unlock()
	}()
}

func (s *Server) closeSpares() {
	s.pins.mu.Lock()
	defer s.pins.mu.Unlock()
	for lane, nc := range s.pins.spare {
		if nc != nil {
			nc.Close()
			s.pins.spare[lane] = nil
		}
	}
}

// Block writes a blocking call on p, or on a new pinned connection when p is nil or broken, and
// returns the connection used. Calls to one server are written in the order Block was called,
// each before Block returns, so clients blocked on one key are served in the order they came,
// as they would be by Redis itself, whichever of them had a connection ready.
func (s *Server) Block(p *Pinned, lane int, call *Call) (*Pinned, error) {
	if !s.Up() && (p == nil || p.Broken()) {
		return nil, s.downError() // no dial, under the lock, to a server known to be down
	}
	s.pins.order.Lock()
	defer s.pins.order.Unlock()
	if p == nil || p.Broken() {
		var err error
		if p, err = s.Pin(lane, 0); err != nil {
			return nil, err
		}
	}
	call.Server = s
	s.Requests.Add(1)
	p.c.writeNow(call)
	return p, nil
}

// Send queues call on the pinned connection.
func (p *Pinned) Send(call *Call) {
	call.Server = p.s
	p.s.Requests.Add(1)
	p.c.send(call)
}

// Close closes the connection; a call in flight ends with ErrClosed.
func (p *Pinned) Close() { p.c.close() }

// Broken reports whether the connection has failed; a broken one must be replaced.
func (p *Pinned) Broken() bool { return p.c.broken() }
