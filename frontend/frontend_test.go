package frontend

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lineSession is a fake protocol for testing the connection loop: one request per line.
// "echo X" replies X, "skip N" replies "skipped" and discards the next N bytes, "quit" closes,
// "bad" is a fatal error, "later X" replies X from another goroutine a little later, "block X"
// replies "blocked X" once the connection has a goroutine of its own, "hold" and "release"
// likewise set and clear state that keeps it there, "where" replies "loop" or "goroutine",
// "name X" names the session (kept across a shed), "whoami" replies its name and client ID as
// "name#ID".
type lineSession struct {
	client Client
	held   bool   // guarded by mu
	name   string // guarded by mu

	mu    sync.Mutex
	out   []*string     // replies in request order; a "later" one is filled in when it is in
	later chan struct{} // closed when the outstanding "later" reply is in; nil for none
	waker Waker
}

// lineHandler counts the sessions it makes in made.
type lineHandler struct{ made *atomic.Int64 }

func (h lineHandler) NewSession(c Client) Session {
	h.made.Add(1)
	name, _ := c.Kept().(string)
	return &lineSession{client: c, name: name}
}

// laterDelay is how long a "later" reply takes.
const laterDelay = 5 * time.Millisecond

// latersDispatched counts the "later" requests dispatched, for tests that must act while one
// is in flight.
var latersDispatched atomic.Int64

func (s *lineSession) Dispatch(buf []byte) (int, int, Action, error) {
	line, _, ok := bytes.Cut(buf, []byte("\n"))
	if !ok {
		return 0, 0, Continue, nil
	}
	n := len(line) + 1
	cmd, arg, _ := strings.Cut(string(line), " ")
	switch cmd {
	case "echo":
		s.reply(arg + "\n")
	case "skip":
		k, _ := strconv.Atoi(arg)
		s.reply("skipped\n")
		return n + k, 0, Continue, nil
	case "quit":
		s.reply("bye\n")
		return n, 0, CloseAfter, nil
	case "bad":
		return 0, 0, Continue, &FatalError{Reply: []byte("fatal\n"), Err: errors.New("bad")}
	case "hijack": // lineSession is no Hijacker
		return 0, 0, Hijack, nil
	case "watchecho": // echoes its argument, read from the input after a watch read on
		if s.client.Looped() {
			return 0, 0, Block, nil
		}
		raw := line[len(cmd)+1:] // points into the input, as a request's arguments do
		stop := s.client.Watch(func() {})
		time.Sleep(50 * time.Millisecond) // the client sends more meanwhile
		stop()
		s.reply(string(raw) + "\n")
	case "block":
		if s.client.Looped() {
			return 0, 0, Block, nil
		}
		s.reply("blocked " + arg + "\n")
	case "hold", "release": // hold: state that needs a goroutine (MULTI), until release
		if s.client.Looped() {
			return 0, 0, Block, nil
		}
		s.mu.Lock()
		s.held = cmd == "hold"
		s.mu.Unlock()
		s.reply(cmd + "\n")
	case "name":
		s.mu.Lock()
		s.name = arg
		s.mu.Unlock()
		s.reply("ok\n")
	case "whoami":
		s.mu.Lock()
		name := s.name
		s.mu.Unlock()
		s.reply(fmt.Sprintf("%s#%d\n", name, s.client.ID()))
	case "where":
		s.reply(map[bool]string{false: "goroutine\n", true: "loop\n"}[s.client.Looped()])
	case "later":
		latersDispatched.Add(1)
		s.replyLater(arg)
	}
	return n, 0, Continue, nil
}

func (s *lineSession) reply(r string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = append(s.out, &r)
}

