// Package backendstest holds pools and servers for the tests of the protocol packages: servers
// that never answer, pools of them, and the listing of a real server's keys.
package backendstest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/backends/health"
	"github.com/discoh/discoh/config"
)

// Unreachable is a pool of one server nothing listens on: requests routed to it fail, and
// requests answered in the proxy never reach it.
func Unreachable(t testing.TB, framer backends.Framer) *backends.Pool {
	t.Helper()
	pool, err := backends.NewPool(backends.PoolConfig{
		Name:    "await",
		Servers: []backends.ServerSpec{{Addr: "127.0.0.1:1", Name: "a", Weight: 1}},
		Hash:    "fnv1a_64", Distribution: "ketama", Replicas: 1,
		Options: backends.Options{Conns: 1, Framer: framer},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Silent is the address of a server that accepts connections and never replies.
func Silent(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

// Guarded is a pool of two silent servers with failover (health tracking and a replay queue per
// server), as cmd/discoh builds every pool of real servers.
func Guarded(t testing.TB, replicas int, framer backends.Framer, proto backends.Protocol) *backends.Pool {
	t.Helper()
	h := health.DefaultConfig()
	h.RetryTimeout, h.MaxBackoff = time.Hour, time.Hour // a server ejected stays down
	pool, err := backends.NewPool(backends.PoolConfig{
		Name: "await",
		Servers: []backends.ServerSpec{{Addr: Silent(t), Name: "a", Weight: 1},
			{Addr: Silent(t), Name: "b", Weight: 1}},
		Hash: "fnv1a_64", Distribution: "ketama", Replicas: replicas,
		Options: backends.Options{Timeout: time.Hour, Conns: 1, Framer: framer},
		Failover: &backends.Failover{Health: h, DataDir: t.TempDir(),
			ReplayLimit: backends.DefaultReplayLimit, Protocol: proto},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Journalled counts the keys waiting in the servers' replay queues.
func Journalled(pool *backends.Pool) int {
	n := 0
	for _, s := range pool.Servers {
		n += s.ReplayQueue()
	}
	return n
}

// ListKeys lists the keys of the server at addr with list (a backends.Protocol's List) and
// returns them sorted, and the sizes of the batches list handed out.
func ListKeys(t testing.TB, addr string, list func(context.Context, io.ReadWriter, func([][]byte) error) error) ([]string, []int) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	var keys []string
	var batches []int
	err = list(t.Context(), nc, func(batch [][]byte) error {
		for _, k := range batch {
			keys = append(keys, string(k))
		}
		batches = append(batches, len(batch))
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", addr, err)
	}
	slices.Sort(keys)
	return keys, batches
}

// Keys are n keys and odd (bytes each protocol escapes or frames specially), sorted.
func Keys(n int, odd ...string) []string {
	keys := slices.Clone(odd)
	for i := range n {
		keys = append(keys, fmt.Sprintf("k:%05d", i))
	}
	slices.Sort(keys)
	return keys
}

// Send writes requests to addr and reads until want replies of the form reply came back.
func Send(t testing.TB, addr string, reqs []byte, reply string, want int) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(reqs); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 64<<10)
	for bytes.Count(got, []byte(reply)) < want {
		n, err := nc.Read(buf)
		if err != nil {
			t.Fatalf("after %d of %d replies: %v", bytes.Count(got, []byte(reply)), want, err)
		}
		got = append(got, buf[:n]...)
	}
}

// Pool builds a pool of the servers at addrs as cmd/discoh does for a pool with default
// settings: default timeout and connections, the protocol's framer and handshake (nil for
// none), failover with health tracking and a replay queue.
func Pool(tb testing.TB, addrs []string, framer backends.Framer, handshake func(net.Conn, int, time.Duration) error, proto backends.Protocol) *backends.Pool {
	tb.Helper()
	pc := config.DefaultPool("hot")
	h := health.DefaultConfig()
	h.FailureLimit, h.RetryTimeout = pc.ServerFailureLimit, pc.ServerRetryTimeout
	h.MaxBackoff = max(h.MaxBackoff, h.RetryTimeout)
	var servers []backends.ServerSpec
	for i, addr := range addrs {
		servers = append(servers, backends.ServerSpec{Addr: addr, Name: "s" + strconv.Itoa(i+1), Weight: 1})
	}
	pool, err := backends.NewPool(backends.PoolConfig{
		Name: pc.Name, Servers: servers, Hash: pc.Hash,
		Distribution: pc.Distribution, HashTag: pc.HashTag, Replicas: pc.Replicas, AutoEject: pc.AutoEjectHosts,
		Options: backends.Options{Timeout: pc.Timeout, Conns: pc.ServerConnections, Framer: framer, Handshake: handshake},
		Failover: &backends.Failover{Health: h, DataDir: tb.TempDir(),
			ReplayLimit: backends.DefaultReplayLimit, Protocol: proto},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}
