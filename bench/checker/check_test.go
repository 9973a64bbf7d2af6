package main

import (
	"testing"

	"github.com/discoh/discoh/bench/checker/cache"
)

// dialed is one client dialClients asked for.
type dialed struct {
	addr  string
	conns int
}

// recorder is a dialFunc that records what it was asked for and returns inert clients.
type recorder struct{ calls []dialed }

func (r *recorder) dial(_, addr string, conns int) (cache.Client, error) {
	r.calls = append(r.calls, dialed{addr, conns})
	return nil, nil
}

func TestDialClients(t *testing.T) {
	cfg := Config{Protocol: cache.Redis, Addrs: []string{"a:1", "b:1"}, Readers: 5, Pooled: 0.4, Writers: 2}
	var r recorder
	cl, err := dialClients(cfg, r.dial)
	if err != nil {
		t.Fatal(err)
	}
	want := []dialed{
		{"a:1", adminConns},                // admin
		{"b:1", 2},                         // the pool of 2 readers
		{"a:1", 1}, {"b:1", 1}, {"a:1", 1}, // 3 single-connection readers
		{"b:1", 1}, {"a:1", 1}, // 2 writers
	}
	if len(r.calls) != len(want) {
		t.Fatalf("dialed %v; want %v", r.calls, want)
	}
	for i := range want {
		if r.calls[i] != want[i] {
			t.Errorf("dial %d: got %v; want %v", i, r.calls[i], want[i])
		}
	}
	var kinds [kinds]int
	for _, rd := range cl.readers {
		kinds[rd.kind]++
	}
	if kinds[pooled] != 2 || kinds[single] != 3 || len(cl.writers) != 2 {
		t.Errorf("%d pooled, %d single readers, %d writers; want 2, 3, 2", kinds[pooled], kinds[single], len(cl.writers))
	}
}
