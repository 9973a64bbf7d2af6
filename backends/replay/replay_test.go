package replay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

const server = "127.0.0.1:7001"

func open(t *testing.T, dir string, limit int) *Queue {
	t.Helper()
	q, err := Open(dir, server, limit)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func add(t *testing.T, q *Queue, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := q.Add([]byte(k)); err != nil {
			t.Fatalf("Add(%q): %v", k, err)
		}
	}
}

// drain drains q and returns the rounds of keys it replayed.
func drain(t *testing.T, q *Queue) [][]string {
	t.Helper()
	var rounds [][]string
	err := q.Drain(func(keys [][]byte) error {
		rounds = append(rounds, strs(keys))
		return nil
	})
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	return rounds
}

func strs(keys [][]byte) []string {
	var s []string
	for _, k := range keys {
		s = append(s, string(k))
	}
	return s
}

func equalRounds(a, b [][]string) bool {
	return slices.EqualFunc(a, b, slices.Equal)
}

func TestAddThenDrain(t *testing.T) {
	q := open(t, t.TempDir(), 10)
	add(t, q, "a", "b", "a", "", "c")
	if got := q.Len(); got != 4 {
		t.Errorf("Len() = %d; want 4 (a, b, the empty key, c)", got)
	}
	if q.Sealed() {
		t.Errorf("Sealed() = true with keys queued")
	}
	got := drain(t, q)
	if want := [][]string{{"a", "b", "", "c"}}; !equalRounds(got, want) {
		t.Errorf("Drain replayed %q; want %q", got, want)
	}
	if q.Len() != 0 || !q.Sealed() {
		t.Errorf("after Drain: Len() = %d, Sealed() = %v; want 0, true", q.Len(), q.Sealed())
	}
	if got := drain(t, q); got != nil {
		t.Errorf("Drain of a sealed queue replayed %q; want nothing", got)
	}
}

func TestSurvivesRestart(t *testing.T) {
	tests := []struct {
		name  string
		close bool
		wait  func(q *Queue)
	}{
		{"closed", true, func(*Queue) {}},
		{"crashed after a Sync", false, func(q *Queue) { q.Sync() }},
		{"crashed after the flusher ran", false, waitFlushed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q, err := Open(dir, server, 10)
			if err != nil {
				t.Fatal(err)
			}
			add(t, q, "user:1", "user:2", "user:1")
			tt.wait(q)
			if tt.close {
				q.Close()
			} // else leave it open, as a killed process would
			reopened := open(t, dir, 10)
			if reopened.Sealed() {
				t.Errorf("reopened queue with keys is sealed")
			}
			if got, want := drain(t, reopened), [][]string{{"user:1", "user:2"}}; !equalRounds(got, want) {
				t.Errorf("reopened queue replayed %q; want %q", got, want)
			}
			again := open(t, dir, 10)
			if again.Len() != 0 || !again.Sealed() {
				t.Errorf("after drain and reopen: Len() = %d, Sealed() = %v; want 0, true (compacted)",
					again.Len(), again.Sealed())
			}
		})
	}
}

// waitFlushed waits until the flusher has written everything added to q: within SyncDelay,
// plus the write, which a rewrite with a filter (2 MB) makes slow under the race detector.
func waitFlushed(q *Queue) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(SyncDelay) {
		q.mu.Lock()
		seq := q.seq
		q.mu.Unlock()
		q.fileMu.Lock()
		synced := q.synced
		q.fileMu.Unlock()
		if synced >= seq {
			return
		}
	}
}

func TestServersHaveTheirOwnQueues(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, "cache/a:1", 10)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(dir, "cache/b:1", 10)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	add(t, a, "k")
	if a.Len() != 1 || b.Len() != 0 {
		t.Errorf("Len() = %d, %d; want 1, 0", a.Len(), b.Len())
	}
}

func TestFileName(t *testing.T) {
	tests := []struct{ server, want string }{
		{"r1", "r1.replay"},
		{"127.0.0.1:6379", "127.0.0.1%3A6379.replay"},
		{"../etc/passwd", "..%2Fetc%2Fpasswd.replay"},
		{"a%3A", "a%253A.replay"},
		{"a b", "a%20b.replay"},
	}
	for _, tt := range tests {
		if got := fileName(tt.server); got != tt.want {
			t.Errorf("fileName(%q) = %q; want %q", tt.server, got, tt.want)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name   string
		server string
		limit  int
	}{
		{"empty server", "", 10},
		{"zero limit", "r1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if q, err := Open(t.TempDir(), tt.server, tt.limit); err == nil {
				q.Close()
				t.Errorf("Open(%q, %d) succeeded; want an error", tt.server, tt.limit)
			}
		})
	}
}

func TestOverflow(t *testing.T) {
	long := string(make([]byte, MaxKeySize+1))
	tests := []struct {
		name string
		keys []string
	}{
		{"one key too many", []string{"a", "b", "c"}},
		{"key too long", []string{long}},
		{"keys after the overflow", []string{"a", "b", "c", "d", "a", "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q := open(t, dir, 2)
			add(t, q, tt.keys...)
			checkOverflowed(t, q, tt.keys...)
			q.Close()
			checkOverflowed(t, open(t, dir, 2), tt.keys...)
		})
	}
}

