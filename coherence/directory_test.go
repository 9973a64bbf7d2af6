package coherence

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/discoh/discoh/coherence/guard"
)

func TestNotCoherent(t *testing.T) {
	w := newWorld(t, redisCache(t), options{})
	other := []byte("session:1")
	if w.a.Covers(other) || !w.a.Covers(w.key(1)) {
		t.Fatalf("Covers(session:1), Covers(%s) = %v, %v; want false, true", w.key(1), w.a.Covers(other), w.a.Covers(w.key(1)))
	}
	_, _, errRead := w.a.Read(t.Context(), other)
	_, errFill := w.a.Fill(t.Context(), other, guard.Value{})
	errInvalidate := w.a.Invalidate(t.Context(), other)
	_, _, errPull := w.a.Pull(t.Context(), other)
	for name, err := range map[string]error{"Read": errRead, "Fill": errFill, "Invalidate": errInvalidate, "Pull": errPull} {
		if !errors.Is(err, ErrNotCoherent) {
			t.Errorf("%s = %v; want ErrNotCoherent", name, err)
		}
	}
}

// TestExplicitPull: DISCOH PULL returns the row and installs it, with the source's flags,
// replacing what the cache held.
func TestExplicitPull(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		w := newWorld(t, c, options{})
		w.write(t, 1, "old")
		w.cached(t, w.a, 1, "old")
		w.write(t, 1, "new")
		v, found, err := w.b.Pull(t.Context(), w.key(1))
		if err != nil || !found || string(v.Data) != "new" {
			t.Fatalf("Pull = %q, %v, %v; want \"new\"", v.Data, found, err)
		}
		got, hit, _ := w.a.Read(t.Context(), w.key(1))
		if !hit || string(got.Data) != "new" || c.name == "memcache" && got.Flags != 7 {
			t.Errorf("Read after Pull = %q flags %d, hit %v; want \"new\" (flags 7 on memcached)", got.Data, got.Flags, hit)
		}
		if _, found, err := w.b.Pull(t.Context(), w.key(2)); found || err != nil {
			t.Errorf("Pull of a missing row = found %v, %v; want not found", found, err)
		}
	})
}

// TestRowNotFound: an invalidated key whose row is gone reads as a miss without waiting, and
// stays closed to fills through the window.
func TestRowNotFound(t *testing.T) {
	w := newWorld(t, redisCache(t), options{})
	w.write(t, 1, "row")
	w.cached(t, w.a, 1, "row")
	testDelete(t, w, 1)
	w.invalidate(t, w.a, 1)
	w.settle()
	if got := w.a.Stats(); got.RowsNotFound != 1 || got.Installs != 1 {
		t.Errorf("rows not found %d, installs %d; want 1, 1", got.RowsNotFound, got.Installs)
	}
	w.wantFresh(t, 1, "", true)
	if got := w.b.Stats().Pulls; got != 0 {
		t.Errorf("B pulled %d times; want 0 (the absence is recorded)", got)
	}
	if out := w.fill(t, w.b, 1, "row"); out != guard.RefusedWindow {
		t.Errorf("fill = %v; want %v", out, guard.RefusedWindow)
	}
}

func testDelete(t *testing.T, w *world, id int) {
	t.Helper()
	if _, err := w.admin.Exec("DELETE FROM "+w.table+" WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
}

// TestPullsSkipped: past MaxPulls background pulls, an invalidation starts none; the key's
// next reader pulls it.
func TestPullsSkipped(t *testing.T) {
	w := newWorld(t, redisCache(t), options{cfg: Config{MaxPulls: 1}})
	w.write(t, 1, "one")
	w.write(t, 2, "two")
	held := w.probes[0].holdNext(false)
	t.Cleanup(held.Release)
	w.invalidate(t, w.a, 1)
	<-held.reached
	w.invalidate(t, w.a, 2)
	if got := w.a.Stats().PullsSkipped; got != 1 {
		t.Errorf("pulls skipped = %d; want 1", got)
	}
	if got, hit := w.read(t, w.a, 2); !hit || got != "two" {
		t.Errorf("Read = %q, %v; want \"two\" pulled by the reader", got, hit)
	}
}

// TestCloseCancelsPulls: Close does not wait for a pull stuck on the database.
func TestCloseCancelsPulls(t *testing.T) {
	w := newWorld(t, redisCache(t), options{})
	w.write(t, 1, "row")
	held := w.probes[0].holdNext(false)
	t.Cleanup(held.Release)
	w.invalidate(t, w.a, 1)
	<-held.reached
	closed := make(chan struct{})
	go func() { w.a.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close still waiting after 2s")
	}
	if got := w.a.Stats().PullErrors; got != 1 {
		t.Errorf("pull errors = %d; want 1 (the cancelled pull)", got)
	}
	w.invalidate(t, w.a, 1) // still acknowledged; no pull starts after Close
	if got := w.probes[0].queries.Load(); got != 1 {
		t.Errorf("queries = %d; want 1", got)
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := Config{Window: -1, ReadWait: -1, PullTimeout: -1, MaxPulls: -1}
	err := cfg.Validate()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate = %v; want ErrInvalid", err)
	}
	for _, field := range []string{"window", "read_wait", "pull_timeout", "max_pulls"} {
		if !strings.Contains(err.Error(), "coherence."+field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
	if _, err := New(nil, nil, nil, cfg); !errors.Is(err, ErrInvalid) {
		t.Errorf("New with a bad config = %v; want ErrInvalid", err)
	}
	if err := (&Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v; want the defaults to be valid", err)
	}
}
