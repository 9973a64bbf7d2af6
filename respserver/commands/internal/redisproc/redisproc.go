// Package redisproc runs a throwaway redis-server on a free loopback port,
// for the table generator and for tests that need Redis's own answers.
package redisproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// readyLine is what redis-server logs once it accepts connections.
const readyLine = "Ready to accept connections"

// startTimeout bounds how long Start waits for the server to become ready;
// a local redis-server with no data starts in well under a second.
const startTimeout = 10 * time.Second

// ErrNotReady means the server exited or stayed silent before it logged
// that it accepts connections.
var ErrNotReady = errors.New("redisproc: redis-server did not become ready")

// Server is a running redis-server process.
type Server struct {
	// Addr is the server's "127.0.0.1:port" address.
	Addr string

	cmd     *exec.Cmd
	drained chan struct{}
}

// Start launches the redis-server binary at path (looked up in PATH when it
// has no slash) on a free loopback port, without persistence, and returns
// once the server accepts connections. Close stops it.
func Start(ctx context.Context, path string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, serverArgs(port)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("redisproc: start %s: %w", path, err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, drained: make(chan struct{})}
	if err := s.awaitReady(stdout); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close kills the server and waits for it to exit.
func (s *Server) Close() error {
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("redisproc: kill: %w", err)
	}
	<-s.drained
	_ = s.cmd.Wait() // The exit status of a killed process says nothing useful.
	return nil
}

// serverArgs keeps the server on loopback, in memory and quiet on disk.
func serverArgs(port int) []string {
	return []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--loglevel", "notice",
	}
}

// freePort asks the kernel for an unused loopback port. Another process may
// take it before the server binds it; Start then fails rather than hangs.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redisproc: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// awaitReady reads the server's log until it reports readiness, then keeps
// draining it in the background so the server never blocks on a full pipe.
func (s *Server) awaitReady(stdout io.Reader) error {
	ready := make(chan bool, 1)
	go func() {
		defer close(s.drained)
		lines := bufio.NewScanner(stdout)
		seen := false
		for lines.Scan() {
			if !seen && strings.Contains(lines.Text(), readyLine) {
				seen = true
				ready <- true
			}
		}
		if !seen {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			return ErrNotReady
		}
		return nil
	case <-time.After(startTimeout):
		return fmt.Errorf("%w within %v", ErrNotReady, startTimeout)
	}
}
