package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestDoCollapsesConcurrentCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, int]
		var runs atomic.Int32
		release := make(chan struct{})
		fn := func() (int, error) {
			runs.Add(1)
			<-release
			return 42, nil
		}
		const callers = 50
		var wg sync.WaitGroup
		results := make(chan int, callers)
		for range callers {
			wg.Go(func() {
				v, _, err := g.Do(t.Context(), "k", fn)
				if err != nil {
					t.Errorf("Do: %v", err)
				}
				results <- v
			})
		}
		synctest.Wait() // every caller is waiting on the one call
		close(release)
		wg.Wait()
		close(results)
		for v := range results {
			if v != 42 {
				t.Errorf("got %d; want 42", v)
			}
		}
		if got := runs.Load(); got != 1 {
			t.Errorf("fn ran %d times; want 1", got)
		}
		if got := g.Stats(); got != (Stats{Led: 1, Joined: callers - 1}) {
			t.Errorf("Stats = %+v; want Led 1, Joined %d", got, callers-1)
		}
	})
}

func TestDoKeysAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[int, int]
		release := make(chan struct{})
		var wg sync.WaitGroup
		for k := range 3 {
			wg.Go(func() {
				v, shared, _ := g.Do(t.Context(), k, func() (int, error) { <-release; return k, nil })
				if v != k || shared {
					t.Errorf("key %d: got %d shared %v; want %d unshared", k, v, shared, k)
				}
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		if got := g.Stats().Led; got != 3 {
			t.Errorf("Led = %d; want 3", got)
		}
	})
}

// TestDoCallerGivesUp: a caller whose context ends returns at once; the others still get the
// result, and the call is forgotten once it ends.
func TestDoCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, string]
		fn := func() (string, error) {
			time.Sleep(time.Second)
			return "v", nil
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			if v, _, err := g.Do(t.Context(), "k", fn); v != "v" || err != nil {
				t.Errorf("patient caller: got %q, %v; want v", v, err)
			}
		}()
		synctest.Wait()
		if _, _, err := g.Do(ctx, "k", fn); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("impatient caller: got %v; want DeadlineExceeded", err)
		}
		<-done
		g.Wait()
		if v, shared, _ := g.Do(t.Context(), "k", func() (string, error) { return "new", nil }); v != "new" || shared {
			t.Errorf("after the call: got %q shared %v; want a new call", v, shared)
		}
	})
}

func TestDoSharesErrors(t *testing.T) {
	var g Group[string, int]
	boom := errors.New("boom")
	if _, _, err := g.Do(t.Context(), "k", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Errorf("got %v; want boom", err)
	}
}
