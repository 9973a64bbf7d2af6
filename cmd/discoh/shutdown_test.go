package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/internal/testproc"
)

func TestCLIArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    string // the config file, when the arguments are accepted
		wantErr string
	}{
		{nil, "config.yaml", ""},
		{[]string{"my.yaml"}, "my.yaml", ""},
		{[]string{"-config", "my.yaml"}, "my.yaml", ""},
		{[]string{"-version", "my.yaml"}, "my.yaml", ""},
		{[]string{"-config", "a.yaml", "b.yaml"}, "", "config file given twice: -config a.yaml and b.yaml"},
		{[]string{"a.yaml", "b.yaml"}, "", `want at most one argument, the config file (flags go before it); got ["a.yaml" "b.yaml"]`},
		{[]string{"my.yaml", "-version"}, "", `want at most one argument, the config file (flags go before it); got ["my.yaml" "-version"]`},
		{[]string{"-confg", "my.yaml"}, "", "flag provided but not defined: -confg"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			opts, err := parseArgs(tt.args, &out)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %v; want error %q", err, tt.wantErr)
				}
				if !strings.Contains(out.String(), tt.wantErr) || !strings.Contains(out.String(), "Usage: discoh") {
					t.Errorf("printed %q; want the error and the usage", out.String())
				}
				return
			}
			if err != nil || opts.config != tt.want {
				t.Errorf("got config %q, error %v; want %q", opts.config, err, tt.want)
			}
		})
	}
}

// TestCLIHelpListsEveryFlag checks that -h prints the usage with every flag discoh defines.
func TestCLIHelpListsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseArgs([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v; want flag.ErrHelp", err)
	}
	for _, name := range []string{"config", "version", "cpuprofile"} {
		if !strings.Contains(out.String(), "  -"+name+" ") && !strings.Contains(out.String(), "  -"+name+"\n") {
			t.Errorf("-h printed\n%s\nwant -%s listed", out.String(), name)
		}
	}
	if !strings.Contains(out.String(), "[config.yaml]") {
		t.Errorf("-h printed\n%s\nwant the config file argument shown", out.String())
	}
}

// embeddedPools is a config of a Redis and a memcached pool of in-process servers.
func embeddedPools(redisAddr, mcAddr string) string {
	pool := func(name, listen string, isRedis bool) string {
		return fmt.Sprintf("  %s:\n    listen: %s\n    redis: %v\n    embedded: true\n    servers:\n"+
			"      - 127.0.0.1:0:1 a\n      - 127.0.0.1:0:1 b\n", name, listen, isRedis)
	}
	return "pools:\n" + pool("main", redisAddr, true) + pool("memcache", mcAddr, false)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
}

// blpop sends BLPOP key 0 on a new connection, which then waits for as long as discoh lets it.
func blpop(t *testing.T, addr, key string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "*3\r\n$5\r\nBLPOP\r\n$%d\r\n%s\r\n$1\r\n0\r\n", len(key), key)
	return nc
}

// idleClient connects to addr, sends one request and reads its reply.
func idleClient(t *testing.T, addr, request string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, request); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Read(make([]byte, 64)); err != nil {
		t.Fatalf("%s: %v", strings.TrimSpace(request), err)
	}
	return nc
}

