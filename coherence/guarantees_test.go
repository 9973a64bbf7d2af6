package coherence

import (
	"sync"
	"testing"
	"time"

	"github.com/discoh/discoh/coherence/guard"
)

// TestStaleSetRace is the classic look-aside race (G2): an application misses and reads the
// old row; a writer commits the new row and deletes the key; the application's SET of the
// old row arrives after the DEL. Through discoh the SET is refused, whether it goes through
// the instance that saw the miss or another (a connection pool), and both instances serve
// the new row.
func TestStaleSetRace(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		for _, fillVia := range []string{"A", "B"} {
			t.Run("fill through "+fillVia, func(t *testing.T) {
				w := newWorld(t, c, options{})
				w.write(t, 1, "old")
				if got, hit := w.read(t, w.a, 1); hit { // 1. the app misses through A...
					t.Fatalf("cold read = %q; want a miss", got)
				}
				stale := w.readDB(t, 1) // 2. ...and reads the old row
				w.write(t, 1, "new")    // 3. a writer commits the new row
				w.invalidate(t, w.b, 1) // 4. and deletes the key, through B
				d := map[string]*Directory{"A": w.a, "B": w.b}[fillVia]
				if out := w.fill(t, d, 1, stale); out != guard.RefusedWindow { // 5. the late SET
					t.Errorf("stale fill = %v; want %v", out, guard.RefusedWindow)
				}
				w.wantFresh(t, 1, "new", false)
				if got := d.Stats(); got.FillsRefused != 1 || got.FillsStored != 0 {
					t.Errorf("fills refused %d, stored %d; want 1, 0", got.FillsRefused, got.FillsStored)
				}
			})
		}
	})
}

// TestStaleSetRaceOnPlainCache runs the same timeline against the cache server directly, to
// show that the race is real and that the test above would see it.
func TestStaleSetRaceOnPlainCache(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		w := newWorld(t, c, options{})
		k := string(w.key(1))
		w.write(t, 1, "old")
		if _, hit := c.plain.get(t, k); hit {
			t.Fatal("cold read hit")
		}
		stale := w.readDB(t, 1)
		w.write(t, 1, "new")
		c.plain.del(t, k)
		c.plain.set(t, k, stale)
		if got, _ := c.plain.get(t, k); got != "old" {
			t.Fatalf("plain cache holds %q; want the stale %q the race leaves", got, "old")
		}
	})
}

// TestFillAfterWindow: a stale SET that arrives after the window is still refused, because
// the invalidation took the lease its read miss had granted (G2).
func TestFillAfterWindow(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		const window = 300 * time.Millisecond
		w := newWorld(t, c, options{cfg: Config{Window: window}})
		w.write(t, 1, "old")
		w.read(t, w.a, 1)
		stale := w.readDB(t, 1)
		w.write(t, 1, "new")
		w.invalidate(t, w.a, 1)
		w.settle() // the pull installed "new"
		time.Sleep(window + 100*time.Millisecond)
		if out := w.fill(t, w.b, 1, stale); out != guard.RefusedNoLease {
			t.Errorf("fill after the window = %v; want %v", out, guard.RefusedNoLease)
		}
		w.wantFresh(t, 1, "new", false)
	})
}

// TestReadAfterInvalidate (G1): once an invalidation is acknowledged by one instance, a read
// through the other never returns the old value: it returns the new row, from the pull it
// waits for or runs itself, or a miss when the pull takes longer than ReadWait.
func TestReadAfterInvalidate(t *testing.T) {
	tests := []struct {
		name     string
		holdA    bool // A's background pull waits before querying
		holdB    bool // so does the pull the reader on B starts
		wantMiss bool
	}{
		{name: "pull done or running"},
		{name: "invalidating instance slow", holdA: true},
		{name: "every pull slower than the read wait", holdA: true, holdB: true, wantMiss: true},
	}
	forEachCache(t, func(t *testing.T, c *cache) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wait := 5 * time.Second // far above a pull, even on a loaded machine
				if tt.wantMiss {
					wait = 200 * time.Millisecond
				}
				w := newWorld(t, c, options{cfg: Config{ReadWait: wait}})
				w.write(t, 1, "old")
				w.cached(t, w.a, 1, "old")
				w.write(t, 1, "new")
				for i, held := range []bool{tt.holdA, tt.holdB} {
					if held {
						t.Cleanup(w.probes[i].holdNext(false).Release)
					}
				}
				w.invalidate(t, w.a, 1)
				got, hit := w.read(t, w.b, 1)
				if hit && got != "new" || !hit && !tt.wantMiss || hit && tt.wantMiss {
					t.Errorf("read through B = %q, hit %v; want %q (miss %v)", got, hit, "new", tt.wantMiss)
				}
			})
		}
	})
}

