// Package frontend serves client connections for a protocol front end (respserver, mcserver):
// it accepts within limits, reads pipelined input, lets a Session consume it request by request,
// writes the replies back in order with one write per batch, and shuts down by draining. What
// the bytes mean is the Session's business.
package frontend

import "net"

// Action tells the connection loop what to do after a request was dispatched.
type Action int

const (
	// Continue reads and dispatches the next request.
	Continue Action = iota
	// CloseAfter writes the replies queued so far and closes the connection (QUIT).
	CloseAfter
	// Hijack writes the replies queued so far, then hands the connection and every byte from
	// this request on to Session.Relay (SUBSCRIBE: the client now talks to one server).
	Hijack
)

// Handler makes a Session for each client connection.
type Handler interface {
	NewSession(c Client) Session
}

// Session is one client's protocol state.
type Session interface {
	// Dispatch starts the first request in buf and returns the bytes it consumed. When buf
	// holds only part of a request it returns 0 and need, the request's whole size when known
	// (0 otherwise). consumed may exceed len(buf): the rest is discarded as it arrives (the
	// value of an item too large to store). A *FatalError ends the connection after the
	// replies queued so far and its own reply are written. With Hijack, consumed is 0.
	Dispatch(buf []byte) (consumed, need int, action Action, err error)
	// Flush waits for every queued reply and appends them, in order, to dst. When dst grows
	// large it hands it to spill (which writes it to the client) and continues with dst[:0].
	Flush(dst []byte, spill func([]byte) error) ([]byte, error)
	// Relay takes over the connection after Hijack; pending holds the request that hijacked
	// and every byte read after it. It returns when either side closes.
	Relay(nc net.Conn, pending []byte) error
	// Close releases what the session holds. It is called once, when the connection ends.
	Close()
}

// FatalError is a protocol error after which the connection cannot go on (the input can no
// longer be split into requests). Reply is written to the client before it is closed.
type FatalError struct {
	Reply []byte
	Err   error
}

func (e *FatalError) Error() string { return e.Err.Error() }
func (e *FatalError) Unwrap() error { return e.Err }

// Client is what a Session may ask of its connection.
type Client interface {
	RemoteAddr() string
	// Watch reports the client hanging up while the session waits on something long, such as
	// a blocking command: onClose runs if the client closes before stop is called. Bytes the
	// client sends meanwhile are kept for the next read.
	Watch(onClose func()) (stop func())
}