// TestShutdownStopsEveryPoolAtOnce checks that a shutdown stops every pool accepting at once and
// drains them in parallel: a client blocked on one pool holds up neither the other pool's
// listener nor the closing of its idle clients.
func TestShutdownStopsEveryPoolAtOnce(t *testing.T) {
	old := drainTimeout
	drainTimeout = 3 * time.Second
	t.Cleanup(func() { drainTimeout = old })
	redisAddr, mcAddr := freeAddr(t), freeAddr(t)
	cfg, err := config.Parse([]byte(embeddedPools(redisAddr, mcAddr)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	for _, addr := range []string{redisAddr, mcAddr} {
		if err := testproc.WaitListening(addr, 5*time.Second); err != nil {
			cancel()
			t.Fatalf("%v (run: %v)", err, <-done)
		}
	}
	idle := idleClient(t, mcAddr, "version\r\n")
	blocked := blpop(t, redisAddr, "never")
	time.Sleep(100 * time.Millisecond) // the BLPOP reaches its server
	start := time.Now()
	cancel()

	idle.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle memcached client read %d bytes, %v within 1s of the shutdown; want EOF", n, err)
	}
	// The pools stop in parallel goroutines: "at once" is within a few milliseconds of each
	// other (one pool at a time kept the others accepting for the whole drain, 10 s).
	for _, addr := range []string{redisAddr, mcAddr} {
		for {
			nc, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				break
			}
			nc.Close()
			if time.Since(start) > 200*time.Millisecond {
				t.Errorf("%s accepted a connection %v after the shutdown began; want it refused", addr, time.Since(start))
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	took := time.Since(start)
	if took < drainTimeout-stopGrace-100*time.Millisecond || took > drainTimeout+time.Second {
		t.Errorf("run returned %v after the shutdown began, with a client in BLPOP 0; want about drainTimeout (%v)", took, drainTimeout)
	}
	blocked.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 256)
	if n, err := blocked.Read(buf); !strings.HasPrefix(string(buf[:n]), "-ERR ") {
		t.Errorf("blocked client read %q, %v at shutdown; want an error reply", buf[:n], err)
	}
}

// A shutdown with a backlog of clients that pipelined GETs of large values and never read them
// ends within drainTimeout: the calls still out fail when the drain time is up (they were
// waited for, 4.6 s past a 10 s drain time with 50 such clients).
func TestShutdownWithABacklogKeepsItsDeadline(t *testing.T) {
	old := drainTimeout
	drainTimeout = 2 * time.Second
	t.Cleanup(func() { drainTimeout = old })
	st := startRedisStack(t, 1, "    server_connections: 1")
	if err := st.client(t, 2).Set(t.Context(), "big", strings.Repeat("x", 100_000), 0).Err(); err != nil {
		t.Fatal(err)
	}
	req := strings.Repeat("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n", 2000)
	for range 20 {
		nc, err := net.Dial("tcp", st.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		go io.WriteString(nc, req)
	}
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	if err := st.stop(); err != nil {
		t.Errorf("run: %v", err)
	}
	if took := time.Since(start); took > drainTimeout+300*time.Millisecond {
		t.Errorf("shutdown with 20 clients not reading took %v; want at most drainTimeout (%v)", took, drainTimeout)
	}
}

// TestShutdownHelperMain is not a test: TestShutdownSignals runs the test binary with it as
// discoh's main, with the arguments after "--".
func TestShutdownHelperMain(t *testing.T) {
	if os.Getenv("GO_WANT_DISCOH_MAIN") != "1" {
		t.Skip("discoh's main, for TestShutdownSignals")
	}
	os.Args = append([]string{"discoh"}, flag.Args()...)
	main()
}

// startMain runs discoh's main in a process of its own on a config file, as a user would.
func startMain(t *testing.T, yaml string, addrs ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "discoh.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestShutdownHelperMain$", "--", path)
	// The race detector would otherwise sleep a second before the process exits.
	cmd.Env = append(os.Environ(), "GO_WANT_DISCOH_MAIN=1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for _, addr := range addrs {
		if err := testproc.WaitListening(addr, 10*time.Second); err != nil {
			t.Fatalf("%v\n%s", err, &stderr)
		}
	}
	return cmd, &stderr
}

// waitExit waits for cmd to exit and returns how long that took from start.
func waitExit(t *testing.T, cmd *exec.Cmd, start time.Time, within time.Duration) time.Duration {
	t.Helper()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
		return time.Since(start)
	case <-time.After(within):
		t.Fatalf("discoh still running %v after the first signal", within)
		return 0
	}
}

// TestShutdownSignals runs discoh as a process: SIGTERM with idle clients stops it at once, and
// with a client blocked in BLPOP 0, a second signal stops it at once instead of after the drain.
func TestShutdownSignals(t *testing.T) {
	t.Run("idle clients", func(t *testing.T) {
		redisAddr, mcAddr := freeAddr(t), freeAddr(t)
		cmd, stderr := startMain(t, embeddedPools(redisAddr, mcAddr), redisAddr, mcAddr)
		for range 50 {
			idleClient(t, redisAddr, "PING\r\n")
			idleClient(t, mcAddr, "version\r\n")
		}
		start := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		took := waitExit(t, cmd, start, 5*time.Second)
		t.Logf("SIGTERM with 100 idle clients: exited after %v", took)
		if !cmd.ProcessState.Success() || took > time.Second {
			t.Errorf("exited %v after SIGTERM with %v; want 0 within 1s\n%s", took, cmd.ProcessState, stderr)
		}
	})
	t.Run("second signal", func(t *testing.T) {
		redisAddr, mcAddr := freeAddr(t), freeAddr(t)
		cmd, stderr := startMain(t, embeddedPools(redisAddr, mcAddr), redisAddr, mcAddr)
		blpop(t, redisAddr, "never")
		time.Sleep(100 * time.Millisecond) // the BLPOP reaches its server
		start := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		time.Sleep(300 * time.Millisecond)
		if cmd.ProcessState != nil {
			t.Fatalf("exited on the first signal with a client in BLPOP 0; want it to drain\n%s", stderr)
		}
		cmd.Process.Signal(syscall.SIGINT)
		took := waitExit(t, cmd, start, 5*time.Second)
		t.Logf("SIGTERM, then SIGINT 300ms later, with a client in BLPOP 0: exited after %v (%v)", took, cmd.ProcessState)
		if took > 2*time.Second {
			t.Errorf("exited %v after the first signal; want the second to stop it at once\n%s", took, stderr)
		}
	})
}
