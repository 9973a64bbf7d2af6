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
	// this request on to the session's Relay (SUBSCRIBE: the client now talks to one server).
	// Only a Hijacker returns it.
	Hijack
	// Block is what a Session served by an event loop returns, before dispatching, for a
	// request that may block (a transaction, a blocking command, a subscription): the
	// connection moves to a goroutine of its own, which dispatches the request again.
	Block
	// EndBatch is Continue, except that the batch ends with this request: its replies are
	// written before more requests are dispatched. A session returns it to bound the reply
	// bytes it holds for a client that pipelines many large replies.
	EndBatch
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
	// Close releases what the session holds. It is called once, when the connection ends.
	Close()
}

// Hijacker is a Session that may take its connection over (see Hijack).
type Hijacker interface {
	Session
	// Relay takes over the connection after Hijack; pending holds the request that hijacked
	// and every byte read after it. It returns an error when either side closes, or nil and
	// the bytes to go on with when the client leaves the mode it hijacked for (a subscriber
	// that unsubscribed from everything).
	Relay(nc net.Conn, pending []byte) (rest []byte, err error)
}

// Awaiter is a Session an event loop can serve: its replies complete without a goroutine
// waiting for them. A Session that is not one is always served by a goroutine.
type Awaiter interface {
	Session
	// Await is called after a batch was dispatched. ok false means some queued reply cannot be
	// awaited; the connection then moves to a goroutine, which Flushes. Otherwise, if pending,
	// w.Ready runs once, on the goroutine that completes the last outstanding reply (possibly
	// before Await returns). When not pending, Flush does not block.
	Await(w Waker) (pending, ok bool)
	// Loopable reports whether the session holds nothing a goroutine must wait on (a
	// transaction, watched keys, a connection of its own), so that a client which moved to a
	// goroutine may go back to an event loop.
	Loopable() bool
	// Shed is called by an event loop between batches, when none of the client's requests is
	// in flight or waiting to be read. A session that holds nothing a goroutine must keep (a
	// transaction, connections of its own) gives itself up to be reused and reports shed: it
	// is not called again, and the client's next request gets a new Session from the Handler,
	// which finds keep (small state the client set, such as a protocol version or a name; nil
	// for none) in Client.Kept. So a client between requests costs little more than its socket.
	Shed() (keep any, shed bool)
}

// Waker is told when the replies an Awaiter was waiting for are in. slow means Flush may still
// block (a failed call is retried elsewhere), so it must not run on the goroutine calling Ready.
type Waker interface{ Ready(slow bool) }

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
	// ID is the client's number, unique among the server's clients since it started (CLIENT
	// ID), and the same for every Session the client is served with.
	ID() uint64
	RemoteAddr() string
	// Watch reports the client hanging up while the session waits on something long, such as
	// a blocking command: onClose runs if the client closes before stop is called. Bytes the
	// client sends meanwhile are kept for the next read. It may run during Dispatch: the bytes
	// already read are never moved, so the request's arguments stay as they were.
	Watch(onClose func()) (stop func())
	// Looped reports whether an event loop serves the connection: its Session must not block
	// while dispatching and returns Block for any request that might.
	Looped() bool
	// Kept returns what the client's last shed Session kept (see Awaiter.Shed), or nil.
	Kept() any
}
