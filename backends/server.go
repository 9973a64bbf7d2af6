package backends

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/discoh/discoh/backends/health"
	"github.com/discoh/discoh/backends/replay"
)

// Lanes separate connections by the protocol spoken on them, so a reply's bytes can go to the
// client unchanged: RESP2 clients use lane 0, RESP3 clients (HELLO 3) lane 1.
const (
	LaneRESP2 = 0
	LaneRESP3 = 1
	lanes     = 2
)

// redialBackoff is how long a connection slot fails fast after a failed dial before it dials
// again: long enough that a dead server costs clients no connect timeouts, short enough that a
// restarted one is back within a second.
const redialBackoff = 500 * time.Millisecond

// Options say how to reach the servers of a pool.
type Options struct {
	Timeout time.Duration // connect, read and write timeout; 0 = none
	Conns   int           // connections per server and lane
	Framer  Framer
	// Answers, when set, reports whether a whole reply can be the answer to the call's request
	// (memcached: a get's VALUE lines name keys it asked for). One that cannot means the
	// connection's replies are out of step: it is closed and its calls fail.
	Answers func(reply, req []byte, kind uint8) bool
	// Handshake runs on a new connection before any call, e.g. AUTH or HELLO 3 on Redis.
	Handshake func(nc net.Conn, lane int, timeout time.Duration) error
}

// Server is one cache server of a pool and its pipelined connections.
type Server struct {
	Addr string
	Name string // the name the ring hashes
	opts *Options

	slots [lanes][]slot

	// With failover (see guard): health decides whether the server takes calls, queue keeps the
	// invalidations it missed while it did not, proto says how to probe and replay.
	health *health.Tracker
	queue  *replay.Queue
	proto  *Protocol

	pins  pins         // connections kept ready for Pin, and the order of blocking calls
	log   *slog.Logger // with failover: health changes and repairs
	watch watchState   // with copy-back: whether it came back restarted or empty

	slowCalls atomic.Int32 // slow calls in flight on its connections (see conn.slow)
	recovered atomic.Int64 // when a connection to it last came back (unix ns); 0 if never lost
	closed    atomic.Bool  // Close was called: a dial finishing after it must not revive a slot

	Requests atomic.Int64 // calls sent
	Failures atomic.Int64 // calls that ended in an error
}

// slot holds one connection and redials it when it breaks.
type slot struct {
	mu        sync.Mutex
	c         *conn
	dialing   bool      // a dial is in progress
	waiting   []*Call   // calls sent while dialing, in order
	downUntil time.Time // fail fast until then after a failed dial
	err       error     // the failed dial's error
}

// NewServer returns a server that dials lazily, on its first call.
func NewServer(addr, name string, opts *Options) *Server {
	s := &Server{Addr: addr, Name: name, opts: opts}
	for lane := range s.slots {
		s.slots[lane] = make([]slot, max(opts.Conns, 1))
	}
	return s
}

// String names the server in errors and logs: "r1 (127.0.0.1:7001)".
func (s *Server) String() string {
	if s.Name == s.Addr || s.Name == "" {
		return s.Addr
	}
	return s.Name + " (" + s.Addr + ")"
}

// Send queues call on the connection picked by pick (e.g. a client's id, so a client's calls to
// one server stay in order). Wait on the call for its reply.
func (s *Server) Send(call *Call, lane int, pick uint64) {
	call.Server = s
	s.Requests.Add(1)
	if !s.Up() && !(call.Write && s.health.Returning()) {
		call.complete(nil, s.downError())
		return
	}
	slots := s.slots[lane]
	sl := &slots[pick%uint64(len(slots))]
	sl.mu.Lock()
	switch {
	case sl.c != nil && !sl.c.broken():
		c := sl.c
		sl.mu.Unlock()
		c.send(call)
		return
	case sl.dialing:
		sl.waiting = append(sl.waiting, call)
		sl.mu.Unlock()
		return
	case time.Now().Before(sl.downUntil) && !s.backSince(sl.downUntil.Add(-redialBackoff)):
		err := sl.err
		sl.mu.Unlock()
		call.complete(nil, err)
		return
	}
	sl.dialing = true
	sl.waiting = append(sl.waiting, call)
	sl.mu.Unlock()
	go s.dialSlot(sl, lane)
}

