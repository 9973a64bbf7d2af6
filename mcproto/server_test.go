package mcproto

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/discoh/discoh/internal/testproc"
)

// This file starts real memcached processes on free loopback ports, killed when the test
// ends, and talks to them the two ways the comparisons need: directly, and through a
// minimal proxy built from this package.

const (
	ioTimeout = 5 * time.Second
)

func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioTimeout))
	return c.(*net.TCPConn)
}

// direct sends input to memcached, shuts the write side, and returns everything memcached
// sends until it closes the connection.
func direct(t testing.TB, addr string, input []byte) []byte {
	t.Helper()
	c := dial(t, addr)
	if _, err := c.Write(input); err != nil {
		t.Fatalf("writing to memcached: %v", err)
	}
	c.CloseWrite()
	out, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("reading from memcached: %v", err)
	}
	return out
}

// isReset reports a connection memcached closed with unread input: the kernel resets it,
// which is a close all the same.
func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "read"
}

// relay is the smallest proxy this package makes possible: it answers rejected requests
// itself, from the *Error, and sends everything else re-encoded to a backend, whose replies
// it frames with ScanResponse. Its output for any input must equal memcached's own.
type relay struct {
	t       testing.TB
	backend net.Conn
	lim     Limits
	parser  Parser
	req     Request
	rbuf    []byte // backend bytes not yet framed
	out     []byte
}

func newRelay(t testing.TB, addr string, lim Limits) *relay {
	return &relay{t: t, backend: dial(t, addr), lim: lim}
}

// run processes input as a client connection that sends it and then closes.
func (r *relay) run(input []byte) []byte {
	for len(input) > 0 {
		n, err := r.parser.Parse(input, r.lim, &r.req)
		if err != nil {
			skip, closed := r.rejected(err)
			if closed {
				break
			}
			input = input[min(skip, len(input)):]
			continue
		}
		if n == 0 || r.req.Kind == Quit {
			break
		}
		r.forward(input[:n])
		input = input[n:]
	}
	return r.out
}

func (r *relay) rejected(err error) (skip int, closed bool) {
	var e *Error
	if !errors.As(err, &e) {
		r.t.Fatalf("Parse error %v is no *Error", err)
	}
	r.out = e.AppendReply(r.out)
	if e.Delete {
		r.send(deleteLine(r.req.Keys[0]))
	}
	return e.Skip, e.Close
}

// deleteLine is the delete a proxy sends when memcached drops a key along with a value too
// large to store.
func deleteLine(key []byte) []byte {
	return append(append([]byte("delete "), key...), " noreply\r\n"...)
}

func (r *relay) forward(raw []byte) {
	req := &r.req
	switch {
	case req.Kind.IsRetrieval():
		r.send(AppendGetLine(nil, req.Kind, req.Exptime, req.Keys...))
		r.out = append(r.out, r.reencodeValues(r.reply(req.Kind))...)
	case req.Kind.IsStorage():
		r.send(AppendStorage(nil, req, false))
		r.replyUnless(req.Noreply)
	case req.Kind.IsMeta():
		r.forwardMeta()
	default:
		r.send(append(append([]byte(nil), req.Line...), "\r\n"...))
		if !req.Noreply {
			r.out = append(r.out, r.reply(req.Kind)...)
		}
	}
}

// forwardMeta sends a meta command without its q flag and drops what quiet mode hides.
func (r *relay) forwardMeta() {
	line, quiet := StripQuiet(r.req.Line, nil)
	msg := append(line, "\r\n"...)
	if r.req.Kind == MetaSet {
		msg = append(append(msg, r.req.Data...), "\r\n"...)
	}
	r.send(msg)
	resp := r.reply(r.req.Kind)
	if !quiet || !QuietSuppressed(r.req.Kind, resp) {
		r.out = append(r.out, resp...)
	}
}

func (r *relay) replyUnless(noreply bool) {
	resp := r.reply(r.req.Kind)
	if !noreply {
		r.out = append(r.out, resp...)
	}
}

// reencodeValues rebuilds a get reply from NextValue's fields with AppendValue, and checks
// each block against the bytes it came from.
func (r *relay) reencodeValues(resp []byte) []byte {
	var out []byte
	withCas := r.req.Kind == Gets || r.req.Kind == Gats
	for rest := resp; ; {
		v, next, ok, err := NextValue(rest)
		if errors.Is(err, ErrErrorReply) {
			return append(out, rest...)
		}
		if err != nil {
			r.t.Fatalf("NextValue(%q): %v", rest, err)
		}
		if !ok {
			return AppendEnd(out)
		}
		block := AppendValue(nil, v.Key, v.Flags, v.Data, v.Cas, withCas)
		if !bytes.Equal(block, v.Raw) {
			r.t.Fatalf("AppendValue = %q; want the block memcached sent, %q", block, v.Raw)
		}
		out, rest = append(out, block...), next
	}
}

func (r *relay) send(msg []byte) {
	if _, err := r.backend.Write(msg); err != nil {
		r.t.Fatalf("writing to backend: %v", err)
	}
}

// reply reads the backend's next complete reply to a request of kind k.
func (r *relay) reply(k Kind) []byte {
	buf := make([]byte, 64<<10)
	for {
		n, err := ScanResponse(r.rbuf, k)
		if err != nil {
			r.t.Fatalf("ScanResponse(%q, %v): %v", r.rbuf, k, err)
		}
		if n > 0 {
			resp := r.rbuf[:n:n]
			r.rbuf = r.rbuf[n:]
			return resp
		}
		m, err := r.backend.Read(buf)
		if err != nil {
			r.t.Fatalf("reading reply to %v (have %q): %v", k, r.rbuf, err)
		}
		r.rbuf = append(r.rbuf, buf[:m]...)
	}
}

// startMemcached starts a real memcached for the comparison and returns its address.
func startMemcached(t testing.TB) string {
	t.Helper()
	return testproc.Memcached(t, "-m", "16").Addr
}
