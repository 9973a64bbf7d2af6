//go:build linux

package frontend

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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

	mu     sync.Mutex
	conns  map[int32]*loopConn // by file descriptor
	queue  []*loopConn         // handed over by other goroutines, to step again
	asleep atomic.Bool         // the loop is about to wait or waiting: handoffs must wake it
}

func newLoop(s *Server) (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("frontend: epoll: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("frontend: eventfd: %w", err)
	}
	l := &loop{srv: s, ep: ep, wakeFd: wake, rbuf: make([]byte, loopReadBuffer),
		events: make([]unix.EpollEvent, loopEvents), conns: make(map[int32]*loopConn)}
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
	l.mu.Lock()
	l.conns[int32(c.fd)] = c
	l.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(c.fd)}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		l.remove(c.fd)
		return err
	}
	return nil
}

// remove stops watching fd; the caller closes it afterwards.
func (l *loop) remove(fd int) {
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, fd, nil)
	l.mu.Lock()
	delete(l.conns, int32(fd))
	l.mu.Unlock()
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
	l.mu.Lock()
	c := l.conns[ev.Fd]
	l.mu.Unlock()
	if c != nil {
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

// serveLoops accepts on l and serves every client whose Session is an Awaiter on an event
// loop, one loop per processor. It reports false, having done nothing, when l has no file
// descriptor: Serve then gives each client a goroutine.
func (s *Server) serveLoops(l net.Listener) (bool, error) {
	lf, err := listenerFile(l)
	if err != nil {
		return false, nil
	}
	rc, err := lf.SyscallConn()
	if err != nil {
		lf.Close()
		return false, nil
	}
	loops := make([]*loop, runtime.GOMAXPROCS(0))
	for i := range loops {
		if loops[i], err = newLoop(s); err != nil {
			for _, l := range loops[:i] {
				l.closeFds()
			}
			lf.Close()
			return false, err
		}
		go loops[i].run()
	}
	s.mu.Lock()
	s.loops, s.acceptFile = loops, lf
	closing := s.closing.Load()
	s.mu.Unlock()
	if closing {
		lf.Close()
	}
	defer s.stopLoopsWhenDrained()
	var backoff time.Duration
	for next := 0; ; next++ {
		fd, sa, err := accept(rc)
		if s.closing.Load() {
			if err == nil {
				unix.Close(fd)
			}
			return true, ErrServerClosed
		}
		if backoff = s.pause(backoff, err); err != nil {
			continue
		}
		s.startLooped(loops[next%len(loops)], fd, sockaddrString(sa))
	}
}

// listenerFile returns a duplicate of l's socket that accepts without the net package, so the
// descriptors accepted are the loops' alone. Go's listeners only let their descriptor be read.
func listenerFile(l net.Listener) (*os.File, error) {
	sc, ok := l.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	dup, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return os.NewFile(uintptr(dup), "listener"), nil
}

func accept(rc interface {
	Read(func(uintptr) bool) error
}) (int, unix.Sockaddr, error) {
	var fd int
	var sa unix.Sockaddr
	var aerr error
	err := rc.Read(func(lfd uintptr) bool {
		fd, sa, aerr = unix.Accept4(int(lfd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return aerr != unix.EAGAIN
	})
	if err != nil {
		return -1, nil, err
	}
	return fd, sa, aerr
}

// stopLoopsWhenDrained closes the loops once every connection has ended.
func (s *Server) stopLoopsWhenDrained() {
	go func() {
		s.done.Wait()
		s.mu.Lock()
		loops := s.loops
		s.mu.Unlock()
		for _, l := range loops {
			l.closeFds()
		}
	}()
}

func (s *Server) startLooped(l *loop, fd int, addr string) {
	s.Accepted.Add(1)
	s.mu.Lock()
	if s.limits.MaxConnections > 0 && len(s.conns) >= s.limits.MaxConnections {
		s.mu.Unlock()
		s.Rejected.Add(1)
		unix.Write(fd, s.full)
		unix.Close(fd)
		return
	}
	s.done.Add(1)
	s.mu.Unlock()
	// As Go does for the connections it accepts: no Nagle delay, keep-alive probes.
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	c := &loopConn{l: l, srv: s, fd: fd, addr: addr}
	c.lastActive.Store(time.Now().UnixNano())
	sess := s.handler.NewSession(c)
	aw, ok := sess.(Awaiter)
	if !ok {
		if cc := s.adopt(nil, fd, addr, sess); cc != nil {
			c.moved.Store(cc) // the session holds c as its Client
			go cc.guard((*clientConn).serveLoop)
		}
		return
	}
	c.sess = aw
	s.track(c)
	if err := l.add(c); err != nil {
		s.log.Warn("event loop refused a client", "client", addr, "err", err)
		c.mu.Lock()
		c.close()
		c.mu.Unlock()
	}
}

// adopt makes fd a connection for a goroutine of its own to serve; it takes old's place among
// the server's connections (none for a new one). It returns nil, having closed fd and the
// session, when the runtime cannot take the descriptor.
func (s *Server) adopt(old served, fd int, addr string, sess Session) *clientConn {
	f := os.NewFile(uintptr(fd), addr)
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		s.log.Warn("cannot move a client to a goroutine; closing it", "client", addr, "err", err)
		sess.Close()
		if old != nil {
			s.forget(old)
		} else {
			s.done.Done()
		}
		return nil
	}
	c := &clientConn{srv: s, nc: nc, io: rawio.NewConn(nc), sess: sess}
	s.swap(old, c)
	return c
}

func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return (&net.TCPAddr{IP: a.Addr[:], Port: a.Port}).String()
	case *unix.SockaddrInet6:
		return (&net.TCPAddr{IP: a.Addr[:], Port: a.Port}).String()
	case *unix.SockaddrUnix:
		return a.Name
	}
	return "unknown"
}
