// Package testproc starts real cache server processes for tests: redis-server, memcached and
// nutcracker, each on a free loopback port, killed when the test ends.
package testproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Proc is a running server process.
type Proc struct {
	Addr string
	Port int
	cmd  *exec.Cmd
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Redis starts redis-server with no persistence on a free port.
func Redis(t testing.TB, extra ...string) *Proc {
	t.Helper()
	port := FreePort(t)
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir()}, extra...)
	return start(t, port, need(t, "redis-server"), args...)
}

// RedisAt restarts redis-server on a given port, for tests that kill one and bring it back.
func RedisAt(t testing.TB, port int) *Proc {
	t.Helper()
	return start(t, port, need(t, "redis-server"), "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
}

// Memcached starts memcached (TCP only, one thread, 64 MB) on a free port.
func Memcached(t testing.TB, extra ...string) *Proc {
	t.Helper()
	return MemcachedAt(t, FreePort(t), extra...)
}

// MemcachedAt starts memcached on a given port, for tests that kill one and bring it back.
func MemcachedAt(t testing.TB, port int, extra ...string) *Proc {
	t.Helper()
	args := []string{"-p", strconv.Itoa(port), "-l", "127.0.0.1", "-U", "0", "-t", "1", "-m", "64"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses to run as root without it
	}
	args = append(args, extra...)
	return start(t, port, need(t, "memcached"), args...)
}

// Nutcracker starts twemproxy with the given YAML config and waits for port (its pool's listen
// port) to accept.
func Nutcracker(t testing.TB, yaml string, port int) *Proc {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "nutcracker.yml")
	if err := os.WriteFile(conf, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return start(t, port, need(t, "nutcracker"), "-c", conf, "-s", strconv.Itoa(FreePort(t)),
		"-p", filepath.Join(dir, "pid"), "-o", filepath.Join(dir, "log"))
}

func need(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install it (apt-get install -y redis-server memcached nutcracker); .ci/run does", name)
	}
	return path
}

func start(t testing.TB, port int, bin string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &Proc{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, cmd: cmd}
	t.Cleanup(p.Kill)
	if err := WaitListening(p.Addr, 5*time.Second); err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return p
}

// WaitListening waits until addr accepts connections.
func WaitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %v: %w", addr, within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops the process with SIGKILL and waits for it. It is safe to call twice.
func (p *Proc) Kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGCONT)
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// Stop freezes the process (SIGSTOP): it keeps its connections but answers nothing.
func (p *Proc) Stop() { p.cmd.Process.Signal(syscall.SIGSTOP) }

// Cont resumes a stopped process.
func (p *Proc) Cont() { p.cmd.Process.Signal(syscall.SIGCONT) }
