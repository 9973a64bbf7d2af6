//go:build linux

package frontend

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// slowSession answers "big" with a Flush that spills several large chunks, a moment apart,
// and is always flushed slow (as after a failed call with auto_eject_hosts); "quit" closes.
type slowSession struct{ bigs int }

const slowChunks, slowChunk = 3, 4 << 20

func (s *slowSession) Dispatch(buf []byte) (int, int, Action, error) {
	line, _, ok := bytes.Cut(buf, []byte("\n"))
	if !ok {
		return 0, 0, Continue, nil
	}
	if string(line) == "quit" {
		return len(line) + 1, 0, CloseAfter, nil
	}
	s.bigs++
	return len(line) + 1, 0, Continue, nil
}

func (s *slowSession) Await(w Waker) (bool, bool) { w.Ready(true); return true, true }
func (s *slowSession) Loopable() bool             { return true }
func (s *slowSession) Shed() (any, bool)          { return nil, false }

func (s *slowSession) Flush(dst []byte, spill func([]byte) error) ([]byte, error) {
	if s.bigs == 0 {
		return dst, nil
	}
	s.bigs--
	chunk := bytes.Repeat([]byte("x"), slowChunk)
	for range slowChunks {
		spill(chunk)
		time.Sleep(300 * time.Millisecond) // the client reads meanwhile: the loop drains pend
	}
	return append(dst, "end\n"...), nil
}

func (s *slowSession) Close() {}

type slowHandler struct{}

func (slowHandler) NewSession(Client) Session { return &slowSession{} }

// A slow flush (flushSlow, no lock held during Flush) of a batch ending in QUIT: when the
// loop's writePending drains pend mid-Flush it sees quit and calls close(), which, the
// connection being busy, sets hup; every later spill and the final write are then dropped.
func TestSlowFlushWithQuitKeepsAllReplies(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(slowHandler{}, Limits{EventLoop: true, MaxPipeline: 16}, nil, slog.New(slog.DiscardHandler))
	go srv.Serve(l)
	defer srv.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("big\nquit\n"))
	time.Sleep(50 * time.Millisecond) // not reading yet: the first spill fills the socket, pend holds the rest
	got, _ := io.ReadAll(c)
	if want := slowChunks*slowChunk + len("end\n"); len(got) != want {
		t.Fatalf("read %d bytes before EOF; want %d (the replies after the first spill were dropped)", len(got), want)
	}
}
