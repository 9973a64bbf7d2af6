package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/discoh/discoh/internal/testproc"
	"github.com/redis/go-redis/v9"
)

// readTimeout is the clients' reply timeout: long enough for a loaded
// machine, short enough that black hole tests stay fast.
const readTimeout = 300 * time.Millisecond

// setup starts redis-server, a proxy to it and a go-redis client through
// the proxy, with one connection and no retries so every fault shows.
func setup(t *testing.T) (*testproc.Proc, *Proxy, *redis.Client) {
	t.Helper()
	srv := testproc.Redis(t)
	p, err := New(srv.Addr)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return srv, p, newClient(t, p.Addr())
}

func newClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: addr, PoolSize: 1, MaxRetries: -1, DisableIdentity: true,
		DialTimeout: time.Second, ReadTimeout: readTimeout, WriteTimeout: readTimeout,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func ping(t *testing.T, c *redis.Client) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	err := c.Ping(t.Context()).Err()
	return time.Since(start), err
}

func mustPing(t *testing.T, c *redis.Client, when string) {
	t.Helper()
	if _, err := ping(t, c); err != nil {
		t.Fatalf("PING %s: %v", when, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestForwards(t *testing.T) {
	_, _, c := setup(t)
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	cmds, err := c.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for range 100 {
			pipe.Get(ctx, "k")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	for i, cmd := range cmds {
		if got := cmd.(*redis.StringCmd).Val(); got != "v" {
			t.Fatalf("GET #%d = %q; want %q", i, got, "v")
		}
	}
}

func TestLatency(t *testing.T) {
	_, p, c := setup(t)
	const latency = 150 * time.Millisecond
	mustPing(t, c, "before")
	p.SetLatency(latency)
	got, err := ping(t, c)
	if err != nil || got < latency || got > latency+time.Second {
		t.Errorf("PING with latency %v took %v, err %v; want at least %v", latency, got, err, latency)
	}
	start := time.Now()
	_, err = c.Pipelined(t.Context(), func(pipe redis.Pipeliner) error {
		for range 10 {
			pipe.Ping(t.Context())
		}
		return nil
	})
	if got := time.Since(start); err != nil || got < latency || got > 4*latency {
		t.Errorf("10 pipelined PINGs took %v, err %v; want about %v: latency is per round trip, not per command",
			got, err, latency)
	}
	p.SetLatency(0)
	if got, err := ping(t, c); err != nil || got >= latency {
		t.Errorf("PING after removing the latency took %v, err %v; want under %v", got, err, latency)
	}
}

func TestCut(t *testing.T) {
	srv, p, c := setup(t)
	mustPing(t, c, "before")
	blocked := make(chan error, 1)
	go func() { blocked <- c.BLPop(context.Background(), 0, "empty").Err() }()
	waitBlocked(t, srv.Addr)
	p.Cut()
	select {
	case err := <-blocked:
		if err == nil || isTimeout(err) {
			t.Errorf("BLPOP after Cut = %v; want a connection error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BLPOP still blocked 5s after Cut")
	}
	mustPing(t, c, "on a new connection after Cut")
}

// waitBlocked waits until a client is blocked on the Redis at addr.
func waitBlocked(t *testing.T, addr string) {
	t.Helper()
	direct := newClient(t, addr)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		info, err := direct.Info(t.Context(), "clients").Result()
		if err == nil && strings.Contains(info, "blocked_clients:1") {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no client blocked on the server after 5s")
}

func TestBlackhole(t *testing.T) {
	_, p, c := setup(t)
	mustPing(t, c, "before")
	p.Blackhole(true)
	if got, err := ping(t, c); !isTimeout(err) || got < readTimeout {
		t.Errorf("PING into the black hole: %v after %v; want a timeout after %v", err, got, readTimeout)
	}
	// go-redis dropped the timed-out connection; the new one is swallowed too.
	if err := c.Set(t.Context(), "k", "v", 0).Err(); !isTimeout(err) {
		t.Errorf("SET on a new connection into the black hole: %v; want a timeout", err)
	}
	p.Blackhole(false)
	mustPing(t, c, "after the black hole")
	if err := c.Get(t.Context(), "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET k = %v; want redis.Nil: the black hole must not forward the SET", err)
	}
}

func TestRefuse(t *testing.T) {
	_, p, old := setup(t)
	mustPing(t, old, "before")
	p.Refuse(true)
	fresh := newClient(t, p.Addr())
	if got, err := ping(t, fresh); err == nil || isTimeout(err) || got >= readTimeout {
		t.Errorf("PING on a refused connection: %v after %v; want a connection error at once", err, got)
	}
	mustPing(t, old, "on a connection opened before Refuse")
	p.Refuse(false)
	mustPing(t, fresh, "after Refuse(false)")
}

func TestTargetDown(t *testing.T) {
	p, err := New("127.0.0.1:" + strconv.Itoa(testproc.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := newClient(t, p.Addr())
	if _, err := ping(t, c); err == nil || isTimeout(err) {
		t.Errorf("PING through a proxy to a dead target: %v; want a connection error", err)
	}
}

func TestClose(t *testing.T) {
	_, p, c := setup(t)
	mustPing(t, c, "before")
	p.Blackhole(true)
	swallowed, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer swallowed.Close()
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	swallowed.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := swallowed.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read on a swallowed connection after Close: %v; want EOF", err)
	}
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		c.Close()
		t.Errorf("dial after Close succeeded; want refused")
	}
}
