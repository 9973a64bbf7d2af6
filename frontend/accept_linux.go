//go:build linux

package frontend

import (
	"errors"
	"net"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/discoh/discoh/internal/rawio"
	"golang.org/x/sys/unix"
)

// Accepting for event loops: the listener's socket is accepted on directly, so the descriptors
// never pass through the net package's poller, and each client goes to a loop in turn, or to a
// goroutine of its own when its session cannot be served by a loop.

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
	loops, err := s.startLoops(runtime.GOMAXPROCS(0))
	if err != nil {
		lf.Close()
		return false, err
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
	a := newAcceptor()
	for next := 0; ; next++ {
		fd, err := a.accept(rc)
		if s.closing.Load() {
			if err == nil {
				unix.Close(fd)
			}
			return true, ErrServerClosed
		}
		if backoff = s.pause(backoff, err); err != nil {
			continue
		}
		s.startLooped(loops[next%len(loops)], fd)
	}
}

// startLoops starts n loops, or none.
func (s *Server) startLoops(n int) ([]*loop, error) {
	loops, fds := make([]*loop, n), new(fdTable)
	for i := range loops {
		l, err := newLoop(s, fds)
		if err != nil {
			for _, l := range loops[:i] {
				l.closeFds()
			}
			return nil, err
		}
		loops[i] = l
		go l.run()
	}
	return loops, nil
}

// listenerFile returns a duplicate of l's socket that accepts without the net package, so the
// descriptors accepted are the loops' alone. Go's listeners only let their descriptor be read.
func listenerFile(l net.Listener) (*os.File, error) {
	dup, err := dupSocket(l)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(dup), "listener"), nil
}

// dupSocket returns a duplicate descriptor of s's socket (close-on-exec; non-blocking like s's,
// as they share the open file).
func dupSocket(s any) (int, error) {
	sc, ok := s.(syscall.Conn)
	if !ok {
		return -1, errors.ErrUnsupported
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	dup, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return dup, derr
}

// acceptor takes clients from the listener's socket without allocating: its method value is
// made once, and the accept asks for no address.
type acceptor struct {
	fd    int
	err   error
	tryFn func(lfd uintptr) bool // a.try
}

func newAcceptor() *acceptor {
	a := new(acceptor)
	a.tryFn = a.try
	return a
}

// accept takes the next client, waiting in the runtime's poller.
func (a *acceptor) accept(rc syscall.RawConn) (int, error) {
	if err := rc.Read(a.tryFn); err != nil {
		return -1, err
	}
	return a.fd, a.err
}

func (a *acceptor) try(lfd uintptr) bool {
	a.fd, a.err = rawio.Accept(int(lfd))
	return a.err != rawio.ErrAgain
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

func (s *Server) startLooped(l *loop, fd int) {
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
	s.Accepted.Add(1)
	// As Go does for the connections it accepts: no Nagle delay, keep-alive probes.
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	c := &loopConn{l: l, id: s.lastID.Add(1), fd: int32(fd)}
	c.lastActive.Store(time.Now().UnixNano())
	sess := s.handler.NewSession(c)
	aw, ok := sess.(Awaiter)
	if !ok {
		if cc := s.adopt(nil, c.id, fd, peerAddr(fd), sess); cc != nil {
			c.moved.Store(cc) // the session holds c as its Client
			go cc.guard((*clientConn).serveLoop)
		}
		return
	}
	c.sess = aw
	s.swap(nil, c)
	if err := l.add(c); err != nil {
		s.log.Warn("event loop refused a client", "client", peerAddr(fd), "err", err)
		c.mu.Lock()
		c.close()
		c.mu.Unlock()
	}
}

// adopt makes fd a connection for a goroutine of its own to serve; it takes old's place among
// the server's connections (none for a new one). It returns nil, having closed fd and the
// session, when the runtime cannot take the descriptor.
func (s *Server) adopt(old served, id uint64, fd int, addr string, sess Session) *clientConn {
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
	c := &clientConn{srv: s, id: id, nc: nc, io: rawio.NewConn(nc), sess: sess}
	s.swap(old, c)
	return c
}

// peerAddr is the address of the client on fd, as net.Conn.RemoteAddr would print it.
func peerAddr(fd int) string {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return "unknown"
	}
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
