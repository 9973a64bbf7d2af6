package backends

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestComeBackEmpty(t *testing.T) {
	at := time.Unix(1_000_000, 0)
	run := Census{ID: "a", Uptime: time.Hour, Items: 10, At: at}
	later := func(c Census, d time.Duration) Census { c.At, c.Uptime = c.At.Add(d), c.Uptime+d; return c }
	tests := []struct {
		name      string
		prev, now Census
		want      string
	}{
		{"first census, holds items", Census{}, run, ""},
		{"first census, empty", Census{}, Census{ID: "a", Items: 0, At: at}, "empty"},
		{"same run later", run, later(run, time.Minute), ""},
		{"same run, uptime rounded a second off", run, Census{ID: "a", Uptime: time.Hour + 59*time.Second, Items: 10, At: at.Add(time.Minute)}, ""},
		{"another run id", run, Census{ID: "b", Uptime: time.Minute, Items: 10, At: at.Add(time.Minute)}, "restarted"},
		{"same pid, started later (pid 1 in a container)", run, Census{ID: "a", Uptime: 5 * time.Second, Items: 3, At: at.Add(time.Minute)}, "restarted"},
		{"same run, emptied", run, Census{ID: "a", Uptime: time.Hour + time.Minute, Items: 0, At: at.Add(time.Minute)}, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := comeBackEmpty(tt.prev, tt.now); got != tt.want {
				t.Errorf("comeBackEmpty = %q; want %q", got, tt.want)
			}
		})
	}
}

// The race rule of settle: a copied key is deleted again from the server when the partner no
// longer holds it (a DEL reached the server before the copy and the partner after its read)
// or holds another value; a key the server no longer holds is left alone.
func TestDisagree(t *testing.T) {
	keys := [][]byte{[]byte("same"), []byte("deleted"), []byte("rewritten"), []byte("gone here"), []byte("flags")}
	v := func(s string, flags uint32) Value { return Value{Data: []byte(s), Flags: flags} }
	theirs := map[int]Value{0: v("x", 0), 2: v("new", 0), 4: v("x", 1)}
	ours := map[int]Value{0: v("x", 0), 1: v("old", 0), 2: v("old", 0), 4: v("x", 2)}
	var got []string
	for _, k := range disagree(keys, theirs, ours) {
		got = append(got, string(k))
	}
	if want := []string{"deleted", "rewritten", "flags"}; !slices.Equal(got, want) {
		t.Errorf("disagree = %q; want %q", got, want)
	}
}

// quiet waits for writes in flight to end, and gives up on a key still written after
// settleLimit.
func TestQuietWaitsForWritesInFlight(t *testing.T) {
	p := testPool(t, 2)
	ending, hot := []byte("ending"), []byte("hot")
	p.BeginWrite(ending)
	p.BeginWrite(hot)
	defer p.EndWrite(hot)
	go func() {
		time.Sleep(20 * time.Millisecond)
		p.EndWrite(ending)
	}()
	start := time.Now()
	quiet, busy := p.quiet(context.Background(), [][]byte{[]byte("idle"), ending, hot})
	took := time.Since(start)
	if fmt.Sprintf("%q %q", quiet, busy) != `["idle" "ending"] ["hot"]` {
		t.Errorf("quiet = %q, busy = %q; want idle and ending quiet, hot busy", quiet, busy)
	}
	if took < settleLimit || took > settleLimit+time.Second {
		t.Errorf("quiet took %v; want about settleLimit (%v) for a key written all along", took, settleLimit)
	}
}

// Only a key the server holds a copy of is copied to it, and from its first live copy other
// than the server only.
func TestSourceIsTheFirstOtherCopy(t *testing.T) {
	p := testPool(t, 2)
	for i := range 200 {
		key := []byte(fmt.Sprintf("key:%d", i))
		copies := p.Copies(key, nil)
		for to := range p.Servers {
			want := -1
			switch to {
			case copies[0]:
				want = copies[1]
			case copies[1]:
				want = copies[0]
			}
			if got := p.source(key, to); got != want {
				t.Fatalf("source(%s, %d) = %d; want %d (copies %v)", key, to, got, want, copies)
			}
		}
	}
}
