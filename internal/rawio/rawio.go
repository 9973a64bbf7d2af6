// Package rawio reads and writes non-blocking sockets without telling the Go scheduler.
//
// A system call made through package syscall or x/sys/unix marks its thread as blocked; when it
// lasts over ~20µs (a loopback TCP write often does: the receiver's side runs in the sender's
// call), the runtime's monitor hands the processor to another thread, and the caller's thread
// must get one back afterwards. On a busy proxy that churn of thread wake-ups cost ~15-25% of
// the CPU. A read or write on a non-blocking socket never waits, so keeping the processor
// through it is safe: these calls do that.
package rawio

import "errors"

// ErrAgain is returned when the socket has nothing to read or no room to write.
var ErrAgain = errors.New("rawio: would block")
