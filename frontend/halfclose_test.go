package frontend

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// A client that sends its last request and half-closes (shutdown(SHUT_WR), as `nc -N` or a
// client reading until EOF does) must get its replies and then EOF. On an event loop, when the
// FIN is already queued behind the data at the time of the read, read() sees n < len(space),
// sets readable=false, and since the FIN's edge was consumed earlier (while the batch was busy)
// no further event ever comes: the connection sits in CLOSE_WAIT forever (IdleTimeout is 0 by
// default) and the client waits for an EOF that never comes.
func TestHalfCloseGetsRepliesThenEOF(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		srv, addr := serve(t, Limits{})
		c, r := dial(t, addr)
		c.Write([]byte("later x\n")) // keeps the loop busy for laterDelay
		time.Sleep(laterDelay / 5)
		c.Write([]byte("echo hi\n"))
		c.(*net.TCPConn).CloseWrite() // the FIN's event arrives while the batch is busy
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		got, err := io.ReadAll(r)
		if string(got) != "x\nhi\n" {
			t.Errorf("read %q; want x, hi", got)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("no EOF 2s after the client half-closed (Clients() = %d): the server never read the FIN", srv.Clients())
		}
	})
}
