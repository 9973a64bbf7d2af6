package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/internal/testproc"
)

// stack is discoh running in the test process over real servers.
type stack struct {
	addr    string
	servers []*testproc.Proc
	stop    func() error // ends run and returns its error
}

// startRedisStack starts n redis-servers and discoh over them with the extra pool YAML lines.
func startRedisStack(t *testing.T, n int, extra string) *stack {
	t.Helper()
	return startStack(t, true, n, extra)
}

// startMemcacheStack starts n memcached and discoh over them with the extra pool YAML lines.
func startMemcacheStack(t *testing.T, n int, extra string) *stack {
	t.Helper()
	return startStack(t, false, n, extra)
}

func startStack(t *testing.T, isRedis bool, n int, extra string) *stack {
	t.Helper()
	st := &stack{}
	var servers []string
	for i := range n {
		var p *testproc.Proc
		if isRedis {
			p = testproc.Redis(t)
		} else {
			p = testproc.Memcached(t)
		}
		st.servers = append(st.servers, p)
		servers = append(servers, fmt.Sprintf("      - %s:1 s%d", p.Addr, i+1))
	}
	st.addr = fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
	yaml := fmt.Sprintf(`pools:
  main:
    listen: %s
    redis: %v
    hash: fnv1a_64
    distribution: ketama
    hash_tag: "{}"
    timeout: 1s
    data_dir: %s
%s
    servers:
%s
`, st.addr, isRedis, t.TempDir(), extra, strings.Join(servers, "\n"))
	st.stop = startDiscoh(t, yaml, st.addr)
	return st
}

// startDiscoh runs discoh on the YAML config until the test ends; its log goes to stderr when
// TEST_DISCOH_LOG is set.
func startDiscoh(t *testing.T, yaml, addr string) func() error {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logTo io.Writer = io.Discard
	if os.Getenv("TEST_DISCOH_LOG") != "" {
		logTo = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	go func() { done <- run(ctx, cfg, log) }()
	if err := testproc.WaitListening(addr, 5*time.Second); err != nil {
		cancel()
		t.Fatalf("discoh: %v (run: %v)", err, <-done)
	}
	var result error
	stopped := false
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			result = <-done
		}
		return result
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return stop
}

// client returns a go-redis client of discoh speaking protocol proto (2 or 3).
func (st *stack) client(t *testing.T, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: st.addr, Protocol: proto, MaxRetries: -1,
		DialTimeout: time.Second, ReadTimeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// direct returns a go-redis client of server i, bypassing discoh.
func (st *stack) direct(t *testing.T, i int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: st.servers[i].Addr})
	t.Cleanup(func() { c.Close() })
	return c
}
