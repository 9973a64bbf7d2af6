package ring

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file starts the real servers the nutcracker comparison runs
// against, each on a free loopback port and killed when the test ends.

const (
	redisServerPath = "/usr/bin/redis-server"
	memcachedPath   = "/usr/bin/memcached"
	nutcrackerPath  = "/usr/sbin/nutcracker"
	startTimeout    = 10 * time.Second
)

// requireBinary fails the test, naming the package to install, when a
// server binary is missing.
func requireBinary(t *testing.T, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is needed for this test and is missing (%v); install it: apt-get install %s", path, err, pkg)
	}
}

// claimedPorts holds the ports freePort has handed out, since the kernel
// may offer a just-closed port again.
var claimedPorts = struct {
	sync.Mutex
	ports map[int]bool
}{ports: make(map[int]bool)}

// freePort returns a loopback port nobody listened on a moment ago and
// that no earlier call returned.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if claimPort(port) {
			return port
		}
	}
	t.Fatalf("the kernel kept offering ports already handed out")
	return 0
}

func claimPort(port int) bool {
	claimedPorts.Lock()
	defer claimedPorts.Unlock()
	if claimedPorts.ports[port] {
		return false
	}
	claimedPorts.ports[port] = true
	return true
}

func loopback(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// startProcess runs path with args, its output in a log file in the test's
// temporary directory, and kills it when the test ends. It returns the
// log's path.
func startProcess(t *testing.T, path string, args ...string) string {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(path)+".log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating log for %s: %v", path, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	return logPath
}

// startRedisServers starts n redis-servers with databases enough for one
// per test case, each listening on a loopback port and a unix socket, and
// returns the addresses and socket paths once all accept connections.
func startRedisServers(t *testing.T, n, databases int) (addrs, sockets []string) {
	t.Helper()
	requireBinary(t, redisServerPath, "redis-server")
	dir := t.TempDir()
	addrs = make([]string, n)
	sockets = make([]string, n)
	for i := range addrs {
		port := freePort(t)
		addrs[i] = loopback(port)
		sockets[i] = filepath.Join(dir, "redis"+strconv.Itoa(i)+".sock")
		startProcess(t, redisServerPath, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--unixsocket", sockets[i], "--save", "", "--appendonly", "no",
			"--databases", strconv.Itoa(databases))
	}
	if err := waitAllListening(append(slices.Clone(addrs), sockets...)); err != nil {
		t.Fatal(err)
	}
	return addrs, sockets
}

// startMemcacheds starts memcached servers without UDP on addrs, as the
// current user (memcached run by root refuses to start without -u).
func startMemcacheds(t *testing.T, addrs []string) {
	t.Helper()
	requireBinary(t, memcachedPath, "memcached")
	me, err := user.Current()
	if err != nil {
		t.Fatalf("looking up the current user for memcached -u: %v", err)
	}
	for _, addr := range addrs {
		host, port, _ := net.SplitHostPort(addr)
		startProcess(t, memcachedPath, "-p", port, "-l", host, "-U", "0", "-u", me.Username)
	}
	if err := waitAllListening(addrs); err != nil {
		t.Fatal(err)
	}
}

// freeLoopbacks returns n addresses on 127.0.0.1 with free ports.
func freeLoopbacks(t *testing.T, n int) []string {
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = loopback(freePort(t))
	}
	return addrs
}

// freeOnPort returns n loopback addresses (127.x.y.z, which Linux routes
// to the loopback interface) where port is free, so several servers can
// use one fixed port such as memcached's 11211.
func freeOnPort(t *testing.T, n, port int) []string {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
	var addrs []string
	for range 100 * n {
		ip := net.IPv4(127, byte(1+rng.IntN(254)), byte(rng.IntN(256)), byte(1+rng.IntN(254)))
		addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
		if slices.Contains(addrs, addr) {
			continue
		}
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			if addrs = append(addrs, addr); len(addrs) == n {
				return addrs
			}
		}
	}
	t.Fatalf("found only %d of %d loopback addresses with port %d free", len(addrs), n, port)
	return nil
}

// startNutcracker runs nutcracker on config and waits for every listen
// address in it.
func startNutcracker(t *testing.T, config string, listens []string) {
	t.Helper()
	requireBinary(t, nutcrackerPath, "nutcracker")
	dir := t.TempDir()
	conf := filepath.Join(dir, "nutcracker.yml")
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatalf("writing nutcracker config: %v", err)
	}
	logPath := filepath.Join(dir, "nutcracker.log")
	output := startProcess(t, nutcrackerPath, "-c", conf,
		"-s", strconv.Itoa(freePort(t)), "-a", "127.0.0.1",
		"-p", filepath.Join(dir, "nutcracker.pid"), "-o", logPath)
	if err := waitAllListening(listens); err != nil {
		log, _ := os.ReadFile(logPath)
		out, _ := os.ReadFile(output)
		t.Fatalf("nutcracker: %v\noutput:\n%s\nlog:\n%s", err, out, log)
	}
}

// waitAllListening waits until every one of addrs, loopback addresses or
// unix socket paths, accepts connections.
func waitAllListening(addrs []string) error {
	var wg sync.WaitGroup
	failed := make(chan string, len(addrs))
	for _, addr := range addrs {
		wg.Go(func() {
			if !listensWithin(addr, startTimeout) {
				failed <- addr
			}
		})
	}
	wg.Wait()
	close(failed)
	for addr := range failed {
		return fmt.Errorf("nothing listening on %s after %v", addr, startTimeout)
	}
	return nil
}

func listensWithin(addr string, timeout time.Duration) bool {
	network := "tcp"
	if strings.HasPrefix(addr, "/") {
		network = "unix"
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout(network, addr, time.Second); err == nil {
			conn.Close()
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}
