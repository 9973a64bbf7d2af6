package proxy

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/backends/health"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/resp"
)

// loopSwitch is a client that an event loop serves until moved is set.
type loopSwitch struct{ moved bool }

func (*loopSwitch) RemoteAddr() string         { return "127.0.0.1:1" }
func (*loopSwitch) Watch(func()) (stop func()) { return func() {} }
func (c *loopSwitch) Looped() bool             { return !c.moved }

// unreachablePool is a pool of servers nothing listens on: requests routed to it fail, and
// requests answered in the proxy never reach it. With replicas > 1 it keeps copies, and a
// server is marked down at its first failure.
func unreachablePool(t *testing.T, replicas int) *backends.Pool {
	t.Helper()
	cfg := backends.PoolConfig{
		Name:    "await",
		Servers: []backends.ServerSpec{{Addr: "127.0.0.1:1", Name: "a", Weight: 1}},
		Hash:    "fnv1a_64", Distribution: "ketama", Replicas: replicas,
		Options: backends.Options{Conns: 1, Framer: backends.RedisFramer},
	}
	if replicas > 1 {
		cfg.Servers = append(cfg.Servers, backends.ServerSpec{Addr: "127.0.0.1:2", Name: "b", Weight: 1})
		h := health.DefaultConfig()
		h.FailureLimit = 1
		cfg.Failover = &backends.Failover{Health: h, DataDir: t.TempDir(),
			ReplayLimit: backends.DefaultReplayLimit, Protocol: RedisProtocol()}
	}
	pool, err := backends.NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestRequestsThatMayBlockReturnBlockOnALoopUntouched(t *testing.T) {
	client := &loopSwitch{}
	r := NewRedis("await", "", unreachablePool(t, 1), slog.New(slog.DiscardHandler))
	s := r.NewSession(client).(*Session)
	defer s.Close()
	block := []string{"MULTI", "exec", "DISCARD", "WATCH k", "UNWATCH", "RESET", "SUBSCRIBE c",
		"psubscribe c*", "SSUBSCRIBE c", "DISCOH READ k", "BLPOP k 0", "BRPOPLPUSH a b 0",
		"XREAD BLOCK 0 STREAMS s $"}
	loop := []string{"PING", "ECHO x", "GET k", "SET k v", "MGET a b", "XREAD STREAMS s 0",
		"NOSUCHCOMMAND", "DBSIZE", "INFO"}
	for _, line := range block {
		args := bytesArgs(line)
		if got := s.Dispatch(args, resp.AppendCommand(nil, args...)); got != frontend.Block {
			t.Errorf("%s on a loop: %v; want Block", line, got)
		}
	}
	if n := r.Stats.Commands.Load(); n != 0 || len(s.queue) != 0 {
		t.Fatalf("Block left traces: %d commands counted, %d replies queued; want none", n, len(s.queue))
	}
	for _, line := range loop {
		args := bytesArgs(line)
		if got := s.Dispatch(args, resp.AppendCommand(nil, args...)); got == frontend.Block {
			t.Errorf("%s on a loop: Block; want it dispatched on the loop", line)
		}
	}
	if n := r.Stats.Commands.Load(); n != int64(len(loop)) {
		t.Errorf("%d commands counted; want %d", n, len(loop))
	}
	s.Flush(nil, func([]byte) error { return nil })

	client.moved = true
	args := bytesArgs("MULTI")
	if got := s.Dispatch(args, resp.AppendCommand(nil, args...)); got == frontend.Block {
		t.Errorf("MULTI on a goroutine: Block; want it dispatched")
	}
}

// TestCopiesServeOnALoopWhileSteady: with every copy up, requests to a pool with copies are
// dispatched on the loop; once a server is down (its writes would be journalled for replay, its
// reads fail over), every request leaves the loop first.
func TestCopiesServeOnALoopWhileSteady(t *testing.T) {
	client := &loopSwitch{}
	pool := unreachablePool(t, 2)
	log := slog.New(slog.DiscardHandler)
	s := NewRedis("await", "", pool, log).NewSession(client).(*Session)
	defer s.Close()
	ms := NewMemcache("await", "", pool, log).NewSession(client)
	defer ms.Close()
	get := bytesArgs("GET k")
	req := mcproto.Request{Kind: mcproto.Get, Keys: [][]byte{[]byte("k")}}

	if got := s.Dispatch(get, resp.AppendCommand(nil, get...)); got == frontend.Block {
		t.Fatal("GET on a loop, every copy up: Block; want it dispatched on the loop")
	}
	if got := ms.Dispatch(&req); got == frontend.Block {
		t.Fatal("memcached get on a loop, every copy up: Block; want it dispatched on the loop")
	}
	// Both calls fail (nothing listens), which marks their server down.
	s.Flush(nil, func([]byte) error { return nil })
	ms.Flush(nil, func([]byte) error { return nil })
	for deadline := time.Now().Add(5 * time.Second); pool.Steady(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pool is still steady after its servers failed")
		}
	}
	if got := s.Dispatch(get, resp.AppendCommand(nil, get...)); got != frontend.Block {
		t.Errorf("GET on a loop, a copy down: %v; want Block", got)
	}
	if got := ms.Dispatch(&req); got != frontend.Block {
		t.Errorf("memcached get on a loop, a copy down: %v; want Block", got)
	}
}

func bytesArgs(line string) [][]byte {
	var args [][]byte
	for _, f := range strings.Fields(line) {
		args = append(args, []byte(f))
	}
	return args
}