// TestHotKeyOnePullPerInstance (G4): 100 readers of a just-invalidated hot key, half through
// each instance, cause one query per instance, counted by the probes and by PostgreSQL.
func TestHotKeyOnePullPerInstance(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		w := newWorld(t, c, options{cfg: Config{ReadWait: 5 * time.Second}})
		w.write(t, 1, "hot")
		holdA, holdB := w.probes[0].holdNext(false), w.probes[1].holdNext(false)
		t.Cleanup(holdA.Release)
		t.Cleanup(holdB.Release)
		w.invalidate(t, w.a, 1) // A's background pull starts, and waits
		<-holdA.reached
		const readers = 100
		results := make(chan string, readers)
		var wg sync.WaitGroup
		for i := range readers {
			d := []*Directory{w.a, w.b}[i%2]
			wg.Go(func() {
				got, hit := w.read(t, d, 1)
				if !hit {
					got = "(miss)"
				}
				results <- got
			})
		}
		// Every reader on A joins the background pull; on B one reader leads, the rest join.
		eventually(t, "readers to wait on their instance's pull", func() bool {
			return w.a.flights.Stats().Joined == readers/2 && w.b.flights.Stats().Joined == readers/2-1
		})
		holdA.Release()
		holdB.Release()
		wg.Wait()
		close(results)
		for got := range results {
			if got != "hot" {
				t.Fatalf("a reader got %q; want %q", got, "hot")
			}
		}
		for i, p := range w.probes {
			if got := p.queries.Load(); got != 1 {
				t.Errorf("instance %c ran %d queries; want 1", 'A'+i, got)
			}
		}
		if got := w.dbPulls(t); got != 2 {
			t.Errorf("PostgreSQL ran %d pulls; want 2", got)
		}
		if a, b := w.a.Stats(), w.b.Stats(); a.WaitsServed != readers/2 || b.WaitsServed != readers/2 {
			t.Errorf("waits served A %d, B %d; want %d each", a.WaitsServed, b.WaitsServed, readers/2)
		}
	})
}

// TestPullBeforeNewerInvalidation (G3): a pull that read the database before a newer
// invalidation, and installs after it, is refused; the newer pull's value stays.
func TestPullBeforeNewerInvalidation(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		for _, newerVia := range []string{"A", "B"} {
			t.Run("newer invalidation through "+newerVia, func(t *testing.T) {
				w := newWorld(t, c, options{})
				w.write(t, 1, "v1")
				slow := w.probes[0].holdNext(true)
				t.Cleanup(slow.Release)
				w.invalidate(t, w.a, 1) // A's pull reads v1, then stalls before installing
				<-slow.reached
				w.write(t, 1, "v2")
				d := map[string]*Directory{"A": w.a, "B": w.b}[newerVia]
				w.invalidate(t, d, 1) // its pull reads v2 and installs it
				eventually(t, "the newer pull to install", func() bool { return d.Stats().Installs == 1 })
				slow.Release()
				w.settle()
				if got := w.a.Stats().InstallsStale; got != 1 {
					t.Errorf("stale installs = %d; want 1", got)
				}
				w.wantFresh(t, 1, "v2", false)
			})
		}
	})
}