// SendAside sends call on a connection of its own, dialled for it and closed after its reply,
// even while the server is marked down: a request that must not wait behind the calls on the
// shared connections. SCRIPT KILL is one: the script it stops holds every call behind it.
func (s *Server) SendAside(call *Call) {
	call.Server = s
	s.Requests.Add(1)
	go func() {
		reply, err := s.Reach(context.Background(), Request{Bytes: call.Req, Kind: call.Kind, Frames: call.Frames})
		call.complete(reply, err)
	}()
}

// backSince reports whether the server came back (it was probed and caught up, or a connection
// to it came back) after failed: a dial that failed before then says nothing about it now, and
// failing calls with that error would send a server that just returned straight back down.
func (s *Server) backSince(failed time.Time) bool { return s.recovered.Load() > failed.UnixNano() }

// dialSlot connects the slot and sends the calls that waited for it, in the order they came.
// Senders never wait for a dial: an event loop must not, and a dead server's connect timeout
// would otherwise hold every caller. The queued calls are sent without the slot's lock (a full
// connection queue would hold every sender); calls arriving meanwhile keep queueing behind them,
// and the connection is published only once the queue is empty.
func (s *Server) dialSlot(sl *slot, lane int) {
	c, err := s.dial(lane)
	for {
		sl.mu.Lock()
		waiting := sl.waiting
		sl.waiting = nil
		if err == nil && s.closed.Load() {
			c.close()
			c, err = nil, fmt.Errorf("%w: %s", errClosedHere, s)
		}
		if err == nil && len(waiting) > 0 {
			sl.mu.Unlock()
			for _, call := range waiting {
				c.send(call)
			}
			continue
		}
		if !s.closed.Load() {
			s.settleLocked(sl, c, err)
		}
		sl.dialing = false
		sl.mu.Unlock()
		for _, call := range waiting {
			call.complete(nil, err)
		}
		return
	}
}

func (s *Server) settleLocked(sl *slot, c *conn, err error) {
	if err != nil {
		sl.downUntil, sl.err = time.Now().Add(redialBackoff), err
		return
	}
	if sl.c != nil || sl.err != nil {
		s.recovered.Store(time.Now().UnixNano()) // a connection came back: it may have restarted empty
	}
	sl.c, sl.err = c, nil
	s.noticeFirst()
}

// WarmWindow is how long after a server reconnects or returns its misses are looked up on its
// partner copies: long enough to refill a restarted server's hot keys, short enough that a
// healthy pool does not pay a second lookup for every real miss.
const WarmWindow = time.Minute

// Warming reports whether the server reconnected or returned within the warm window. Once the
// window has passed it forgets the return, so a steady pool costs one atomic load per server.
func (s *Server) Warming() bool {
	r := s.recovered.Load()
	if r == 0 {
		return false
	}
	if time.Since(time.Unix(0, r)) < WarmWindow {
		return true
	}
	s.recovered.CompareAndSwap(r, 0)
	return false
}

func (s *Server) dial(lane int) (*conn, error) {
	nc, err := s.DialRaw(lane)
	if err != nil {
		return nil, err
	}
	c := newConn(nc, s.opts, s.opts.Timeout, &s.slowCalls)
	s.awaitLoss(c)
	return c, nil
}

// errFastFail marks the errors of calls refused because the server is marked down; they say
// nothing new about its health.
var errFastFail = errors.New("marked down")

func (s *Server) downError() error {
	st := s.health.Stats()
	return &downError{since: st.DownSince, next: st.NextProbe, last: st.LastErr}
}

// downError is the error of a call refused while its server is marked down, worded for the
// client: "down since 12:00:01, retrying in 2s (last error: ...)".
type downError struct {
	since, next time.Time
	last        error
}

