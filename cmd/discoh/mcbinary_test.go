package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/discoh/discoh/internal/testproc"
)

// binaryGet is a memcached binary-protocol GET of key "foo": a 24-byte header (magic 0x80,
// opcode 0, key length 3, body length 3) and the key.
func binaryGet() []byte {
	h := make([]byte, 24, 27)
	h[0] = 0x80
	binary.BigEndian.PutUint16(h[2:], 3)
	binary.BigEndian.PutUint32(h[8:], 3)
	return append(h, "foo"...)
}

// TestMcBinaryProtocolClosesAtOnce: discoh speaks only the text protocol, and a client that
// sends a binary request must learn so at once rather than wait out its own timeout. memcached
// refuses a protocol it does not accept (started with -B binary, sent text) by closing the
// connection without a reply; discoh does the same, served from an event loop or a goroutine.
func TestMcBinaryProtocolClosesAtOnce(t *testing.T) {
	refusing := testproc.Memcached(t, "-B", "binary")
	if got, err := readUntilClosed(refusing.Addr, []byte("get foo bar baz quux 12345\r\n")); err != nil || len(got) != 0 {
		t.Fatalf("memcached -B binary sent text: read %q, %v; want a close without a reply", got, err)
	}
	for _, loop := range []string{"true", "false"} {
		t.Run("event_loop="+loop, func(t *testing.T) {
			st := startMemcacheStack(t, 2, "    event_loop: "+loop)
			for name, req := range map[string][]byte{"get": binaryGet(), "magic only": {0x80}} {
				if got, err := readUntilClosed(st.addr, req); err != nil || len(got) != 0 {
					t.Errorf("binary %s: read %q, %v; want a close without a reply", name, got, err)
				}
			}
			c := dialRaw(t, st.addr)
			if got := roundTrip(t, c, "version\r\n"); len(got) == 0 {
				t.Errorf("version after binary clients left: no reply")
			}
		})
	}
}

// readUntilClosed sends req on a new connection and returns what came back before the server
// closed it; an error if it stays open for a second.
func readUntilClosed(addr string, req []byte) ([]byte, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(time.Second))
	if _, err := nc.Write(req); err != nil {
		return nil, err
	}
	got, err := io.ReadAll(nc)
	if errors.Is(err, syscall.ECONNRESET) {
		err = nil // closed with the request unread: a close all the same
	}
	return got, err
}
