package frontend

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// ask sends one request and reads its one-line reply.
func ask(t *testing.T, c net.Conn, r *bufio.Reader, req string) string {
	t.Helper()
	if _, err := c.Write([]byte(req + "\n")); err != nil {
		t.Fatal(err)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", req, err)
	}
	return strings.TrimSuffix(line, "\n")
}

// TestMovedClientRejoinsItsLoop: a client that moved to a goroutine goes back to its event loop
// once its session has needed nothing of the goroutine for rejoinAfter batches in a row, with
// its session and state kept; a session holding state stays on the goroutine.
func TestMovedClientRejoinsItsLoop(t *testing.T) {
	srv, addr := serve(t, Limits{EventLoop: true})
	c, r := dial(t, addr)
	if got := ask(t, c, r, "where"); got != "loop" {
		t.Fatalf("a new client is served by %q; want loop", got)
	}
	if got := ask(t, c, r, "hold"); got != "hold" {
		t.Fatalf("hold: %q", got)
	}
	for i := range 2 * rejoinAfter {
		if got := ask(t, c, r, "echo x"); got != "x" {
			t.Fatalf("echo %d: %q", i, got)
		}
	}
	if got := ask(t, c, r, "where"); got != "goroutine" {
		t.Fatalf("a client whose session holds state is served by %q after %d batches; want goroutine", got, 2*rejoinAfter)
	}
	ask(t, c, r, "release")
	for range rejoinAfter {
		ask(t, c, r, "echo y")
	}
	if got := ask(t, c, r, "where"); got != "loop" {
		t.Fatalf("a calm client is served by %q after %d batches; want loop (rejoined)", got, rejoinAfter)
	}
	if got := ask(t, c, r, "later z"); got != "z" {
		t.Errorf("a reply completed elsewhere after the rejoin: %q; want z", got)
	}
	if got := ask(t, c, r, "block again"); got != "blocked again" { // moves once more
		t.Errorf("block after the rejoin: %q", got)
	}
	if n := srv.Clients(); n != 1 {
		t.Errorf("Clients() = %d; want 1 (the same client throughout)", n)
	}
	if moved, back := srv.Moved.Load(), srv.Rejoined.Load(); moved != 2 || back != 1 {
		t.Errorf("moved %d times, rejoined %d; want 2 (hold, block) and 1", moved, back)
	}
	c.Write([]byte("quit\n"))
	if got := readAll(t, r); got != "bye\n" {
		t.Errorf("read %q after quit; want bye", got)
	}
}