func (e *downError) Error() string {
	msg := "down since " + e.since.Format(time.TimeOnly)
	switch wait := time.Until(e.next).Round(100 * time.Millisecond); {
	case e.next.IsZero():
		msg += ", checking it now"
	case wait <= 0:
		msg += ", retrying now"
	default:
		msg += ", retrying in " + wait.String()
	}
	if e.last != nil {
		msg += " (last error: " + strings.TrimPrefix(e.last.Error(), "backends: ") + ")"
	}
	return msg
}

func (e *downError) Is(target error) bool { return target == ErrDown || target == errFastFail }

// report tells the health tracker how a call ended. Calls refused while the server is marked
// down and calls on connections discoh closed itself say nothing about whether it is dead; nor
// do calls failed because a reply came out of step (a stray or mistyped reply): the connection
// is closed and a new one is paired afresh, while the server answers. Marking it down would turn
// one stray reply into failed calls for everyone until it is probed again.
func (s *Server) report(err error) {
	switch {
	case err != nil && errors.Is(err, errClosedHere):
		return
	case err != nil:
		s.Failures.Add(1)
	}
	switch {
	case s.health == nil:
	case err == nil:
		s.health.Success()
	case !errors.Is(err, errFastFail) && !outOfStep(err):
		s.health.Failure(err)
	}
}

// outOfStep reports whether err failed a call because its connection's replies came out of
// step with its requests.
func outOfStep(err error) bool { return errors.Is(err, errNoRequest) || errors.Is(err, ErrOutOfStep) }

// Health describes the server for INFO and stats: up, down or returning, and its failures.
func (s *Server) Health() (state string, failures, downs int64) {
	if s.health == nil {
		return "up", 0, 0
	}
	st := s.health.Stats()
	return st.State.String(), st.Failures, st.Downs
}

// ReplayQueue is the number of missed invalidations waiting for the server's return.
func (s *Server) ReplayQueue() int {
	if s.queue == nil {
		return 0
	}
	return s.queue.Len()
}

// ReplayOverflowed reports whether the server missed more invalidations than its queue keeps:
// on its return it is repaired by listing its keys, not by replaying a list.
func (s *Server) ReplayOverflowed() bool {
	return s.queue != nil && s.queue.Overflowed()
}

// DialRaw opens a connection of its own to the server, handshake done, for a caller that uses it
// alone: a transaction, a blocking command, a subscriber.
func (s *Server) DialRaw(lane int) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", s.Addr, s.opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDown, err)
	}
	if s.opts.Handshake != nil {
		if err := s.handshake(nc, lane); err != nil {
			nc.Close()
			return nil, err
		}
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return nc, nil
}

// handshake runs the pool's handshake on a new connection. While the server runs a slow
// command it answers nobody, new connections included: the handshake then gets the slow limit.
func (s *Server) handshake(nc net.Conn, lane int) error {
	timeout := s.opts.Timeout
	if s.slowCalls.Load() > 0 && timeout > 0 {
		timeout = slowLimit(timeout)
	}
	if err := s.opts.Handshake(nc, lane, timeout); err != nil {
		return fmt.Errorf("%w: handshake: %w", ErrDown, err)
	}
	return nil
}

// Connected reports whether the server has at least one live connection.
func (s *Server) Connected() bool {
	for lane := range s.slots {
		for i := range s.slots[lane] {
			sl := &s.slots[lane][i]
			sl.mu.Lock()
			live := sl.c != nil && !sl.c.broken()
			sl.mu.Unlock()
			if live {
				return true
			}
		}
	}
	return false
}

// Close closes the server's connections; calls in flight end with ErrClosed.
func (s *Server) Close() {
	s.abort()
	s.closeGuard()
}

// abort closes the server's connections, failing the calls in flight on them, and refuses new
// calls; its replay queue stays open.
func (s *Server) abort() {
	s.closed.Store(true)
	s.closeSpares()
	for lane := range s.slots {
		for i := range s.slots[lane] {
			sl := &s.slots[lane][i]
			sl.mu.Lock()
			c := sl.c
			sl.c = nil
			sl.downUntil, sl.err = time.Now().Add(time.Hour), fmt.Errorf("%w: %s", errClosedHere, s)
			sl.mu.Unlock()
			if c != nil {
				c.close()
			}
		}
	}
}