// checkOverflowed checks that q overflowed into a filter that holds every key of keys, which
// Drain refuses to replay and Repair hands out.
func checkOverflowed(t *testing.T, q *Queue, keys ...string) {
	t.Helper()
	if !q.Overflowed() || q.Lost() || q.Len() != 0 || q.Sealed() || !q.Behind() {
		t.Errorf("Overflowed() = %v, Lost() = %v, Len() = %d, Sealed() = %v, Behind() = %v; want true, false, 0, false, true",
			q.Overflowed(), q.Lost(), q.Len(), q.Sealed(), q.Behind())
	}
	called := false
	err := q.Drain(func([][]byte) error { called = true; return nil })
	if !errors.Is(err, ErrOverflow) || called {
		t.Errorf("Drain = %v, replay called %v; want ErrOverflow, not called", err, called)
	}
	errStop := errors.New("only looking")
	err = q.Repair(func(untrusted func([]byte) bool) error {
		for _, k := range keys {
			if !untrusted([]byte(k)) {
				t.Errorf("untrusted(%.20q) = false; want true: it was added", k)
			}
		}
		return errStop
	})
	if !errors.Is(err, errStop) || !q.Overflowed() {
		t.Errorf("Repair = %v, Overflowed() = %v after a failed sweep; want %v, true", err, q.Overflowed(), errStop)
	}
}

// checkLost checks that q lost track of what the server missed: only a flush (Reset) helps.
func checkLost(t *testing.T, q *Queue) {
	t.Helper()
	if !q.Lost() || q.Overflowed() || q.Len() != 0 || q.Sealed() || !q.Behind() {
		t.Errorf("Lost() = %v, Overflowed() = %v, Len() = %d, Sealed() = %v, Behind() = %v; want true, false, 0, false, true",
			q.Lost(), q.Overflowed(), q.Len(), q.Sealed(), q.Behind())
	}
	called := false
	err := q.Drain(func([][]byte) error { called = true; return nil })
	if !errors.Is(err, ErrLost) || called {
		t.Errorf("Drain = %v, replay called %v; want ErrLost, not called", err, called)
	}
	err = q.Repair(func(func([]byte) bool) error { called = true; return nil })
	if !errors.Is(err, ErrLost) || called {
		t.Errorf("Repair = %v, sweep called %v; want ErrLost, not called", err, called)
	}
}

func TestResetAfterOverflow(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, 2)
	add(t, q, "a", "b", "c")
	flushes := 0
	if err := q.Reset(func() error { flushes++; return nil }); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if flushes != 1 || q.Overflowed() || q.Len() != 0 {
		t.Errorf("after Reset: %d flushes, Overflowed() = %v, Len() = %d; want 1, false, 0",
			flushes, q.Overflowed(), q.Len())
	}
	add(t, q, "d")
	q.Close()
	reopened := open(t, dir, 2)
	if got, want := drain(t, reopened), [][]string{{"d"}}; !equalRounds(got, want) {
		t.Errorf("after Reset, Add and reopen: replayed %q; want %q", got, want)
	}
}

func TestResetFailureKeepsTheOverflow(t *testing.T) {
	q := open(t, t.TempDir(), 1)
	add(t, q, "a", "b")
	errFlush := errors.New("flush failed")
	if err := q.Reset(func() error { return errFlush }); !errors.Is(err, errFlush) {
		t.Errorf("Reset = %v; want it to wrap %v", err, errFlush)
	}
	if !q.Overflowed() {
		t.Errorf("Overflowed() = false after a failed flush")
	}
}

func TestResetKeepsWhatCameDuringTheFlush(t *testing.T) {
	tests := []struct {
		name         string
		duringFlush  []string
		wantLen      int
		wantOverflow bool
	}{
		{"a key", []string{"x"}, 1, false},
		{"a key queued before", []string{"a"}, 1, false},
		{"an overflow", []string{"x", "y"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := open(t, t.TempDir(), 3)
			add(t, q, "a", "b")
			err := q.Reset(func() error { add(t, q, tt.duringFlush...); return nil })
			if err != nil {
				t.Fatalf("Reset: %v", err)
			}
			if q.Len() != tt.wantLen || q.Overflowed() != tt.wantOverflow {
				t.Errorf("Len() = %d, Overflowed() = %v; want %d, %v",
					q.Len(), q.Overflowed(), tt.wantLen, tt.wantOverflow)
			}
		})
	}
}

func TestKeysAddedDuringDrainAreReplayedNext(t *testing.T) {
	q := open(t, t.TempDir(), 10)
	add(t, q, "a", "b")
	var rounds [][]string
	err := q.Drain(func(keys [][]byte) error {
		if len(rounds) == 0 {
			add(t, q, "a", "d") // a invalidated again after its replay began
		}
		rounds = append(rounds, strs(keys))
		return nil
	})
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if want := [][]string{{"a", "b"}, {"a", "d"}}; !equalRounds(rounds, want) {
		t.Errorf("Drain replayed %q; want %q", rounds, want)
	}
	if !q.Sealed() {
		t.Errorf("Sealed() = false after Drain")
	}
}