// replyLater completes arg's reply on another goroutine; it waits for the one before, so
// replies stay in order.
func (s *lineSession) replyLater(arg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	before, done, slot := s.later, make(chan struct{}), new(string)
	s.later = done
	s.out = append(s.out, slot)
	go func() {
		if before != nil {
			<-before
		}
		time.Sleep(laterDelay)
		s.mu.Lock()
		*slot = arg + "\n"
		var w Waker
		if s.later == done { // the last outstanding reply
			s.later, w, s.waker = nil, s.waker, nil
		}
		s.mu.Unlock()
		close(done)
		if w != nil {
			w.Ready(false)
		}
	}()
}

func (s *lineSession) Await(w Waker) (pending, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.later == nil {
		return false, true
	}
	s.waker = w
	return true, true
}

func (s *lineSession) Flush(dst []byte, _ func([]byte) error) ([]byte, error) {
	s.mu.Lock()
	later := s.later
	s.mu.Unlock()
	if later != nil {
		<-later
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.out {
		dst = append(dst, *r...)
	}
	s.out = s.out[:0]
	return dst, nil
}

func (s *lineSession) Loopable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.held
}

// Shed gives the session up unless it holds state that needs a goroutine; its name is kept.
func (s *lineSession) Shed() (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		return nil, false
	}
	if s.name != "" {
		return s.name, true
	}
	return nil, true
}

func (s *lineSession) Close() {}

// serveFunc starts a server of one kind (see forEachMode).
type serveFunc func(t *testing.T, limits Limits) (*Server, string)

// forEachMode runs test against a server giving each client a goroutine and one serving
// clients from event loops.
func forEachMode(t *testing.T, test func(t *testing.T, serve serveFunc)) {
	for _, loop := range []bool{false, true} {
		name := map[bool]string{false: "goroutines", true: "event_loops"}[loop]
		t.Run(name, func(t *testing.T) {
			test(t, func(t *testing.T, limits Limits) (*Server, string) {
				limits.EventLoop = loop
				return serve(t, limits)
			})
		})
	}
}

func serve(t *testing.T, limits Limits) (*Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(lineHandler{new(atomic.Int64)}, limits, []byte("full\n"), slog.New(slog.DiscardHandler))
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
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		_, addr := serve(t, Limits{MaxPipeline: 2})
		c, r := dial(t, addr)
		c.Write([]byte("echo a\necho b\necho c\nquit\necho never\n"))
		if got, want := readAll(t, r), "a\nb\nc\nbye\n"; got != want {
			t.Errorf("got %q; want %q", got, want)
		}
	})
}

func TestSkipDiscardsBytesAcrossReads(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		_, addr := serve(t, Limits{})
		c, r := dial(t, addr)
		c.Write([]byte("skip 10\nechoX"))
		time.Sleep(20 * time.Millisecond)
		c.Write([]byte("XXXXXecho after\nquit\n"))
		if got, want := readAll(t, r), "skipped\nafter\nbye\n"; got != want {
			t.Errorf("got %q; want %q (the 10 skipped bytes must not be parsed)", got, want)
		}
	})
}

func TestFatalErrorRepliesThenCloses(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		_, addr := serve(t, Limits{})
		c, r := dial(t, addr)
		c.Write([]byte("echo first\nbad\necho never\n"))
		if got, want := readAll(t, r), "first\nfatal\n"; got != want {
			t.Errorf("got %q; want %q", got, want)
		}
	})
}

// TestWatchDuringDispatchKeepsTheRequest: a session may watch its client while it dispatches
// (a coherence wait): what the watch reads meanwhile does not move the bytes of the request
// being dispatched, which its arguments point into.
func TestWatchDuringDispatchKeepsTheRequest(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		_, addr := serve(t, Limits{})
		c, r := dial(t, addr)
		arg := strings.Repeat("x", 100)
		more := strings.Repeat("echo b\n", 20000)
		go c.Write([]byte("echo a\nwatchecho " + arg + "\n" + more + "quit\n"))
		want := "a\n" + arg + "\n" + strings.Repeat("b\n", 20000) + "bye\n"
		if got := readAll(t, r); got != want {
			t.Errorf("got %d bytes, %q...; want %d bytes, %q...", len(got), got[:min(len(got), 120)], len(want), want[:120])
		}
	})
}

