// Package respserver is discoh's Redis-protocol front end: it splits a client's input into RESP
// requests within hard limits and hands each, as arguments, to a Session (package proxy). The
// connections themselves are served by package frontend.
package respserver

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/resp"
)

// Handler makes a Session for each client connection.
type Handler interface {
	NewSession(c frontend.Client) Session
}

// Session is one Redis client's state: its protocol version, name, transaction, pinned
// connections. See frontend.Session for Flush, Relay and Close.
type Session interface {
	// Dispatch starts one request. args and raw point into the read buffer and are only valid
	// during the call; the reply is queued and written by the next Flush.
	Dispatch(args [][]byte, raw []byte) frontend.Action
	Flush(dst []byte, spill func([]byte) error) ([]byte, error)
	Relay(nc net.Conn, pending []byte) error
	Close()
}

// Limits bound what one client can send and make discoh hold.
type Limits struct {
	Request         resp.Limits
	MaxRequestBytes int // largest request, all arguments together
	Conn            frontend.Limits
}

// New returns a server of RESP clients; call Serve on it to start.
func New(h Handler, limits Limits, log *slog.Logger) *frontend.Server {
	full := resp.AppendError(nil, "ERR max number of clients reached")
	return frontend.New(handler{h, &limits}, limits.Conn, full, log)
}

type handler struct {
	h      Handler
	limits *Limits
}

// NewSession makes one allocation per client of the session and its front end: thousands of
// idle clients hold little more than that.
func (h handler) NewSession(c frontend.Client) frontend.Session {
	sess := h.h.NewSession(c)
	if a, ok := sess.(Awaiter); ok {
		return &awaitSession{session: session{Session: sess, limits: h.limits}, a: a, client: c}
	}
	return &session{Session: sess, limits: h.limits}
}

// Awaiter is a Session an event loop can serve (see frontend.Awaiter).
type Awaiter interface {
	Await(w frontend.Waker) (pending, ok bool)
	// MayBlock reports whether dispatching the request args may wait for anything but the
	// replies of the calls it sends.
	MayBlock(args [][]byte) bool
}

// session parses RESP for the Session it wraps.
type session struct {
	Session
	parser resp.Parser
	limits *Limits
	looped Awaiter // set while an event loop serves the session: asked which requests Block
}

// awaitSession is a session for an Awaiter: on an event loop, a request that may block is
// returned as frontend.Block for a goroutine to dispatch.
type awaitSession struct {
	session
	a      Awaiter
	client frontend.Client
}

func (s *awaitSession) Await(w frontend.Waker) (bool, bool) { return s.a.Await(w) }

func (s *awaitSession) Dispatch(buf []byte) (int, int, frontend.Action, error) {
	s.looped = nil
	if s.client.Looped() {
		s.looped = s.a
	}
	return s.session.Dispatch(buf)
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
	if s.looped != nil && s.looped.MayBlock(args) {
		return 0, 0, frontend.Block, nil
	}
	action := s.Session.Dispatch(args, buf[:n])
	if action == frontend.Hijack {
		return 0, 0, action, nil
	}
	return n, 0, action, nil
}

func fatal(msg string) *frontend.FatalError {
	return &frontend.FatalError{Reply: resp.AppendError(nil, msg), Err: fmt.Errorf("respserver: %s", msg)}
}
