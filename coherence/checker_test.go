package coherence

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/discoh/discoh/coherence/guard"
)

// discohClient is the look-aside API through the two directories of a world, each call
// through either one at random, as applications behind a load balancer would.
type discohClient struct {
	w   *world
	rng func() bool
}

func (c discohClient) pick() *Directory {
	if c.rng() {
		return c.w.a
	}
	return c.w.b
}

func (c discohClient) get(t *testing.T, key string) (string, bool) {
	v, hit, err := c.pick().Read(t.Context(), []byte(key))
	if err != nil {
		t.Errorf("Read: %v", err)
	}
	return string(v.Data), hit
}

func (c discohClient) set(t *testing.T, key, value string) {
	if _, err := c.pick().Fill(t.Context(), []byte(key), guard.Value{Data: []byte(value)}); err != nil {
		t.Errorf("Fill: %v", err)
	}
}

func (c discohClient) del(t *testing.T, key string) {
	if err := c.pick().Invalidate(t.Context(), []byte(key)); err != nil {
		t.Errorf("Invalidate: %v", err)
	}
}

// checkRun is the outcome of one checker run.
type checkRun struct {
	writes, reads, hits int64
	stale               int64 // hits older than the last write acknowledged before the read began
}

// runChecker drives a look-aside workload on one hot key for d: a writer that commits row
// version n and then deletes the key, and readers that GET, and on a miss read the database,
// pause (the window in which the race happens) and SET. A hit is stale when it is older than
// a write whose DEL was acknowledged before the GET started: a G1 violation.
func runChecker(t *testing.T, w *world, client plainClient, seed uint64, d time.Duration) checkRun {
	t.Logf("seed %d", seed)
	var run checkRun
	var acked atomic.Int64
	key := string(w.key(1))
	w.write(t, 1, "0")
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := int64(1); time.Now().Before(deadline); n++ {
			w.write(t, 1, strconv.FormatInt(n, 10))
			client.del(t, key)
			acked.Store(n)
			run.writes = n
			time.Sleep(time.Millisecond)
		}
	})
	var mu sync.Mutex
	for i := range 4 {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() {
			for time.Now().Before(deadline) {
				r := readOnce(t, w, client, key, acked.Load(), rng)
				time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond) // think time: lets the writer in
				mu.Lock()
				run.reads, run.hits, run.stale = run.reads+1, run.hits+r.hits, run.stale+r.stale
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return run
}

// readOnce is one look-aside read that began after write number since was acknowledged.
func readOnce(t *testing.T, w *world, client plainClient, key string, since int64, rng *rand.Rand) checkRun {
	v, hit := client.get(t, key)
	if !hit {
		body := w.readDB(t, 1)
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		client.set(t, key, body)
		return checkRun{}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Errorf("read %q: not a row version", v)
	}
	if n < since {
		return checkRun{hits: 1, stale: 1}
	}
	return checkRun{hits: 1}
}

// minWrites is the fewest writes a checker run must make to have tested anything.
const minWrites = 10

// TestChecker runs the workload on the plain cache, where it must find stale reads (a
// checker that cannot fail proves nothing), and through discoh, where it must find none.
func TestChecker(t *testing.T) {
	forEachCache(t, func(t *testing.T, c *cache) {
		seed := rand.Uint64()
		t.Run("plain", func(t *testing.T) {
			w := newWorld(t, c, options{})
			// On a loaded machine one short run may see too few writes to hit the race: run
			// again, adding up, for at most ten runs.
			var run checkRun
			for i := 0; i < 10 && (run.stale == 0 || run.writes < minWrites); i++ {
				r := runChecker(t, w, c.plain, seed+uint64(i), 400*time.Millisecond)
				run.writes, run.reads, run.hits, run.stale = run.writes+r.writes, run.reads+r.reads, run.hits+r.hits, run.stale+r.stale
			}
			t.Logf("%+v", run)
			if run.stale == 0 || run.writes < minWrites {
				t.Errorf("%d stale reads in %d reads, %d writes on the plain cache; want the checker to see the race", run.stale, run.reads, run.writes)
			}
		})
		t.Run("discoh", func(t *testing.T) {
			w := newWorld(t, c, options{cfg: Config{ReadWait: 2 * time.Second}})
			rng := rand.New(rand.NewPCG(seed, 99))
			var mu sync.Mutex
			coin := func() bool { mu.Lock(); defer mu.Unlock(); return rng.IntN(2) == 0 }
			var run checkRun
			for i := 0; i < 10 && (run.hits == 0 || run.writes < minWrites); i++ {
				r := runChecker(t, w, discohClient{w: w, rng: coin}, seed+uint64(i), 400*time.Millisecond)
				run.writes, run.reads, run.hits, run.stale = run.writes+r.writes, run.reads+r.reads, run.hits+r.hits, run.stale+r.stale
			}
			t.Logf("%+v; A %+v; B %+v", run, w.a.Stats(), w.b.Stats())
			if run.stale != 0 || run.hits == 0 || run.writes < minWrites {
				t.Errorf("%d stale reads of %d hits, %d writes; want 0 of some, %d writes at least", run.stale, run.hits, run.writes, minWrites)
			}
		})
	})
}
