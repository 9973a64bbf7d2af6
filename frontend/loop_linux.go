//go:build linux

package frontend

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/discoh/discoh/internal/rawio"
	"golang.org/x/sys/unix"
)

const (
	// loopReadBuffer is each loop's shared read buffer: a client owns a buffer only while part
	// of a request waits for the rest, so an idle client holds none.
	loopReadBuffer = 64 << 10
	// loopEvents is how many readiness events one wait takes.
	loopEvents = 256
)

// loop serves many clients from one goroutine, twemproxy's way: it waits on an epoll instance
// for clients with input, reads and dispatches their requests, and each client's replies are
// written by whichever goroutine completes the last of them. No goroutine waits per client,
// and no goroutine hand-off happens per request.
//
// The loop itself waits through the Go runtime's poller (the epoll instance is a file the
// runtime polls), so an idle loop holds no thread.
type loop struct {
	srv    *Server
	ep     int      // the epoll instance
	wakeFd int      // an eventfd that wakes the loop for handoffs
	file   *os.File // ep, as the runtime poller sees it
	rbuf   []byte
	events []unix.EpollEvent

	fds *fdTable // the clients of all the server's loops, by descriptor

	mu     sync.Mutex
	queue  []*loopConn // handed over by other goroutines, to step again
	asleep atomic.Bool // the loop is about to wait or waiting: handoffs must wake it
}

func newLoop(s *Server, fds *fdTable) (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("frontend: epoll: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("frontend: eventfd: %w", err)
	}
	l := &loop{srv: s, ep: ep, wakeFd: wake, fds: fds, rbuf: make([]byte, loopReadBuffer),
		events: make([]unix.EpollEvent, loopEvents)}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(wake)}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		l.closeFds()
		return nil, fmt.Errorf("frontend: epoll add: %w", err)
	}
	unix.SetNonblock(ep, true)
	l.file = os.NewFile(uintptr(ep), "epoll")
	return l, nil
}

func (l *loop) closeFds() {
	unix.Close(l.wakeFd)
	if l.file != nil {
		l.file.Close()
	} else {
		unix.Close(l.ep)
	}
}

// add starts serving fd, whose session sess was made for c.
func (l *loop) add(c *loopConn) error {
	fd := int(c.fd)
	if err := l.fds.set(fd, c); err != nil {
		return err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.remove(fd)
		return err
	}
	return nil
}

// remove stops watching fd; the caller closes it afterwards.
func (l *loop) remove(fd int) {
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, fd, nil)
	l.fds.set(fd, nil)
}

// handoff asks the loop to step c again: c has input left that the goroutine which wrote its
// replies may not read (reading belongs to the loop).
func (l *loop) handoff(c *loopConn) {
	l.mu.Lock()
	l.queue = append(l.queue, c)
	l.mu.Unlock()
	if l.asleep.CompareAndSwap(true, false) {
		var one = [8]byte{1}
		rawio.Write(l.wakeFd, one[:])
	}
}

// requeue steps c again on the loop's next round, after the other clients ready now. It is
// called on the loop's goroutine, which checks the queue before it waits.
func (l *loop) requeue(c *loopConn) {
	l.mu.Lock()
	l.queue = append(l.queue, c)
	l.mu.Unlock()
}

// run serves until the loop's file is closed.
func (l *loop) run() {
	rc, err := l.file.SyscallConn()
	if err != nil {
		l.srv.log.Error("event loop cannot wait", "err", err)
		return
	}
	// The whole loop runs inside one Read, so the runtime's poller keeps every readiness it
	// sees while the loop works (a new Read would reset it): when a poll took every event ready
	// then, the loop can wait at once, and anything that became ready since ends the wait.
	rc.Read(func(fd uintptr) bool {
		for {
			l.asleep.Store(false) // awake: handoffs need not write the eventfd
			n := l.poll(int(fd))
			for _, ev := range l.events[:n] {
				l.event(ev)
			}
			l.stepQueued()
			if n < len(l.events) && !l.pending() {
				return false // wait
			}
		}
	})
}

// poll takes the events ready now, without waiting.
func (l *loop) poll(ep int) int {
	n, err := rawio.EpollPoll(ep, l.events)
	if err != nil {
		return 0
	}
	return n
}

// pending reports whether handoffs wait; when none does it marks the loop asleep, so the next
// handoff wakes it. Checking under the lock after marking closes the gap between the two.
func (l *loop) pending() bool {
	l.asleep.Store(true)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.queue) > 0 {
		l.asleep.Store(false)
		return true
	}
	return false
}

func (l *loop) event(ev unix.EpollEvent) {
	if int(ev.Fd) == l.wakeFd {
		var buf [8]byte
		rawio.Read(l.wakeFd, buf[:])
		return
	}
	// The table is shared: an event taken before its client closed may find the descriptor
	// reused by another loop's client, which only that loop may step (it reads into that
	// loop's buffer).
	if c := l.fds.get(int(ev.Fd)); c != nil && c.l == l {
		c.event(ev.Events)
	}
}

func (l *loop) stepQueued() {
	l.mu.Lock()
	queue := l.queue
	l.queue = nil
	l.mu.Unlock()
	for _, c := range queue {
		c.wakeUp()
	}
}
