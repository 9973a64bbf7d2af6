package rawio

import "errors"

// rawSockets is false: Windows sockets are not read and written with plain system calls, so
// Conn uses the connection's own Read and Write.
const rawSockets = false

// peekable is false: readable is not used.
const peekable = false

var errUnsupported = errors.New("rawio: not supported on this system")

// Read is not supported on this system.
func Read(fd int, p []byte) (int, error) { return 0, errUnsupported }

// readable is not used on this system (Conn has no raw socket).
func readable(int, *[1]byte) bool { return true }

// Write is not supported on this system.
func Write(fd int, p []byte) (int, error) { return 0, errUnsupported }
