package frontend

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lineSession is a fake protocol for testing the connection loop: one request per line.
// "echo X" replies X, "skip N" replies "skipped" and discards the next N bytes, "quit" closes,
// "bad" is a fatal error.
type lineSession struct{ out []byte }

type lineHandler struct{}

func (lineHandler) NewSession(Client) Session { return &lineSession{} }

func (s *lineSession) Dispatch(buf []byte) (int, int, Action, error) {
	line, _, ok := bytes.Cut(buf, []byte("\n"))
	if !ok {
		return 0, 0, Continue, nil
	}
	n := len(line) + 1
	cmd, arg, _ := strings.Cut(string(line), " ")
	switch cmd {
	case "echo":
		s.out = append(s.out, arg+"\n"...)
	case "skip":
		k, _ := strconv.Atoi(arg)
		s.out = append(s.out, "skipped\n"...)
		return n + k, 0, Continue, nil
	case "quit":
		s.out = append(s.out, "bye\n"...)
		return n, 0, CloseAfter, nil
	case "bad":
		return 0, 0, Continue, &FatalError{Reply: []byte("fatal\n"), Err: errors.New("bad")}
	}
	return n, 0, Continue, nil
}

func (s *lineSession) Flush(dst []byte, _ func([]byte) error) ([]byte, error) {
	dst = append(dst, s.out...)
	s.out = s.out[:0]
	return dst, nil
}

func (s *lineSession) Relay(net.Conn, []byte) error { return nil }
func (s *lineSession) Close()                       {}

func serve(t *testing.T, limits Limits) (*Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(lineHandler{}, limits, []byte("full\n"), slog.New(slog.DiscardHandler))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v; want ErrServerClosed", err)
		}
	})
	return srv, l.Addr().String()
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c, bufio.NewReader(c)
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, _ := io.ReadAll(r)
	return string(b)
}

func TestPipelinedRepliesInOrderAndClose(t *testing.T) {
	_, addr := serve(t, Limits{MaxPipeline: 2})
	c, r := dial(t, addr)
	c.Write([]byte("echo a\necho b\necho c\nquit\necho never\n"))
	if got, want := readAll(t, r), "a\nb\nc\nbye\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestSkipDiscardsBytesAcrossReads(t *testing.T) {
	_, addr := serve(t, Limits{})
	c, r := dial(t, addr)
	c.Write([]byte("skip 10\nechoX"))
	time.Sleep(20 * time.Millisecond)
	c.Write([]byte("XXXXXecho after\nquit\n"))
	if got, want := readAll(t, r), "skipped\nafter\nbye\n"; got != want {
		t.Errorf("got %q; want %q (the 10 skipped bytes must not be parsed)", got, want)
	}
}

func TestFatalErrorRepliesThenCloses(t *testing.T) {
	_, addr := serve(t, Limits{})
	c, r := dial(t, addr)
	c.Write([]byte("echo first\nbad\necho never\n"))
	if got, want := readAll(t, r), "first\nfatal\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestMaxConnections(t *testing.T) {
	srv, addr := serve(t, Limits{MaxConnections: 1})
	c1, r1 := dial(t, addr)
	c1.Write([]byte("echo one\n"))
	if line, _ := r1.ReadString('\n'); line != "one\n" {
		t.Fatalf("first client: %q", line)
	}
	_, r2 := dial(t, addr)
	if got := readAll(t, r2); got != "full\n" {
		t.Errorf("second client read %q; want the refusal", got)
	}
	if srv.Rejected.Load() != 1 {
		t.Errorf("Rejected = %d; want 1", srv.Rejected.Load())
	}
}

func TestShutdownClosesIdleClients(t *testing.T) {
	srv, addr := serve(t, Limits{})
	_, r := dial(t, addr)
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := readAll(t, r); got != "" {
		t.Errorf("idle client read %q at shutdown; want a close", got)
	}
}
