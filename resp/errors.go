package resp

import (
	"errors"
	"fmt"
)

// ProtocolError is a malformed or over-limit client request. Its Error text is exactly the error
// line Redis 7 sends before closing the connection (without the leading '-'), so a server can
// reply with it verbatim; the connection cannot be used after one.
type ProtocolError struct {
	Reason string // the text after "ERR Protocol error: "
	limit  bool   // the request broke one of our Limits, not the protocol
}

// Error returns the error line Redis sends for this error, without the leading '-'.
func (e *ProtocolError) Error() string { return "ERR Protocol error: " + e.Reason }

// Unwrap reports ErrOverLimit for requests rejected by a configured Limits field.
func (e *ProtocolError) Unwrap() error {
	if e.limit {
		return ErrOverLimit
	}
	return nil
}

// The protocol errors Redis itself reports, as sentinels for errors.Is. Their text has no
// "resp:" prefix because clients see it.
var (
	ErrInvalidMultibulkLength = &ProtocolError{Reason: "invalid multibulk length"}
	ErrInvalidBulkLength      = &ProtocolError{Reason: "invalid bulk length"}
	ErrTooBigMultibulkCount   = &ProtocolError{Reason: "too big mbulk count string"}
	ErrTooBigBulkCount        = &ProtocolError{Reason: "too big bulk count string"}
	ErrTooBigInline           = &ProtocolError{Reason: "too big inline request"}
	ErrUnbalancedQuotes       = &ProtocolError{Reason: "unbalanced quotes in request"}
)

// ErrOverLimit matches (errors.Is) every *ProtocolError caused by a Limits field rather than by
// malformed input.
var ErrOverLimit = errors.New("resp: request over a configured limit")

// Reply errors. Real servers never send malformed replies, so callers should treat these as fatal
// for the connection.
var (
	ErrMalformedReply = errors.New("resp: malformed reply")
	ErrReplyTooDeep   = fmt.Errorf("resp: reply nested deeper than %d levels", maxReplyDepth)
	ErrIncomplete     = errors.New("resp: incomplete reply")
	ErrWrongType      = errors.New("resp: unexpected reply type")
)

func expectedDollar(got byte) *ProtocolError {
	if got == '\r' || got == '\n' {
		got = ' ' // Redis blanks line breaks out of error replies
	}
	return &ProtocolError{Reason: "expected '$', got '" + string([]byte{got}) + "'"}
}

// tooManyArgs and bulkOverLimit start as Redis words the same refusals (clients and Redis's
// own tests match on it), then say which limit was hit.
func tooManyArgs(limit int) *ProtocolError {
	return &ProtocolError{Reason: fmt.Sprintf("invalid multibulk length (more than %d arguments)", limit), limit: true}
}

func bulkOverLimit(size int64, limit int) *ProtocolError {
	reason := fmt.Sprintf("invalid bulk length (%d bytes over limit %d)", size, limit)
	return &ProtocolError{Reason: reason, limit: true}
}

func malformed(what string, off int) error {
	return fmt.Errorf("%w: %s at byte %d", ErrMalformedReply, what, off)
}

func wrongType(got byte, want string) error {
	return fmt.Errorf("%w: got %q, want %s", ErrWrongType, got, want)
}
