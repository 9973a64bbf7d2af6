package respserver

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/backends/backendstest"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/frontend/frontendtest"
	"github.com/discoh/discoh/resp"
)

func TestRequestsThatMayBlockReturnBlockOnALoopUntouched(t *testing.T) {
	client := &frontendtest.Client{}
	r := NewRedis("await", "", backendstest.Unreachable(t, Framer), slog.New(slog.DiscardHandler))
	s := r.NewSession(client)
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

	client.Moved = true
	args := bytesArgs("MULTI")
	if got := s.Dispatch(args, resp.AppendCommand(nil, args...)); got == frontend.Block {
		t.Errorf("MULTI on a goroutine: Block; want it dispatched")
	}
}

// TestRequestsLeaveTheLoopWhileAServerIsDown: while every server is up, requests are dispatched
// on the loop, with one copy per key or several; once one is down, a write to its keys would be
// journalled for its replay (an fsync), so every request leaves the loop first (see mcserver's
// test of the same name for memcached).
func TestRequestsLeaveTheLoopWhileAServerIsDown(t *testing.T) {
	for _, replicas := range []int{1, 2} {
		t.Run(strconv.Itoa(replicas)+"_copies", func(t *testing.T) {
			client := &frontendtest.Client{}
			pool := backendstest.Guarded(t, replicas, Framer, Protocol())
			log := slog.New(slog.DiscardHandler)
			s := NewRedis("await", "", pool, log).NewSession(client)
			set := bytesArgs("SET k v")

			if got := s.Dispatch(set, resp.AppendCommand(nil, set...)); got == frontend.Block {
				t.Error("SET on a loop, every server up: Block; want it dispatched on the loop")
			}
			for _, server := range pool.Servers {
				server.Missed([]byte("other"), errors.New("test")) // ejects it
			}
			before := backendstest.Journalled(pool)
			if got := s.Dispatch(set, resp.AppendCommand(nil, set...)); got != frontend.Block {
				t.Errorf("SET on a loop, servers down: %v; want Block", got)
			}
			if n := backendstest.Journalled(pool) - before; n != 0 {
				t.Errorf("%d keys journalled for replay on the loop; want none", n)
			}
		})
	}
}

// TestSplitReadsAskOneCopy: a read split across servers asks each key's best copy only (a
// failed part asks the others); a split write goes to every copy and counts as in flight.
func TestSplitReadsAskOneCopy(t *testing.T) {
	var specs []backends.ServerSpec
	for i, name := range []string{"a", "b", "c"} {
		specs = append(specs, backends.ServerSpec{Addr: "127.0.0.1:" + strconv.Itoa(i+1), Name: name, Weight: 1})
	}
	pool, err := backends.NewPool(backends.PoolConfig{Name: "split", Servers: specs, Hash: "fnv1a_64",
		Distribution: "ketama", Replicas: 2, Options: backends.Options{Conns: 1, Framer: Framer}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := NewRedis("split", "", pool, slog.New(slog.DiscardHandler)).NewSession(&frontendtest.Client{Moved: true})
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
	pool := backendstest.Guarded(t, 1, Framer, Protocol())
	s := NewRedis("await", "", pool, slog.New(slog.DiscardHandler)).NewSession(&frontendtest.Client{Moved: true})
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
