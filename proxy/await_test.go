package proxy

import (
	"errors"
	"log/slog"
	"net"
	"strconv"
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
func (c *loopSwitch) ID() uint64               { return 1 }
func (c *loopSwitch) Kept() any                { return nil }

// unreachablePool is a pool of one server nothing listens on: requests routed to it fail, and
// requests answered in the proxy never reach it.
func unreachablePool(t *testing.T) *backends.Pool {
	t.Helper()
	pool, err := backends.NewPool(backends.PoolConfig{
		Name:    "await",
		Servers: []backends.ServerSpec{{Addr: "127.0.0.1:1", Name: "a", Weight: 1}},
		Hash:    "fnv1a_64", Distribution: "ketama", Replicas: 1,
		Options: backends.Options{Conns: 1, Framer: RedisFramer},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// silentServer accepts connections and never replies.
func silentServer(t *testing.T) string {
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

// guardedPool is a pool of two silent servers with failover (health tracking and a replay
// queue per server), as cmd/discoh builds every pool of real servers.
func guardedPool(t *testing.T, replicas int) *backends.Pool {
	t.Helper()
	h := health.DefaultConfig()
	h.RetryTimeout, h.MaxBackoff = time.Hour, time.Hour // a server ejected stays down
	pool, err := backends.NewPool(backends.PoolConfig{
		Name: "await",
		Servers: []backends.ServerSpec{{Addr: silentServer(t), Name: "a", Weight: 1},
			{Addr: silentServer(t), Name: "b", Weight: 1}},
		Hash: "fnv1a_64", Distribution: "ketama", Replicas: replicas,
		Options: backends.Options{Timeout: time.Hour, Conns: 1, Framer: RedisFramer},
		Failover: &backends.Failover{Health: h, DataDir: t.TempDir(),
			ReplayLimit: backends.DefaultReplayLimit, Protocol: RedisProtocol()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestRequestsThatMayBlockReturnBlockOnALoopUntouched(t *testing.T) {
	client := &loopSwitch{}
	r := NewRedis("await", "", unreachablePool(t), slog.New(slog.DiscardHandler))
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

// TestRequestsLeaveTheLoopWhileAServerIsDown: while every server is up, requests are dispatched
// on the loop, with one copy per key or several; once one is down, a write to its keys would be
// journalled for its replay (an fsync), so every request leaves the loop first, a memcached
// reject that deletes the key too.
func TestRequestsLeaveTheLoopWhileAServerIsDown(t *testing.T) {
	for _, replicas := range []int{1, 2} {
		t.Run(strconv.Itoa(replicas)+"_copies", func(t *testing.T) {
			client := &loopSwitch{}
			pool := guardedPool(t, replicas)
			log := slog.New(slog.DiscardHandler)
			s := NewRedis("await", "", pool, log).NewSession(client).(*Session)
			ms := NewMemcache("await", "", pool, log).NewSession(client)
			set := bytesArgs("SET k v")
			req := mcproto.Request{Kind: mcproto.Get, Keys: [][]byte{[]byte("k")}}
			tooBig := mcproto.Request{Kind: mcproto.Set, Keys: [][]byte{[]byte("k")}}
			refusal := &mcproto.Error{Delete: true, Skip: 1}

			if got := s.Dispatch(set, resp.AppendCommand(nil, set...)); got == frontend.Block {
				t.Error("SET on a loop, every server up: Block; want it dispatched on the loop")
			}
			if got := ms.Dispatch(&req); got == frontend.Block {
				t.Error("memcached get on a loop, every server up: Block; want it dispatched on the loop")
			}
			for _, server := range pool.Servers {
				server.Missed([]byte("other"), errors.New("test")) // ejects it
			}
			before := journalled(pool)
			if got := s.Dispatch(set, resp.AppendCommand(nil, set...)); got != frontend.Block {
				t.Errorf("SET on a loop, servers down: %v; want Block", got)
			}
			if got := ms.Dispatch(&req); got != frontend.Block {
				t.Errorf("memcached get on a loop, servers down: %v; want Block", got)
			}
			if got := ms.Reject(refusal, &tooBig); got != frontend.Block {
				t.Errorf("memcached reject that deletes, on a loop, servers down: %v; want Block", got)
			}
			if n := journalled(pool) - before; n != 0 {
				t.Errorf("%d keys journalled for replay on the loop; want none", n)
			}
		})
	}
}

// journalled counts the keys waiting in the servers' replay queues.
func journalled(pool *backends.Pool) int {
	n := 0
	for _, s := range pool.Servers {
		n += s.ReplayQueue()
	}
	return n
}

// TestSplitReadsAskOneCopy: a read split across servers asks each key's best copy only (a
// failed part asks the others); a split write goes to every copy and counts as in flight.
func TestSplitReadsAskOneCopy(t *testing.T) {
	var specs []backends.ServerSpec
	for i, name := range []string{"a", "b", "c"} {
		specs = append(specs, backends.ServerSpec{Addr: "127.0.0.1:" + strconv.Itoa(i+1), Name: name, Weight: 1})
	}
	pool, err := backends.NewPool(backends.PoolConfig{Name: "split", Servers: specs, Hash: "fnv1a_64",
		Distribution: "ketama", Replicas: 2, Options: backends.Options{Conns: 1, Framer: RedisFramer}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := NewRedis("split", "", pool, slog.New(slog.DiscardHandler)).NewSession(&loopSwitch{moved: true}).(*Session)
	defer s.Close()
	a, b := "k0", ""
	for i := 1; b == ""; i++ {
		if k := "k" + strconv.Itoa(i); !pool.SameCopies([][]byte{[]byte(a), []byte(k)}) {
			b = k
		}
	}
	mget := bytesArgs("MGET " + a + " " + b)
	s.Dispatch(mget, resp.AppendCommand(nil, mget...))
	if sp := s.queue[0].split; sp == nil || len(sp.calls) != 2 || len(sp.copies) != 0 || pool.Writing([]byte(a)) {
		t.Errorf("MGET %s %s: %+v, %s counted as written %v; want 2 calls, no copies, not written", a, b, sp, a, pool.Writing([]byte(a)))
	}
	mset := bytesArgs("MSET " + a + " 1 " + b + " 2")
	s.Dispatch(mset, resp.AppendCommand(nil, mset...))
	if sp := s.queue[1].split; sp == nil || len(sp.copies) == 0 || !pool.Writing([]byte(a)) {
		t.Errorf("MSET %s 1 %s 2: %+v, %s counted as written %v; want calls to the other copies, written", a, b, sp, a, pool.Writing([]byte(a)))
	}
	s.Flush(nil, func([]byte) error { return nil })
}

func bytesArgs(line string) [][]byte {
	var args [][]byte
	for _, f := range strings.Fields(line) {
		args = append(args, []byte(f))
	}
	return args
}

// TestLoopableWithoutTransaction: a session in a transaction needs its goroutine; once the
// transaction ends it may go back to a loop, and not while a server of its pool is down.
func TestLoopableWithoutTransaction(t *testing.T) {
	pool := guardedPool(t, 1)
	s := NewRedis("await", "", pool, slog.New(slog.DiscardHandler)).NewSession(&loopSwitch{moved: true}).(*Session)
	defer s.Close()
	do := func(line string) {
		args := bytesArgs(line)
		s.Dispatch(args, resp.AppendCommand(nil, args...))
		s.Flush(nil, func([]byte) error { return nil })
	}
	if !s.Loopable() {
		t.Fatal("a new session is not loopable")
	}
	do("MULTI")
	if s.Loopable() {
		t.Error("loopable inside MULTI")
	}
	do("DISCARD")
	if !s.Loopable() {
		t.Error("not loopable after DISCARD")
	}
	pool.Servers[0].Missed([]byte("k"), errors.New("test")) // ejects it
	if s.Loopable() {
		t.Error("loopable while a server of the pool is down")
	}
}
