package frontendtest

import (
	"bytes"
	"testing"

	"github.com/discoh/discoh/frontend"
)

// Hot serves one client's requests through a protocol's Session as a connection does, one
// request per batch: Dispatch from the client's bytes, then, on an event loop, Await and wait
// for Ready, Flush, and Shed, taking a new Session when the old one gave itself up. It checks
// each reply; the steady-state request path of a protocol is Do, run again and again.
type Hot struct {
	TB         testing.TB
	NewSession func(frontend.Client) frontend.Session
	Looped     bool                   // served as an event loop serves it
	Reqs       [][]byte               // requests, taken in turn
	Wants      [][]byte               // the reply to each
	Client     Client                 // Keep set before the first Do is what an earlier shed kept
	Check      func(frontend.Session) // if set, runs after each request: checks the Session

	sess  frontend.Session
	next  int
	out   []byte
	ready chan bool
}

// Do serves the next request and checks its reply.
func (h *Hot) Do() {
	if h.sess == nil {
		h.Client.Moved = !h.Looped
		h.ready = make(chan bool, 1)
		h.sess = h.NewSession(&h.Client)
		h.TB.Cleanup(func() { h.sess.Close() })
	}
	i := h.next
	h.next = (h.next + 1) % len(h.Reqs)
	req := h.Reqs[i]
	n, _, action, err := h.sess.Dispatch(req)
	if err != nil || n != len(req) || action != frontend.Continue {
		h.TB.Fatalf("dispatch %q: consumed %d, %v, %v", req, n, action, err)
	}
	h.await()
	h.out, err = h.sess.Flush(h.out[:0], discard)
	if h.Looped {
		h.shed()
	}
	if err != nil || !bytes.Equal(h.out, h.Wants[i]) {
		h.TB.Fatalf("reply to %q: got %q, %v; want %q", req, h.out, err, h.Wants[i])
	}
	if h.Check != nil {
		h.Check(h.sess)
	}
}

// warmUp is how many requests run before counting: buffers grow and pools fill first.
const warmUp = 500

// NoAllocs fails t unless a request, once warmed up, allocates nothing anywhere in the process.
func (h *Hot) NoAllocs(t *testing.T) {
	for range warmUp {
		h.Do()
	}
	if allocs := testing.AllocsPerRun(1000, h.Do); allocs != 0 {
		t.Errorf("got %v allocations per request; want 0", allocs)
	}
}

// Bench measures a request, once warmed up.
func (h *Hot) Bench(b *testing.B) {
	for range warmUp {
		h.Do()
	}
	b.ReportAllocs()
	for b.Loop() {
		h.Do()
	}
}

func discard([]byte) error { return nil }

// await waits as an event loop does: Await, then Ready from the goroutine completing the call.
func (h *Hot) await() {
	if !h.Looped {
		return
	}
	pending, ok := h.sess.(frontend.Awaiter).Await(h)
	if !ok {
		h.TB.Fatalf("Await refused a plain request")
	}
	if pending {
		<-h.ready
	}
}

// shed gives the session up and takes the next, as an event loop does between batches.
func (h *Hot) shed() {
	if keep, shed := h.sess.(frontend.Awaiter).Shed(); shed {
		h.Client.Keep = keep
		h.sess = h.NewSession(&h.Client)
	}
}

// Ready implements frontend.Waker.
func (h *Hot) Ready(slow bool) { h.ready <- slow }