// TestHijackWithoutRelayCloses: a session that returns Hijack but cannot relay has its client
// closed after the replies queued before, not left hanging.
func TestHijackWithoutRelayCloses(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		_, addr := serve(t, Limits{})
		c, r := dial(t, addr)
		c.Write([]byte("echo first\nhijack\necho never\n"))
		if got, want := readAll(t, r), "first\n"; got != want {
			t.Errorf("got %q; want %q", got, want)
		}
	})
}

func TestMaxConnections(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
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
	})
}

func TestShutdownClosesIdleClients(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
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
	})
}

func TestRepliesCompletedElsewhereStayInOrder(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		_, addr := serve(t, Limits{MaxPipeline: 3})
		c, r := dial(t, addr)
		c.Write([]byte("echo a\nlater b\necho c\nlater d\nlater e\necho f\nquit\n"))
		if got, want := readAll(t, r), "a\nb\nc\nd\ne\nf\nbye\n"; got != want {
			t.Errorf("got %q; want %q", got, want)
		}
	})
}

func TestBlockMovesTheClientToAGoroutine(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		srv, addr := serve(t, Limits{})
		c, r := dial(t, addr)
		c.Write([]byte("echo a\nlater b\nblock x\necho c\nlater d\n"))
		for _, want := range []string{"a\n", "b\n", "blocked x\n", "c\n", "d\n"} {
			if line, err := r.ReadString('\n'); line != want {
				t.Fatalf("read %q, %v; want %q", line, err, want)
			}
		}
		if n := srv.Clients(); n != 1 {
			t.Errorf("Clients() = %d after the move; want 1", n)
		}
		c.Write([]byte("quit\n"))
		if got := readAll(t, r); got != "bye\n" {
			t.Errorf("read %q after quit; want bye", got)
		}
	})
}

func TestManyClientsAtOnce(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		_, addr := serve(t, Limits{})
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				c, r := dial(t, addr)
				for j := range 20 {
					cmd := "echo"
					if j%3 == 0 {
						cmd = "later"
					}
					want := fmt.Sprintf("%d-%d\n", i, j)
					fmt.Fprintf(c, "%s %s", cmd, want)
					if got, err := r.ReadString('\n'); got != want {
						t.Errorf("client %d read %q, %v; want %q", i, got, err, want)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

func TestShutdownWaitsForRepliesInFlight(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		srv, addr := serve(t, Limits{})
		c, r := dial(t, addr)
		before := latersDispatched.Load()
		c.Write([]byte("later x\n"))
		for latersDispatched.Load() == before { // the request is in flight, not unread
			time.Sleep(100 * time.Microsecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if got := readAll(t, r); got != "x\n" {
			t.Errorf("read %q; want the reply in flight, then a close", got)
		}
	})
}

func TestIdleTimeoutClosesSilentClients(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		_, addr := serve(t, Limits{IdleTimeout: 50 * time.Millisecond})
		c, r := dial(t, addr)
		c.Write([]byte("echo hi\n"))
		start := time.Now()
		if got := readAll(t, r); got != "hi\n" {
			t.Errorf("read %q; want hi, then a close", got)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("closed after %v; want about 50ms", d)
		}
	})
}

func TestWriteTimeoutClosesClientsThatDoNotRead(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		srv, addr := serve(t, Limits{WriteTimeout: 100 * time.Millisecond})
		c, _ := dial(t, addr)
		big := strings.Repeat("x", 64<<10)
		go func() {
			for range 200 { // 13 MB of replies, far past the socket buffers
				if _, err := fmt.Fprintf(c, "echo %s\n", big); err != nil {
					return
				}
			}
		}()
		deadline := time.Now().Add(5 * time.Second)
		for srv.Clients() > 0 || srv.Accepted.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("a client that reads nothing is still connected after 5s")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
