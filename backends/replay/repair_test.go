package replay

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
)

// fakeServer is the keys a server holds.
type fakeServer map[string]bool

// sweep deletes the untrusted keys and returns a sweep function for Repair that runs during
// (if not nil) in the middle and then fails with fail (if not nil).
func (s fakeServer) sweep(during func(), fail error) func(func([]byte) bool) error {
	return func(untrusted func([]byte) bool) error {
		if during != nil {
			during()
		}
		if fail != nil {
			return fail
		}
		for k := range s {
			if untrusted([]byte(k)) {
				delete(s, k)
			}
		}
		return nil
	}
}

// serverWith returns a fake server holding keys and n others, "other:0" on.
func serverWith(n int, keys ...string) fakeServer {
	s := fakeServer{}
	for _, k := range keys {
		s[k] = true
	}
	for i := range n {
		s[fmt.Sprintf("other:%d", i)] = true
	}
	return s
}

// A repair deletes what the server missed, keeps every other key, and leaves the queue empty
// and sealed.
func TestRepairDeletesOnlyWhatWasMissed(t *testing.T) {
	q := open(t, t.TempDir(), 3)
	missed := []string{"a", "b", "c", "d", "e", "a"}
	add(t, q, missed...)
	srv := serverWith(1000, missed...)
	if err := q.Repair(srv.sweep(nil, nil)); err != nil {
		t.Fatalf("Repair: %v", err)
	}
	for _, k := range missed {
		if srv[k] {
			t.Errorf("%s still on the server after the repair; want it deleted", k)
		}
	}
	if len(srv) != 1000 {
		t.Errorf("the server holds %d of its 1000 other keys after the repair; want all", len(srv))
	}
	if q.Overflowed() || q.Behind() || !q.Sealed() {
		t.Errorf("after Repair: Overflowed() = %v, Behind() = %v, Sealed() = %v; want false, false, true",
			q.Overflowed(), q.Behind(), q.Sealed())
	}
}

func TestRepairOfAQueueThatDidNotOverflow(t *testing.T) {
	q := open(t, t.TempDir(), 3)
	add(t, q, "a")
	err := q.Repair(func(func([]byte) bool) error { t.Error("sweep called"); return nil })
	if err != nil || q.Len() != 1 {
		t.Errorf("Repair = %v, Len() = %d; want nil, 1 (left to Drain)", err, q.Len())
	}
}

// The filter survives a restart of discoh, closed or killed, whether the keys came before the
// overflow, after it, or after enough of them that the file was rewritten with the filter.
func TestOverflowSurvivesRestart(t *testing.T) {
	var many []string // enough that the file is rewritten with the filter after the overflow
	for i := range maxHashes(4) + 200 {
		many = append(many, fmt.Sprintf("k%d", i))
	}
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
			q, err := Open(dir, server, 4)
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range many {
				add(t, q, k)
				if i == 10 || i%(maxHashes(4)/3) == 0 {
					q.Sync()
					checkFileSize(t, dir, 4)
				}
			}
			tt.wait(q)
			if tt.close {
				q.Close()
			} else if size := fileSize(t, dir); size > len(header)+recordHead+filterBytes+1000*(recordHead+hashSize) {
				t.Errorf("file of %d bytes after %d keys; want it rewritten with the filter after %d",
					size, len(many), maxHashes(4))
			}
			checkFileSize(t, dir, 4)
			reopened := open(t, dir, 4)
			checkOverflowed(t, reopened, many...)
		})
	}
}

func checkFileSize(t *testing.T, dir string, limit int) {
	t.Helper()
	if size := fileSize(t, dir); int64(size) > maxFileSize(limit) {
		t.Errorf("file of %d bytes; want at most %d", size, maxFileSize(limit))
	}
}

func fileSize(t *testing.T, dir string) int {
	t.Helper()
	fi, err := os.Stat(dir + "/" + fileName(server))
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Size())
}

