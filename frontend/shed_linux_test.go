package frontend

import (
	"testing"
)

// TestLoopShedsSessionsBetweenRequests: on an event loop, a client's session is given up after
// each batch and made anew for the next request, with the same client ID and what the session
// kept (a name); a session holding state that needs a goroutine is not shed.
func TestLoopShedsSessionsBetweenRequests(t *testing.T) {
	srv, addr := serve(t, Limits{EventLoop: true})
	made := srv.handler.(lineHandler).made
	named, nr := dial(t, addr)
	if got := ask(t, named, nr, "name keeper"); got != "ok" {
		t.Fatalf("name: %q", got)
	}
	plain, pr := dial(t, addr)
	first := ask(t, plain, pr, "whoami")
	before := made.Load()
	for i := range 5 {
		if got := ask(t, plain, pr, "whoami"); got != first {
			t.Fatalf("whoami %d of a shed client = %q; want %q (the same ID)", i, got, first)
		}
		if got := ask(t, named, nr, "whoami"); got[:len("keeper#")] != "keeper#" {
			t.Fatalf("whoami %d of a named client = %q; want its name kept", i, got)
		}
	}
	if n := made.Load() - before; n != 10 {
		t.Errorf("%d sessions made for 5 requests of a plain client and 5 of a named one; want 10", n)
	}
	if first[0] != '#' {
		t.Errorf("whoami of an unnamed client = %q", first)
	}
}
