package rawio

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func socketPair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func TestReadWriteAndEpoll(t *testing.T) {
	a, b := socketPair(t)
	buf := make([]byte, 16)
	if n, err := Read(a, buf); n != 0 || err != ErrAgain {
		t.Fatalf("Read of an empty socket = %d, %v; want 0, ErrAgain", n, err)
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, a, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(a)}); err != nil {
		t.Fatal(err)
	}
	events := make([]unix.EpollEvent, 4)
	if n, err := EpollPoll(ep, events); n != 0 || err != nil {
		t.Fatalf("EpollPoll with nothing ready = %d, %v; want 0, nil", n, err)
	}
	if n, err := Write(b, []byte("hello")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v; want 5, nil", n, err)
	}
	if n, err := EpollPoll(ep, events); n != 1 || events[0].Fd != int32(a) {
		t.Fatalf("EpollPoll = %d, %v, fd %d; want fd %d ready", n, err, events[0].Fd, a)
	}
	if n, err := Read(a, buf); string(buf[:n]) != "hello" || err != nil {
		t.Fatalf("Read = %q, %v; want hello", buf[:n], err)
	}
	unix.Shutdown(b, unix.SHUT_WR)
	if n, err := Read(a, buf); n != 0 || err != nil {
		t.Fatalf("Read after the peer's shutdown = %d, %v; want 0, nil (end of input)", n, err)
	}
}

func TestWriteToAFullSocket(t *testing.T) {
	a, _ := socketPair(t)
	chunk := make([]byte, 64<<10)
	for range 1000 {
		if _, err := Write(a, chunk); err != nil {
			if err != ErrAgain {
				t.Fatalf("Write = %v; want ErrAgain once the socket is full", err)
			}
			return
		}
	}
	t.Fatal("64 MB written to a socket nobody reads")
}

func TestAccept(t *testing.T) {
	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(l)
	if err := unix.Bind(l, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(l, 8); err != nil {
		t.Fatal(err)
	}
	if fd, err := Accept(l); fd != 0 || err != ErrAgain {
		t.Fatalf("Accept with no client waiting = %d, %v; want 0, ErrAgain", fd, err)
	}
	addr, _ := unix.Getsockname(l)
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(c)
	if err := unix.Connect(c, addr); err != nil {
		t.Fatal(err)
	}
	fd, err := Accept(l)
	if err != nil {
		t.Fatalf("Accept of a connected client: %v", err)
	}
	defer unix.Close(fd)
	if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); flags&unix.O_NONBLOCK == 0 {
		t.Error("accepted socket is blocking")
	}
	if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC == 0 {
		t.Error("accepted socket is not close-on-exec")
	}
	if n, err := unix.Write(c, []byte("hi")); n != 2 || err != nil {
		t.Fatal(n, err)
	}
	buf := make([]byte, 2)
	for {
		n, err := Read(fd, buf)
		if err == ErrAgain {
			continue
		}
		if n != 2 || string(buf) != "hi" {
			t.Fatalf("read from the accepted socket: %q, %v", buf[:n], err)
		}
		break
	}
}

func TestQuiet(t *testing.T) {
	for _, tc := range []struct {
		name string
		peer func(b net.Conn)
		want bool
	}{
		{"idle", func(net.Conn) {}, true},
		{"input waiting", func(b net.Conn) { b.Write([]byte("x")) }, false},
		{"peer hung up", func(b net.Conn) { b.Close() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tcpPair(t)
			tc.peer(b)
			time.Sleep(10 * time.Millisecond) // let the byte or the FIN arrive
			if got := Quiet(a); got != tc.want {
				t.Fatalf("Quiet = %v; want %v", got, tc.want)
			}
		})
	}
}
