package proxy

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/resp"
)

// loopSwitch is a client that an event loop serves until moved is set.
type loopSwitch struct{ moved bool }

func (*loopSwitch) RemoteAddr() string         { return "127.0.0.1:1" }
func (*loopSwitch) Watch(func()) (stop func()) { return func() {} }
func (c *loopSwitch) Looped() bool             { return !c.moved }

// unreachablePool is a pool of one server nothing listens on: requests routed to it fail, and
// requests answered in the proxy never reach it.
func unreachablePool(t *testing.T, replicas int) *backends.Pool {
	t.Helper()
	servers := []backends.ServerSpec{{Addr: "127.0.0.1:1", Name: "a", Weight: 1}}
	if replicas > 1 {
		servers = append(servers, backends.ServerSpec{Addr: "127.0.0.1:2", Name: "b", Weight: 1})
	}
	pool, err := backends.NewPool(backends.PoolConfig{
		Name: "await", Servers: servers, Hash: "fnv1a_64", Distribution: "ketama", Replicas: replicas,
		Options: backends.Options{Conns: 1, Framer: backends.RedisFramer},
	})
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

func TestEveryRequestBlocksOnALoopWithCopies(t *testing.T) {
	client := &loopSwitch{}
	pool := unreachablePool(t, 2)
	s := NewRedis("await", "", pool, slog.New(slog.DiscardHandler)).NewSession(client).(*Session)
	defer s.Close()
	args := bytesArgs("GET k")
	if got := s.Dispatch(args, resp.AppendCommand(nil, args...)); got != frontend.Block {
		t.Errorf("GET on a loop, replicas 2: %v; want Block", got)
	}
	ms := NewMemcache("await", "", pool, slog.New(slog.DiscardHandler)).NewSession(client)
	defer ms.Close()
	req := mcproto.Request{Kind: mcproto.Get, Keys: [][]byte{[]byte("k")}}
	if got := ms.Dispatch(&req); got != frontend.Block {
		t.Errorf("memcached get on a loop, replicas 2: %v; want Block", got)
	}
}

func bytesArgs(line string) [][]byte {
	var args [][]byte
	for _, f := range strings.Fields(line) {
		args = append(args, []byte(f))
	}
	return args
}