// TestReadersOfAnOvertakenPull (G1, issue 14): a reader that waits for a pull is served the
// pulled row even when a newer invalidation refuses the pull's install, since the pull read
// the row after the invalidation the reader saw; a reader that begins after the newer
// invalidation never gets that row. (discoh once answered the first reader a miss, and under
// writes each such miss came back as a fill that invalidated the key again.)
func TestReadersOfAnOvertakenPull(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		w := newWorld(t, c, options{cfg: Config{ReadWait: 5 * time.Second}})
		w.write(t, 1, "v1")
		slowA := w.probes[0].holdNext(true)
		t.Cleanup(slowA.Release)
		w.invalidate(t, w.a, 1) // A's pull reads v1, then stalls before installing
		<-slowA.reached
		type reading struct {
			val string
			hit bool
			err error
		}
		early := make(chan reading, 1)
		go func() {
			v, hit, err := w.a.Read(t.Context(), w.key(1))
			early <- reading{string(v.Data), hit, err}
		}()
		eventually(t, "the early reader to wait for A's pull", func() bool { return w.a.flights.Stats().Joined == 1 })

		w.write(t, 1, "v2")
		slowB := w.probes[1].holdNext(false)
		t.Cleanup(slowB.Release)
		w.invalidate(t, w.b, 1) // the newer invalidation; B's pull waits before querying
		if got, hit := w.read(t, w.a, 1); !hit || got != "v2" {
			t.Errorf("read begun after the newer invalidation = %q, hit %v; want %q (its own pull)", got, hit, "v2")
		}
		slowA.Release() // A's pull of v1 installs too late: refused
		if r := <-early; r.err != nil || !r.hit || r.val != "v1" {
			t.Errorf("reader that waited for the overtaken pull = %q, hit %v, %v; want %q, read after the invalidation it saw",
				r.val, r.hit, r.err, "v1")
		}
		slowB.Release()
		w.settle()
		if got := w.a.Stats(); got.InstallsStale != 1 || got.WaitsServed != 2 || got.ReadMisses != 0 {
			t.Errorf("A: stale installs %d, waits served %d, read misses %d; want 1, 2, 0",
				got.InstallsStale, got.WaitsServed, got.ReadMisses)
		}
		w.wantFresh(t, 1, "v2", false)
	})
}

// poisonQuery fails, at run time, for rows whose body is "boom": a real database error
// caused by the data, as a broken row or a failing function would.
const poisonQuery = "SELECT CASE WHEN body = 'boom' THEN (1 / (version - version))::text ELSE body END, version " +
	"FROM {t} WHERE id = $1"

// TestPullErrorFailsClosed (G5): when the pull after an invalidation fails, the key stays
// without a value: reads miss (never the old value), fills stay refused in the window.
func TestPullErrorFailsClosed(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		w := newWorld(t, c, options{query: poisonQuery})
		w.write(t, 1, "old")
		w.cached(t, w.a, 1, "old")
		w.write(t, 1, "boom")
		w.invalidate(t, w.a, 1)
		eventually(t, "the pull to fail", func() bool { return w.a.Stats().PullErrors == 1 })
		w.wantFresh(t, 1, "", true)
		if got := w.b.Stats().PullErrors; got != 1 {
			t.Errorf("B's pull errors = %d; want 1 (its reader retried the pull)", got)
		}
		if out := w.fill(t, w.b, 1, "old"); out != guard.RefusedWindow {
			t.Errorf("fill = %v; want %v", out, guard.RefusedWindow)
		}
		w.write(t, 1, "fixed")
		w.invalidate(t, w.b, 1)
		w.wantFresh(t, 1, "fixed", false)
	})
}

// TestCacheDownFailsClosed (G5): with the cache server gone, an invalidation is not
// acknowledged and reads fail; neither returns the old value.
func TestCacheDownFailsClosed(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		w := newWorld(t, c, options{})
		w.write(t, 1, "old")
		w.cached(t, w.a, 1, "old")
		w.write(t, 1, "new")
		c.kill()
		if err := w.a.Invalidate(t.Context(), w.key(1)); err == nil {
			t.Error("Invalidate with the cache down = nil; want an error, not an acknowledgement")
		}
		if got := w.a.Stats().InvalidateErrors; got != 1 {
			t.Errorf("invalidate errors = %d; want 1", got)
		}
		if v, hit, err := w.b.Read(t.Context(), w.key(1)); err == nil || hit {
			t.Errorf("Read with the cache down = %q, %v, %v; want an error", v.Data, hit, err)
		}
	})
}

