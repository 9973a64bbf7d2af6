package mcserver

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/mcproto"
)

// requests is what the parser hands each request to: a Session, or a test's stand-in. See
// frontend.Session for Flush and Close.
type requests interface {
	// Dispatch starts one request. req and its slices are only valid during the call; the
	// reply is queued and written by the next Flush.
	Dispatch(req *mcproto.Request) frontend.Action
	// Reject queues the reply to a request memcached would refuse. When e.Delete is set, req
	// names the key whose stored value memcached would drop too. It may return frontend.Block
	// as Dispatch does.
	Reject(e *mcproto.Error, req *mcproto.Request) frontend.Action
	Flush(dst []byte, spill func([]byte) error) ([]byte, error)
	Close()
}

// Limits bound what one client can send.
type Limits struct {
	Request mcproto.Limits
	Conn    frontend.Limits
}

// New returns a server of m's clients; call Serve on it to start.
func New(m *Memcache, limits Limits, log *slog.Logger) *frontend.Server {
	return newServer(func(c frontend.Client) requests { return m.NewSession(c) }, limits, log)
}

// newServer serves clients with the sessions newSession makes (New's, or a test's).
func newServer(newSession func(frontend.Client) requests, limits Limits, log *slog.Logger) *frontend.Server {
	full := []byte("SERVER_ERROR Too many open connections\r\n")
	return frontend.New(sessions{newSession, limits, new(sync.Pool)}, limits.Conn, full, log)
}

// sessions is the frontend.Handler of a server: it wraps each client's Session in a parser.
type sessions struct {
	newSession func(frontend.Client) requests
	limits     Limits
	free       *sync.Pool // awaitSessions shed, with their parsers' buffers
}

// NewSession wraps the client's Session in a parser; for an event loop, one shed by another
// client between its requests.
func (h sessions) NewSession(c frontend.Client) frontend.Session {
	sess := h.newSession(c)
	a, ok := sess.(awaiter)
	if !ok {
		return &session{requests: sess, limits: h.limits.Request}
	}
	s, _ := h.free.Get().(*awaitSession)
	if s == nil {
		s = &awaitSession{free: h.free}
	}
	s.requests, s.limits, s.a = sess, h.limits.Request, a
	return s
}

// awaiter is a Session an event loop can serve (see frontend.Awaiter).
type awaiter interface {
	Await(w frontend.Waker) (pending, ok bool)
	Loopable() bool
	Shed() (keep any, shed bool)
}

// awaitSession is a session for an Awaiter, which an event loop can serve.
type awaitSession struct {
	session
	a    awaiter
	free *sync.Pool
}

func (s *awaitSession) Await(w frontend.Waker) (bool, bool) { return s.a.Await(w) }
func (s *awaitSession) Loopable() bool                      { return s.a.Loopable() }

// Shed implements frontend.Awaiter: when the Session gives itself up, the parser
// waits in the free list for another client.
func (s *awaitSession) Shed() (any, bool) {
	keep, shed := s.a.Shed()
	if !shed {
		return nil, false
	}
	s.requests, s.a = nil, nil
	s.parser.Forget(&s.req)
	s.free.Put(s)
	return keep, true
}

// session parses the text protocol for the Session it wraps.
type session struct {
	requests
	parser mcproto.Parser
	req    mcproto.Request
	limits mcproto.Limits
}

// Dispatch implements frontend.Session. A refused request is answered as memcached answers it:
// most keep the connection (a too-large value's bytes are swallowed, not parsed as commands),
// a few close it.
func (s *session) Dispatch(buf []byte) (int, int, frontend.Action, error) {
	n, err := s.parser.Parse(buf, s.limits, &s.req)
	if err != nil {
		return s.reject(err)
	}
	if n == 0 {
		return 0, 0, frontend.Continue, nil
	}
	action := s.requests.Dispatch(&s.req)
	if action == frontend.Block {
		return 0, 0, action, nil // the goroutine the client moves to parses it again
	}
	return n, 0, action, nil
}

func (s *session) reject(err error) (int, int, frontend.Action, error) {
	var e *mcproto.Error
	if !errors.As(err, &e) || e.Close || e.Skip <= 0 {
		var reply []byte
		if e != nil {
			reply = e.AppendReply(nil)
		}
		return 0, 0, frontend.Continue, &frontend.FatalError{Reply: reply, Err: err}
	}
	if s.requests.Reject(e, &s.req) == frontend.Block {
		return 0, 0, frontend.Block, nil // the goroutine the client moves to parses it again
	}
	return e.Skip, 0, frontend.Continue, nil
}
