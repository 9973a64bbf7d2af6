// Package proc starts the benchmark's server processes (cache servers and
// proxies) on loopback ports and reads their CPU time and memory from /proc.
package proc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrExited reports a process that stopped before its port accepted
// connections.
var ErrExited = errors.New("proc: exited before listening")

// startTimeout bounds how long a server may take to accept its first
// connection: every server here starts in milliseconds.
const startTimeout = 5 * time.Second

// Process is a running server process listening on Addr.
type Process struct {
	Name string
	Addr string
	Log  string // file holding its stdout and stderr
	cmd  *exec.Cmd
	done chan struct{}
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("proc: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start runs bin with args, its output going to dir/name.log, and waits until
// addr accepts connections. A process that exits first is reported with
// ErrExited and the end of its log.
func Start(dir, name, addr, bin string, args ...string) (*Process, error) {
	logPath := filepath.Join(dir, name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("proc: start %s: %w", name, err)
	}
	p := &Process{Name: name, Addr: addr, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	if err := p.waitListening(); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

func (p *Process) waitListening() error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%w: %s: %s", ErrExited, p.Name, p.logTail())
		default:
		}
		if c, err := net.DialTimeout("tcp", p.Addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("proc: %s not listening on %s after %v", p.Name, p.Addr, startTimeout)
}

// logTail returns the last lines of the process's log, for error messages.
func (p *Process) logTail() string {
	b, _ := os.ReadFile(p.Log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " | ")
}

// PID is the process id, for the /proc readings.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Kill stops the process and waits for it to exit. It is safe to call twice.
func (p *Process) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}
