package respserver

import (
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/frontend/frontendtest"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
)

// backlogServer is a fake Redis that answers +OK to every request, one at a time: before each
// answer it waits a little, so a client that sends ahead has its requests pile up, and counts
// the requests waiting for theirs (the backlog).
type backlogServer struct {
	addr string

	mu       sync.Mutex
	requests [][][]byte // every request, in the order received
	backlog  int        // the most requests waiting for their replies at once
}

func newBacklogServer(t *testing.T) *backlogServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backlogServer{addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { nc.Close() })
			wg.Go(func() { b.serve(nc) })
		}
	})
	return b
}

func (b *backlogServer) serve(nc net.Conn) {
	var buf []byte
	waiting := 0
	for {
		nc.SetReadDeadline(time.Now().Add(time.Millisecond)) // take whatever the client sent ahead
		chunk := make([]byte, 64<<10)
		n, err := nc.Read(chunk)
		if err != nil && waiting == 0 && !isTimeout(err) {
			return
		}
		buf = append(buf, chunk[:n]...)
		for {
			m, args, _, err := resp.ParseRequest(buf, nil, resp.Limits{})
			if err != nil || m == 0 {
				break
			}
			b.record(args, waiting+1)
			buf, waiting = buf[m:], waiting+1
		}
		if waiting > 0 {
			if _, err := nc.Write([]byte("+OK\r\n")); err != nil {
				return
			}
			waiting--
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// seen returns the requests received so far and the largest backlog.
func (b *backlogServer) seen() ([][][]byte, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests, b.backlog
}

func (b *backlogServer) record(args [][]byte, backlog int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	req := make([][]byte, len(args))
	for i, a := range args {
		req[i] = append([]byte(nil), a...)
	}
	b.requests = append(b.requests, req)
	b.backlog = max(b.backlog, backlog)
}

// onePool is a pool of the one server at addr.
func onePool(t *testing.T, addr string) *backends.Pool {
	t.Helper()
	pool, err := backends.NewPool(backends.PoolConfig{
		Name:    "parts",
		Servers: []backends.ServerSpec{{Addr: addr, Name: "a", Weight: 1}},
		Hash:    "fnv1a_64", Distribution: "ketama", Replicas: 1,
		Options: backends.Options{Timeout: 10 * time.Second, Conns: 1, Framer: Framer},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// msetArgs is MSET of n keys, each key's value its name.
func msetArgs(n int) [][]byte {
	args := [][]byte{[]byte("MSET")}
	for i := range n {
		k := []byte("k" + strconv.Itoa(i))
		args = append(args, k, k)
	}
	return args
}

// A huge MSET reaches its server in parts of at most partKeys keys, in the client's order, and
// at most proxy.PartsInFlight of them wait there at a time; the client hears one OK. The batch ends
// with it, so the client's later requests cannot overtake its held parts. On an event loop,
// the flush that sends the held parts is slow: it runs on a goroutine of its own.
func TestHugeMSetGoesInParts(t *testing.T) {
	for _, looped := range []bool{false, true} {
		t.Run("looped="+strconv.FormatBool(looped), func(t *testing.T) {
			srv := newBacklogServer(t)
			s := NewRedis("parts", "", onePool(t, srv.addr), slog.New(slog.DiscardHandler)).
				NewSession(&frontendtest.Client{Moved: !looped})
			defer s.Close()
			const keys = 4*proxy.PartsInFlight*proxy.PartKeys + 3
			args := msetArgs(keys)
			if got := s.Dispatch(args, resp.AppendCommand(nil, args...)); got != frontend.EndBatch {
				t.Fatalf("Dispatch: got action %v; want EndBatch", got)
			}
			if got := string(flushAwaited(t, s, looped)); got != "+OK\r\n" {
				t.Fatalf("reply: got %q; want +OK", got)
			}
			checkParts(t, srv, args, proxy.PartKeys*2)
			if _, backlog := srv.seen(); backlog > proxy.PartsInFlight {
				t.Errorf("server backlog: got %d parts waiting at once; want at most %d", backlog, proxy.PartsInFlight)
			}
		})
	}
}

// flushAwaited flushes s's batch as a goroutine-served client does, or as an event loop does:
// Await, then Flush once told the calls are in, on a goroutine of its own when told it is slow.
func flushAwaited(t *testing.T, s *Session, looped bool) []byte {
	t.Helper()
	if !looped {
		out, _ := s.Flush(nil, func([]byte) error { return nil })
		return out
	}
	w := &flushWaker{s: s, done: make(chan []byte, 1)}
	pending, ok := s.Await(w)
	if !ok || !pending {
		t.Fatalf("Await: got pending %v, ok %v; want both", pending, ok)
	}
	return <-w.done
}

// checkParts checks that the server got the arguments of args, in order, each request the
// command's name and at most width more.
func checkParts(t *testing.T, srv *backlogServer, args [][]byte, width int) {
	t.Helper()
	requests, _ := srv.seen()
	got := 1
	for i, req := range requests {
		if string(req[0]) != string(args[0]) || len(req)-1 > width {
			t.Fatalf("request %d: %s with %d arguments; want %s with at most %d", i, req[0], len(req)-1, args[0], width)
		}
		for _, a := range req[1:] {
			if got >= len(args) || string(a) != string(args[got]) {
				t.Fatalf("request %d: argument %q out of the client's order", i, a)
			}
			got++
		}
	}
	if got != len(args) {
		t.Fatalf("server got %d arguments; want %d", got-1, len(args)-1)
	}
}

// An MSET within the bounds stays one MSET on its server, applied at once as Redis does.
func TestSmallMSetStaysWhole(t *testing.T) {
	srv := newBacklogServer(t)
	s := NewRedis("parts", "", onePool(t, srv.addr), slog.New(slog.DiscardHandler)).
		NewSession(&frontendtest.Client{Moved: true})
	defer s.Close()
	args := msetArgs(proxy.PartKeys)
	if got := s.Dispatch(args, resp.AppendCommand(nil, args...)); got != frontend.Continue {
		t.Fatalf("Dispatch: got action %v; want Continue", got)
	}
	if out, _ := s.Flush(nil, func([]byte) error { return nil }); string(out) != "+OK\r\n" {
		t.Fatalf("reply: got %q; want +OK", out)
	}
	if requests, _ := srv.seen(); len(requests) != 1 || len(requests[0]) != len(args) {
		t.Fatalf("server got %d requests; want the one MSET of %d arguments", len(requests), len(args)-1)
	}
}
