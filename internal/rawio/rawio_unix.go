//go:build unix && !linux

package rawio

import "syscall"

// rawSockets says Conn may read and write the socket itself on this system.
const rawSockets = true

// peekable is false: readable answers true without looking.
const peekable = false

// Read reads from the non-blocking descriptor fd into p (through the scheduler on this system).
func Read(fd int, p []byte) (int, error) { return result(syscall.Read(fd, p)) }

// Write writes p to the non-blocking descriptor fd (through the scheduler on this system).
func Write(fd int, p []byte) (int, error) { return result(syscall.Write(fd, p)) }

// readable reports true: on this system Conn.WaitReadable leaves the waiting to Read.
func readable(int, *[1]byte) bool { return true }

func result(n int, err error) (int, error) {
	if err == syscall.EAGAIN {
		return 0, ErrAgain
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}
