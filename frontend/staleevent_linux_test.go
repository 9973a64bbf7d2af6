package frontend

import (
	"bytes"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// gateSession echoes each line; its first Dispatch waits on gate (if set) after signalling
// entered.
type gateSession struct {
	entered, gate chan struct{}
	out           []byte
}

func (s *gateSession) Dispatch(buf []byte) (int, int, Action, error) {
	if s.gate != nil {
		close(s.entered)
		<-s.gate
		s.gate = nil
	}
	line, _, ok := bytes.Cut(buf, []byte("\n"))
	if !ok {
		return 0, 0, Continue, nil
	}
	s.out = append(append(s.out, line...), '\n')
	return len(line) + 1, 0, Continue, nil
}
func (s *gateSession) Await(Waker) (bool, bool) { return false, true }
func (s *gateSession) Flush(dst []byte, _ func([]byte) error) ([]byte, error) {
	dst = append(dst, s.out...)
	s.out = s.out[:0]
	return dst, nil
}
func (s *gateSession) Loopable() bool    { return true }
func (s *gateSession) Shed() (any, bool) { return nil, false }
func (s *gateSession) Close()            {}

// pair returns a connected pair of non-blocking sockets.
func pair(t *testing.T) (int, int) {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(sp[0]); unix.Close(sp[1]) })
	return sp[0], sp[1]
}

// TestStaleEventOnAnotherLoopsDescriptor: loop A took an event for fd F from epoll; before it
// handles it, F's client is closed (by the goroutine completing its batch) and F is reused by a
// new client Y given to loop B. Loop A's stale event now finds Y in the shared table and steps
// Y on A's goroutine, reading into B's read buffer while B is dispatching client Z from it.
func TestStaleEventOnAnotherLoopsDescriptor(t *testing.T) {
	srv := New(lineHandler{new(atomic.Int64)}, Limits{}, nil, slog.New(slog.DiscardHandler))
	fds := new(fdTable)
	la, err := newLoop(srv, fds)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := newLoop(srv, fds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { la.closeFds(); lb.closeFds() })

	yfd, ypeer := pair(t)
	zfd, zpeer := pair(t)
	z := &loopConn{l: lb, id: 1, fd: int32(zfd)}
	zs := &gateSession{entered: make(chan struct{}), gate: make(chan struct{})}
	z.sess = zs
	y := &loopConn{l: lb, id: 2, fd: int32(yfd)}
	y.sess = &gateSession{}
	if err := lb.add(z); err != nil {
		t.Fatal(err)
	}
	if err := lb.add(y); err != nil {
		t.Fatal(err)
	}
	unix.Write(zpeer, []byte("zzzzzzzz\n"))
	unix.Write(ypeer, []byte("YYYYYYYY\n"))

	done := make(chan struct{})
	go func() { // loop B's goroutine, dispatching Z out of lb.rbuf
		lb.event(unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(zfd)})
		close(done)
	}()
	<-zs.entered
	// Loop A handles its stale event for descriptor yfd (not one of its own).
	la.event(unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(yfd)})
	close(zs.gate)
	<-done

	buf := make([]byte, 64)
	time.Sleep(10 * time.Millisecond)
	n, _ := unix.Read(zpeer, buf)
	if got := string(buf[:max(n, 0)]); got != "zzzzzzzz\n" {
		t.Errorf("client Z got %q; want its own echo (loop A stepped loop B's client Y, reading into B's buffer)", got)
	}
}