// During a repair the queue is sealed: Defer is refused (the owner writes to the server), and
// keys Added (sends that failed) are queued apart, to be drained once the repair is done.
func TestRepairKeepsKeysAddedDuringIt(t *testing.T) {
	q := open(t, t.TempDir(), 2)
	add(t, q, "a", "b", "c")
	srv := serverWith(10, "a", "b", "c", "x")
	during := func() {
		if err := q.Defer([]byte("d")); !errors.Is(err, ErrSealed) {
			t.Errorf("Defer during the repair = %v; want ErrSealed", err)
		}
		add(t, q, "x")
	}
	if err := q.Repair(srv.sweep(during, nil)); err != nil {
		t.Fatalf("Repair: %v", err)
	}
	if q.Overflowed() || q.Len() != 1 || q.Sealed() {
		t.Errorf("after Repair: Overflowed() = %v, Len() = %d, Sealed() = %v; want false, 1, false",
			q.Overflowed(), q.Len(), q.Sealed())
	}
	if got, want := drain(t, q), [][]string{{"x"}}; !equalRounds(got, want) {
		t.Errorf("Drain after Repair replayed %q; want %q", got, want)
	}
}

// A failed repair puts the filter back, with what was added meanwhile, and the file still
// holds all of it.
func TestRepairFailureKeepsEverything(t *testing.T) {
	tests := []struct {
		name     string
		meantime []string
	}{
		{"nothing added", nil},
		{"a key added", []string{"x"}},
		{"the queue overflowed again", []string{"x", "y", "z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q := open(t, dir, 2)
			add(t, q, "a", "b", "c")
			errDown := errors.New("connection refused")
			err := q.Repair(fakeServer{}.sweep(func() { add(t, q, tt.meantime...) }, errDown))
			if !errors.Is(err, errDown) {
				t.Errorf("Repair = %v; want it to wrap %v", err, errDown)
			}
			want := append([]string{"a", "b", "c"}, tt.meantime...)
			checkOverflowed(t, q, want...)
			q.Sync()
			checkOverflowed(t, open(t, dir, 2), want...)
		})
	}
}

// discoh killed while it repairs a server leaves a file that still holds the filter and the
// keys added meanwhile: the next run repairs again.
func TestRepairInterruptedByACrash(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, 2)
	add(t, q, "a", "b", "c")
	during := func() {
		add(t, q, "x")
		q.Sync()
		checkOverflowed(t, open(t, dir, 2), "a", "b", "c", "x")
	}
	if err := q.Repair(fakeServer{}.sweep(during, nil)); err != nil {
		t.Fatalf("Repair: %v", err)
	}
}

// A repair that succeeds compacts the file: a restart finds only the keys added meanwhile.
func TestRepairCompactsTheFile(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir, 2)
	add(t, q, "a", "b", "c")
	if err := q.Repair(fakeServer{}.sweep(func() { add(t, q, "x") }, nil)); err != nil {
		t.Fatalf("Repair: %v", err)
	}
	q.Close()
	reopened := open(t, dir, 2)
	if reopened.Overflowed() || !slices.Equal(strs(reopened.sortedKeysLocked()), []string{"x"}) {
		t.Errorf("reopened after a repair: Overflowed() = %v, keys %q; want false, [x]",
			reopened.Overflowed(), strs(reopened.sortedKeysLocked()))
	}
}

// Only damage costs a flush, and Reset clears it.
func TestDamageStillMeansFlush(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/"+fileName(server), withFilter([]string{"a"})[:100], 0o600); err != nil {
		t.Fatal(err)
	}
	q := open(t, dir, 2)
	checkLost(t, q)
	add(t, q, "ignored") // the flush covers it
	flushed := false
	if err := q.Reset(func() error { flushed = true; return nil }); err != nil || !flushed {
		t.Fatalf("Reset = %v, flushed %v; want nil, true", err, flushed)
	}
	if q.Lost() || q.Behind() {
		t.Errorf("after Reset: Lost() = %v, Behind() = %v; want false, false", q.Lost(), q.Behind())
	}
}

// A file an older discoh left with an overflow record (the same byte as a lost record) is
// lost: its keys were dropped.
func TestOldOverflowRecordIsLost(t *testing.T) {
	dir := t.TempDir()
	data := appendRecord(encodeKeys("a"), 2, nil)
	if err := os.WriteFile(dir+"/"+fileName(server), data, 0o600); err != nil {
		t.Fatal(err)
	}
	q := open(t, dir, 2)
	if q.Damage() != nil {
		t.Errorf("Damage() = %v; want nil", q.Damage())
	}
	checkLost(t, q)
}
