package mcproto

import "errors"

// Sentinel errors of the response side. Request errors are *Error values instead.
var (
	// ErrBadResponse means a backend's reply does not follow the protocol; the connection it
	// came from is out of step and must be closed.
	ErrBadResponse = errors.New("mcproto: malformed response")
	// ErrErrorReply means a get reply is an ERROR, CLIENT_ERROR or SERVER_ERROR line rather
	// than VALUE blocks; the connection is still usable.
	ErrErrorReply = errors.New("mcproto: error reply")
	// ErrNoResponse means the command never gets a reply (quit), or the kind is Unknown.
	ErrNoResponse = errors.New("mcproto: command has no response")
)

// The reply lines memcached 1.6 sends for malformed requests, word for word.
const (
	replyError       = "ERROR"
	replyBadFormat   = "CLIENT_ERROR bad command line format"
	replyBadChunk    = "CLIENT_ERROR bad data chunk"
	replyBadDelta    = "CLIENT_ERROR invalid numeric delta argument"
	replyBadExptime  = "CLIENT_ERROR invalid exptime argument"
	replyDeleteUsage = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"
	replyFlagsLong   = "CLIENT_ERROR options flags too long"
	replyTooLarge    = "SERVER_ERROR object too large for cache"
	// memcached's words when a multi-get outgrows its buffers; used for MaxKeys and for a get
	// line longer than the limits allow.
	replyTooManyKeys = "SERVER_ERROR out of memory writing get response"
	replyLineTooLong = "SERVER_ERROR out of memory reading request"
)

// Error is a request memcached would reject, and what the caller must do about it: send
// Reply (when not empty) followed by "\r\n", discard Skip bytes from the start of the input,
// then either parse on or, when Close is set, close the connection once Reply is written.
type Error struct {
	// Reply is memcached's reply line without "\r\n", such as "CLIENT_ERROR bad data chunk",
	// or "" when memcached sends nothing: the request asked for noreply, or memcached closes
	// the connection silently.
	Reply string
	// Skip is how many input bytes the request covers: its line, plus its data block when
	// memcached swallows one. It can exceed the bytes received so far; the caller discards
	// the rest as it arrives.
	Skip int
	// Close means memcached closes the connection.
	Close bool
	// Delete means memcached also drops the key's stored value (a set or ms refused as too
	// large); the request's Kind and Keys are filled in.
	Delete bool

	msg string // the reason, kept when Reply is empty
}

// Error returns the reason the request was rejected.
func (e *Error) Error() string { return "mcproto: " + e.msg }

// AppendReply appends Reply and "\r\n" to dst, or nothing when Reply is empty.
func (e *Error) AppendReply(dst []byte) []byte {
	if e.Reply == "" {
		return dst
	}
	return append(append(dst, e.Reply...), "\r\n"...)
}

// reject returns the error for a request covering skip bytes. A quiet (noreply) request gets
// no reply, as memcached's out_string suppresses every reply, errors included.
func reject(reply string, skip int, quiet bool) *Error {
	e := &Error{Reply: reply, Skip: skip, msg: reply}
	if quiet {
		e.Reply = ""
	}
	return e
}

// closeConn returns the error for input memcached answers by closing the connection.
func closeConn(reply, msg string) *Error {
	return &Error{Reply: reply, Close: true, msg: msg}
}