func TestDrainFailureKeepsKeys(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, 10)
	add(t, q, "a", "b")
	errDel := errors.New("connection refused")
	if err := q.Drain(func([][]byte) error { return errDel }); !errors.Is(err, errDel) {
		t.Errorf("Drain = %v; want it to wrap %v", err, errDel)
	}
	if q.Len() != 2 || q.Sealed() {
		t.Errorf("after a failed Drain: Len() = %d, Sealed() = %v; want 2, false", q.Len(), q.Sealed())
	}
}

// TestSealing walks the owner's protocol: Defer queues while the server is
// behind, is refused once Drain has sealed the queue, and Add reopens it.
func TestSealing(t *testing.T) {
	q := open(t, t.TempDir(), 10)
	steps := []struct {
		do       string // "defer k", "add k" or "drain"
		wantErr  error
		wantLen  int
		wantSeal bool
	}{
		{"defer a", ErrSealed, 0, true}, // a new queue: the server has everything
		{"add a", nil, 1, false},
		{"defer b", nil, 2, false},
		{"drain", nil, 0, true},
		{"defer c", ErrSealed, 0, true},
		{"add c", nil, 1, false},
	}
	for _, s := range steps {
		var err error
		switch verb, key, _ := cut(s.do); verb {
		case "defer":
			err = q.Defer([]byte(key))
		case "add":
			err = q.Add([]byte(key))
		case "drain":
			err = q.Drain(func([][]byte) error { return nil })
		}
		if !errors.Is(err, s.wantErr) || q.Len() != s.wantLen || q.Sealed() != s.wantSeal {
			t.Fatalf("%s: err %v, Len() = %d, Sealed() = %v; want %v, %d, %v",
				s.do, err, q.Len(), q.Sealed(), s.wantErr, s.wantLen, s.wantSeal)
		}
	}
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestClosed(t *testing.T) {
	q := open(t, t.TempDir(), 10)
	q.Close()
	ops := map[string]func() error{
		"Add":   func() error { return q.Add([]byte("k")) },
		"Defer": func() error { return q.Defer([]byte("k")) },
		"Drain": func() error { return q.Drain(func([][]byte) error { return nil }) },
		"Reset": func() error { return q.Reset(func() error { return nil }) },
		"Repair": func() error {
			return q.Repair(func(func([]byte) bool) error { return nil })
		},
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v; want ErrClosed", name, err)
		}
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
}

// A failed write loses nothing: memory still holds every key, and the file is rewritten from
// it.
func TestWriteFailureRewritesTheFile(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, 10)
	add(t, q, "a")
	q.fileMu.Lock()
	ro, err := os.Open(q.j.path) // writes to it fail
	if err != nil {
		t.Fatal(err)
	}
	q.j.f.Close()
	q.j.f = ro
	q.fileMu.Unlock()

	if err := q.Add([]byte("b")); err != nil {
		t.Errorf("Add = %v; want nil: the flusher writes it", err)
	}
	if err := q.Sync(); err != nil {
		t.Errorf("Sync on a failing file = %v; want nil: the file was rewritten", err)
	}
	if q.Overflowed() || q.Lost() || q.Len() != 2 {
		t.Errorf("Overflowed() = %v, Lost() = %v, Len() = %d; want false, false, 2", q.Overflowed(), q.Lost(), q.Len())
	}
	add(t, q, "c")
	q.Sync() // appends to the new file, not the read-only one
	if got, want := drain(t, open(t, dir, 10)), [][]string{{"a", "b", "c"}}; !equalRounds(got, want) {
		t.Errorf("reopened after a failed write: replayed %q; want %q", got, want)
	}
}

// TestConcurrentAdds shares fsyncs between goroutines; run with -race.
func TestConcurrentAdds(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, 1000)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if err := q.Add(fmt.Appendf(nil, "k%d:%d", g, i)); err != nil {
					t.Errorf("Add: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if got := q.Len(); got != 400 {
		t.Errorf("Len() = %d; want 400", got)
	}
	q.Sync()
	if got := open(t, dir, 1000).Len(); got != 400 {
		t.Errorf("Len() after reopening without Close = %d; want 400", got)
	}
}

func TestNoTempFileLeftBehind(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, 10)
	add(t, q, "a")
	drain(t, q)
	q.Close()
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, fileName(server))}; !slices.Equal(names, want) {
		t.Errorf("data dir holds %q; want %q", names, want)
	}
}

func BenchmarkAdd(b *testing.B) {
	q, err := Open(b.TempDir(), server, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	b.ReportAllocs()
	var n sync.Mutex
	i := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Lock()
			i++
			key := fmt.Appendf(nil, "user:%d", i)
			n.Unlock()
			if err := q.Add(key); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
