package rawio

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawSockets says Conn may read and write the socket itself on this system.
const rawSockets = true

// peekable says readable looks at the socket rather than answering true.
const peekable = true

// Read reads from the non-blocking descriptor fd into p. It returns unix.EAGAIN as ErrAgain.
func Read(fd int, p []byte) (int, error) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(ptr(p)), uintptr(len(p)))
		if e == unix.EINTR {
			continue
		}
		return result(n, e)
	}
}

// Write writes p to the non-blocking descriptor fd, as much as it takes now.
func Write(fd int, p []byte) (int, error) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(ptr(p)), uintptr(len(p)))
		if e == unix.EINTR {
			continue
		}
		return result(n, e)
	}
}

// EpollPoll returns the events of epoll instance ep that are ready now, without waiting.
func EpollPoll(ep int, events []unix.EpollEvent) (int, error) {
	var p unsafe.Pointer
	if len(events) > 0 {
		p = unsafe.Pointer(&events[0])
	}
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(p), uintptr(len(events)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		return result(n, e)
	}
}

// readable reports whether the non-blocking socket fd has input, or its end or an error, to
// read, by peeking at one byte into b.
func readable(fd int, b *[1]byte) bool {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(b)), 1,
			unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		return e != unix.EAGAIN
	}
}

// Accept takes the next connection from the non-blocking listening socket lfd, non-blocking and
// close-on-exec. Unlike unix.Accept4 it asks for no address, so it allocates nothing: thousands
// of clients connecting at once make no garbage. It returns unix.EAGAIN as ErrAgain.
func Accept(lfd int) (int, error) {
	for {
		fd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if e == unix.EINTR {
			continue
		}
		return result(fd, e)
	}
}

func ptr(p []byte) unsafe.Pointer {
	if len(p) == 0 {
		return nil
	}
	return unsafe.Pointer(&p[0])
}

func result(n uintptr, e unix.Errno) (int, error) {
	switch e {
	case 0:
		return int(n), nil
	case unix.EAGAIN:
		return 0, ErrAgain
	}
	return 0, e
}
