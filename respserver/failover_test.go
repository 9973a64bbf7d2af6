package respserver

import (
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/backends/health"
	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/frontend/frontendtest"
	"github.com/discoh/discoh/resp"
)

// slowServer is a fake Redis that answers every request with a nil bulk, delay after it
// reads it (so a batch's calls are still out when Await counts them).
func slowServer(t *testing.T, delay time.Duration) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { nc.Close() })
			wg.Go(func() {
				var p resp.Parser
				buf := make([]byte, 0, 64<<10)
				for {
					n, err := nc.Read(buf[len(buf):cap(buf)])
					if err != nil {
						return
					}
					buf = buf[:len(buf)+n]
					time.Sleep(delay)
					var out []byte
					for {
						m, _, _, err := p.Parse(buf, resp.Limits{})
						if err != nil || m == 0 {
							break
						}
						buf = buf[:copy(buf, buf[m:])]
						out = append(out, "$-1\r\n"...)
					}
					if _, err := nc.Write(out); err != nil {
						return
					}
				}
			})
		}
	})
	return l.Addr().String()
}

// flushWaker does what frontend's loopConn.Ready does: Flush on the goroutine that completed
// the batch's last call (a backend connection's reader), or on a goroutine of its own when
// told the flush is slow.
type flushWaker struct {
	s    *Session
	done chan []byte
}

func (w *flushWaker) Ready(slow bool) {
	flush := func() {
		out, _ := w.s.Flush(nil, func([]byte) error { return nil })
		w.done <- out
	}
	if slow {
		go flush()
	} else {
		flush()
	}
}

// With auto_eject_hosts (replicas 1, so event loops are on) a read that failed on a server
// since marked down is retried by Flush on the next live server (failover -> askCopies ->
// call.Wait). Were that Flush run in Ready on the backend reader goroutine that completed the
// batch's last call, a retry going to that same server would be queued on the same connection
// (same lane, same pick = session id) and the reader would wait for a reply only it can read,
// until the watchdog failed the connection (and forever with timeout 0). A failed call makes
// Ready slow: the flush runs on a goroutine of its own.
func TestAwaitedFailoverDoesNotRunOnTheReader(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // connection refused from now on
	liveAddr := slowServer(t, 30*time.Millisecond)

	pc := config.DefaultPool("review")
	h := health.DefaultConfig()
	// One failure marks a server down. Once a server is down, requests leave the loop (a write
	// would be journalled), so the batch is dispatched before a failure can be seen.
	h.FailureLimit, h.RetryTimeout = 1, pc.ServerRetryTimeout
	h.MaxBackoff = max(h.MaxBackoff, h.RetryTimeout)
	pool, err := backends.NewPool(backends.PoolConfig{
		Name:    "review",
		Servers: []backends.ServerSpec{{Addr: deadAddr, Name: "a", Weight: 1}, {Addr: liveAddr, Name: "s", Weight: 1}},
		Hash:    pc.Hash, Distribution: pc.Distribution, Replicas: 1, AutoEject: true,
		Options: backends.Options{Timeout: 0, Conns: 1, Framer: Framer,
			Handshake: Handshake("")},
		Failover: &backends.Failover{Health: h, DataDir: t.TempDir(),
			ReplayLimit: backends.DefaultReplayLimit, Protocol: Protocol()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var onDead, onLive []byte
	for i := 0; onDead == nil || onLive == nil; i++ {
		k := []byte("k" + strconv.Itoa(i))
		switch pool.Owner(k) {
		case 0:
			onDead = k
		case 1:
			onLive = k
		}
	}

	s := NewRedis("review", "", pool, slog.New(slog.DiscardHandler)).NewSession(&frontendtest.Client{})
	defer s.Close()
	get := func(k []byte) {
		args := [][]byte{[]byte("GET"), k}
		if s.Dispatch(args, resp.AppendCommand(nil, args...)) == frontend.Block {
			t.Fatalf("Dispatch(GET) on a loop = Block; the loop would not dispatch it")
		}
	}
	// The GET to s is still out when the GET to a fails and marks a down.
	get(onLive)
	get(onDead)
	w := &flushWaker{s: s, done: make(chan []byte, 1)}
	pending, ok := s.Await(w)
	if !ok || !pending {
		t.Fatalf("Await = %v, %v; want a batch in flight", pending, ok)
	}
	select {
	case out := <-w.done:
		t.Logf("replies: %q", out)
	case <-time.After(3 * time.Second):
		t.Fatalf("Flush in Ready has not returned after 3s: the reader of s's connection waits " +
			"for the failover GET it alone can read (failover -> askCopies -> call.Wait)")
	}
}

// A request on an event loop is dispatched on the loop's goroutine. Were Server.Send to dial
// the slot's connection itself when it has none (first use, or after the connection broke),
// every client of that loop would wait for connect plus handshake, up to the pool's timeout.
// Send queues the call behind a dial made on another goroutine. Here the server accepts but
// does not answer AUTH (hung, or overloaded).
func TestDispatchDoesNotWaitForADial(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			defer nc.Close() // accept, never answer
		}
	}()
	pool, err := backends.NewPool(backends.PoolConfig{
		Name:    "review",
		Servers: []backends.ServerSpec{{Addr: l.Addr().String(), Weight: 1}},
		Hash:    "fnv1a_64", Distribution: "ketama", Replicas: 1,
		Options: backends.Options{Timeout: time.Second, Conns: 1, Framer: Framer,
			Handshake: Handshake("secret")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := NewRedis("review", "", pool, slog.New(slog.DiscardHandler)).NewSession(&frontendtest.Client{})
	defer s.Close()
	args := [][]byte{[]byte("GET"), []byte("k")}
	start := time.Now()
	if s.Dispatch(args, resp.AppendCommand(nil, args...)) == frontend.Block {
		t.Fatalf("Dispatch(GET) on a loop = Block; the loop would not dispatch it")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Dispatch(GET) on a loop took %v: it waited for a dial on the loop goroutine", d)
	}
}
