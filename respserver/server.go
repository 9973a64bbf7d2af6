package respserver

import (
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/resp"
)

// requests is what the parser hands each request to: a Session, or a test's stand-in. See
// frontend.Session for Flush and Close, frontend.Hijacker for Relay.
type requests interface {
	// Dispatch starts one request. args and raw point into the read buffer and are only valid
	// during the call; the reply is queued and written by the next Flush. A session an event
	// loop serves returns frontend.Block, having done nothing, for a request that may wait for
	// more than the replies of the calls it sends.
	Dispatch(args [][]byte, raw []byte) frontend.Action
	Flush(dst []byte, spill func([]byte) error) ([]byte, error)
	Relay(nc net.Conn, pending []byte) ([]byte, error)
	Close()
}

// Limits bound what one client can send and make discoh hold.
type Limits struct {
	Request         resp.Limits
	MaxRequestBytes int // largest request, all arguments together
	Conn            frontend.Limits
}

// New returns a server of r's clients; call Serve on it to start.
func New(r *Redis, limits Limits, log *slog.Logger) *frontend.Server {
	return newServer(func(c frontend.Client) requests { return r.NewSession(c) }, limits, log)
}

// newServer serves clients with the sessions newSession makes (New's, or a test's).
func newServer(newSession func(frontend.Client) requests, limits Limits, log *slog.Logger) *frontend.Server {
	full := resp.AppendError(nil, "ERR max number of clients reached")
	return frontend.New(sessions{newSession, &limits, new(sync.Pool)}, limits.Conn, full, log)
}

// sessions is the frontend.Handler of a server: it wraps each client's Session in a parser.
type sessions struct {
	newSession func(frontend.Client) requests
	limits     *Limits
	free       *sync.Pool // awaitSessions shed, with their parsers' buffers
}

// NewSession wraps the client's Session in a parser; for an event loop, one shed by another
// client between its requests.
func (h sessions) NewSession(c frontend.Client) frontend.Session {
	sess := h.newSession(c)
	a, ok := sess.(awaiter)
	if !ok {
		return &session{requests: sess, limits: h.limits}
	}
	s, _ := h.free.Get().(*awaitSession)
	if s == nil {
		s = &awaitSession{free: h.free}
	}
	s.requests, s.limits, s.a = sess, h.limits, a
	return s
}

// awaiter is a Session an event loop can serve (see frontend.Awaiter).
type awaiter interface {
	Await(w frontend.Waker) (pending, ok bool)
	Loopable() bool
	Shed() (keep any, shed bool)
}

// session parses RESP for the Session it wraps.
type session struct {
	requests
	parser resp.Parser
	limits *Limits
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
	s.parser.Forget()
	s.free.Put(s)
	return keep, true
}

// Dispatch implements frontend.Session. Protocol errors are fatal, as in Redis: once a request
// is malformed, where the next one starts is unknown.
func (s *session) Dispatch(buf []byte) (int, int, frontend.Action, error) {
	n, args, need, err := s.parser.Parse(buf, s.limits.Request)
	if err != nil {
		return 0, 0, frontend.Continue, fatal(err.Error())
	}
	if n == 0 {
		if max := s.limits.MaxRequestBytes; max > 0 && need > max {
			return 0, 0, frontend.Continue, fatal(fmt.Sprintf("ERR Protocol error: request of %d bytes over limit %d", need, max))
		}
		return 0, need, frontend.Continue, nil
	}
	if len(args) == 0 {
		return n, 0, frontend.Continue, nil
	}
	action := s.requests.Dispatch(args, buf[:n])
	if action == frontend.Hijack || action == frontend.Block {
		return 0, 0, action, nil // the request is dispatched again, or read, by whoever takes over
	}
	return n, 0, action, nil
}

func fatal(msg string) *frontend.FatalError {
	return &frontend.FatalError{Reply: resp.AppendError(nil, msg), Err: fmt.Errorf("respserver: %s", msg)}
}
