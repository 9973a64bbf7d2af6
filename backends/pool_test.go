package backends

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/discoh/discoh/backends/health"
)

func testPool(t *testing.T, replicas int) *Pool {
	t.Helper()
	var specs []ServerSpec
	for i := range 4 {
		specs = append(specs, ServerSpec{Addr: fmt.Sprintf("127.0.0.1:%d", 7001+i), Name: fmt.Sprintf("s%d", i+1), Weight: 1})
	}
	p, err := NewPool(PoolConfig{Name: "t", Servers: specs, Hash: "fnv1a_64", Distribution: "ketama",
		HashTag: "{}", Replicas: replicas, Options: Options{Framer: lineFramer}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestTargetsAreTheKeysDistinctCopies(t *testing.T) {
	p := testPool(t, 2)
	for i := range 200 {
		key := []byte(fmt.Sprintf("key:%d", i))
		read, write := p.ReadTargets(key, nil), p.WriteTargets(key, nil)
		if len(read) != 2 || len(write) != 2 || read[0] == read[1] {
			t.Fatalf("%s: read %v, write %v; want 2 distinct copies", key, read, write)
		}
		if read[0] != p.Owner(key) || read[0] != write[0] || read[1] != write[1] {
			t.Fatalf("%s: read %v, write %v, owner %d; want the owner first and the same copies", key, read, write, p.Owner(key))
		}
	}
}

func TestSameCopiesFollowsHashTags(t *testing.T) {
	p := testPool(t, 2)
	if !p.SameCopies([][]byte{[]byte("{u1}a"), []byte("{u1}b"), []byte("{u1}c")}) {
		t.Error("keys with one hash tag: SameCopies = false; want true")
	}
	differ := false
	for i := range 50 {
		if !p.SameCopies([][]byte{[]byte("a"), []byte(fmt.Sprintf("b%d", i))}) {
			differ = true
		}
	}
	if !differ {
		t.Error("50 unrelated key pairs all share their copies; want some that do not")
	}
}

func TestWritesInFlight(t *testing.T) {
	p := testPool(t, 2)
	k := []byte("k")
	seq, other := p.WriteSeq(k), p.WriteSeq([]byte("other"))
	p.BeginWrite(k)
	p.BeginWrite(k)
	if !p.Writing(k) || p.Writing([]byte("other")) {
		t.Fatal("Writing after two BeginWrite: want k only")
	}
	p.EndWrite(k)
	if !p.Writing(k) {
		t.Error("one of two writes ended: Writing = false; want true")
	}
	p.EndWrite(k)
	if p.Writing(k) {
		t.Error("both writes ended: Writing = true; want false")
	}
	if got := p.WriteSeq(k) - seq; got != 2 {
		t.Errorf("WriteSeq(k) advanced by %d; want 2", got)
	}
	if writeStripe(k) != writeStripe([]byte("other")) && p.WriteSeq([]byte("other")) != other {
		t.Error("WriteSeq of another key advanced with writes of k; want it unchanged")
	}
}

func TestSteadyWhileEveryServerIsUp(t *testing.T) {
	p := testPool(t, 2)
	if !p.Steady() {
		t.Fatal("a new pool is not steady")
	}
	s := p.Servers[1]
	s.recovered.Store(time.Now().UnixNano())
	if !s.Warming() || !p.Steady() {
		t.Errorf("a server just back: warming %v, pool steady %v; want both (it is up)", s.Warming(), p.Steady())
	}
	s.recovered.Store(time.Now().Add(-WarmWindow - time.Second).UnixNano())
	if s.Warming() || s.recovered.Load() != 0 {
		t.Errorf("warm window over: warming %v, recovered %d; want the return forgotten", s.Warming(), s.recovered.Load())
	}
	tracker := health.New(health.DefaultConfig(), func(context.Context) error { return errors.New("down") })
	tracker.CountDowns(&p.down)
	s.health = tracker
	t.Cleanup(func() { s.health = nil; tracker.Close() }) // before the pool closes: s has no replay queue
	tracker.Eject(errors.New("test"))
	if s.Up() || p.Steady() {
		t.Errorf("server ejected: up %v, pool steady %v; want neither", s.Up(), p.Steady())
	}
}

// eject marks s down, as its health tracker does after failures.
func eject(t *testing.T, s *Server) {
	tracker := health.New(health.DefaultConfig(), func(context.Context) error { return errors.New("down") })
	s.health = tracker
	t.Cleanup(func() { s.health = nil; tracker.Close() }) // before the pool closes: s has no replay queue
	tracker.Eject(errors.New("test"))
}

// TestUnreachableNamesTheCopySetsAllDown: /readyz's question. A key is unreachable exactly when
// all its copies are down, and Unreachable names those copy sets.
func TestUnreachableNamesTheCopySetsAllDown(t *testing.T) {
	for _, replicas := range []int{1, 2} {
		p := testPool(t, replicas)
		if sets := p.Unreachable(); len(sets) != 0 {
			t.Fatalf("replicas %d, every server up: unreachable %v; want none", replicas, sets)
		}
		eject(t, p.Servers[1])
		eject(t, p.Servers[2])
		sets := map[string]bool{}
		for _, set := range p.Unreachable() {
			sets[fmt.Sprint(set)] = true
		}
		for i := range 2000 {
			key := []byte(fmt.Sprintf("key:%d", i))
			var names []string
			down := true
			for _, c := range p.Copies(key, nil) {
				names = append(names, p.Servers[c].Name)
				down = down && !p.Servers[c].Up()
			}
			if down != sets[fmt.Sprint(names)] {
				t.Fatalf("replicas %d, s2 and s3 down: %s on %v (all down: %v); unreachable sets %v", replicas, key, names, down, sets)
			}
		}
		if len(sets) == 0 {
			t.Errorf("replicas %d, s2 and s3 down: no unreachable set; want at least [s2] or [s3]", replicas)
		}
	}
}