// TestGuardEvicted (G5): guard state that the cache dropped (DEL of the Redis sidecar,
// delete of the memcached item, as an eviction would) refuses the fill or install that
// finds it missing, counts it, and leaves no value but the database's (a refused fill
// invalidates the key, so the row is pulled).
func TestGuardEvicted(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		t.Run("fill", func(t *testing.T) {
			w := newWorld(t, c, options{})
			w.write(t, 1, "row")
			w.read(t, w.b, 1) // a miss grants a lease...
			c.evict(t, string(w.key(1)))
			if out := w.fill(t, w.b, 1, "row"); out != guard.GuardMissing { // ...that eviction lost
				t.Errorf("fill = %v; want %v", out, guard.GuardMissing)
			}
			if got := w.b.Stats(); got.GuardMissing != 1 || got.FillsRefused != 1 {
				t.Errorf("guard missing %d, fills refused %d; want 1, 1", got.GuardMissing, got.FillsRefused)
			}
			w.settle()
			w.wantFresh(t, 1, "row", true)
		})
		t.Run("install", func(t *testing.T) {
			w := newWorld(t, c, options{})
			w.write(t, 1, "old")
			w.cached(t, w.a, 1, "old")
			w.write(t, 1, "new")
			slow := w.probes[0].holdNext(true)
			t.Cleanup(slow.Release)
			w.invalidate(t, w.a, 1)
			<-slow.reached
			c.evict(t, string(w.key(1)))
			slow.Release()
			w.settle()
			if got := w.a.Stats(); got.GuardMissing != 1 || got.Installs != 0 {
				t.Errorf("guard missing %d, installs %d; want 1, 0", got.GuardMissing, got.Installs)
			}
			w.wantFresh(t, 1, "", true)
		})
	})
}

// TestWriteThrough: an app that updates the row and then SETs the new value, with no miss
// before it, never leaves the old value readable: the refused fill invalidates the key, and the
// row is pulled, so both instances read the new value.
func TestWriteThrough(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		w := newWorld(t, c, options{})
		w.write(t, 1, "old")
		w.cached(t, w.a, 1, "old")
		w.write(t, 1, "new")
		if out := w.fill(t, w.b, 1, "new"); out == guard.Stored {
			t.Fatalf("fill without a lease = %v; want it refused (and the key invalidated)", out)
		}
		w.settle()
		w.wantFresh(t, 1, "new", false)
	})
}

// TestRevalidate: an app that DELs before its COMMIT lets the pull read the old row, which is
// installed; the recheck, Revalidate later, pulls the committed row. The old value is readable
// for at most about Revalidate.
func TestRevalidate(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		const revalidate = 200 * time.Millisecond
		w := newWorld(t, c, options{cfg: Config{Revalidate: revalidate}})
		w.write(t, 1, "old")
		w.cached(t, w.a, 1, "old")
		tx, err := w.admin.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec("UPDATE " + w.table + " SET body = 'new', version = version + 1 WHERE id = 1"); err != nil {
			t.Fatal(err)
		}
		w.invalidate(t, w.a, 1) // DEL before COMMIT: the pull reads the old row
		w.settle()
		if got, hit := w.read(t, w.b, 1); !hit || got != "old" {
			t.Fatalf("before the commit: Read = %q, %v; want old, as the pull read it", got, hit)
		}
		committed := time.Now()
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the recheck to install the committed row", func() bool {
			got, hit := w.read(t, w.b, 1)
			return hit && got == "new"
		})
		if took := time.Since(committed); took > revalidate+time.Second {
			t.Errorf("old value readable %v after the commit; want at most about %v", took, revalidate)
		}
		if got := w.a.Stats().Revalidations; got != 1 {
			t.Errorf("revalidations = %d; want 1", got)
		}
	})
}
