package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/discoh/discoh/bench/checker/cache"
	"github.com/discoh/discoh/internal/testproc"
)

// TestSweep checks every kind of key the check after the load can find, on a real
// memcached: absent, current, outdated, from the future and malformed.
func TestSweep(t *testing.T) {
	srv := testproc.Memcached(t)
	cfg := testConfig(t, cache.Memcached, 0, srv.Addr)
	cfg.Keys = 6
	ctx := t.Context()
	tbl, err := openTable(ctx, cfg.DSN, cfg.Table, 2, cfg.Keys)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.close()
	for range 2 {
		if _, err := tbl.write(ctx, 1, "x"); err != nil { // row 1 is at version 3
			t.Fatal(err)
		}
	}
	c, err := cache.Dial(cfg.Protocol, srv.Addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cached := map[int]string{
		0: "v1:initial", // current
		1: "v2:x",       // outdated
		2: "v1:initial", // current
		3: "v9:future",  // newer than the row: inconsistent too
		4: "garbage",    // malformed
		// 5 is absent
	}
	for id, body := range cached {
		if err := c.Set(ctx, keyOf(cfg.KeyPrefix, id), body); err != nil {
			t.Fatal(err)
		}
	}
	got, err := sweep(ctx, c, tbl, cfg)
	want := After{Checked: 6, Cached: 5, Inconsistent: 3, Malformed: 1}
	if err != nil || got != want {
		t.Errorf("sweep() = %+v, %v; want %+v, nil", got, err, want)
	}
}

func TestForEachKey(t *testing.T) {
	t.Run("visits every id once", func(t *testing.T) {
		seen := make([]atomic.Int32, 1000)
		if err := forEachKey(t.Context(), len(seen), func(id int) error { seen[id].Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		for id := range seen {
			if n := seen[id].Load(); n != 1 {
				t.Fatalf("id %d visited %d times; want 1", id, n)
			}
		}
	})
	t.Run("stops at the first error", func(t *testing.T) {
		boom := errors.New("boom")
		var calls atomic.Int32
		err := forEachKey(t.Context(), 1000, func(id int) error { calls.Add(1); return boom })
		if !errors.Is(err, boom) || calls.Load() > adminConns {
			t.Errorf("error %v after %d calls; want boom after %d calls at most", err, calls.Load(), adminConns)
		}
	})
	t.Run("stops when the context is done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := forEachKey(ctx, 10, func(int) error { return nil }); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v; want context.Canceled", err)
		}
	})
}
