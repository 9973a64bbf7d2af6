package ledger

import (
	"sync"
	"testing"
	"time"
)

// t0 is an arbitrary origin; the tests place acks and reads at offsets from it.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

type ackAt struct {
	version int64
	ms      int
}

func TestJudge(t *testing.T) {
	tests := []struct {
		name  string
		acks  []ackAt
		start int // ms
		got   int64
		want  Verdict
	}{
		{"no write acknowledged", nil, 10, 1, Verdict{}},
		{"read began before the ack", []ackAt{{2, 10}}, 9, 1, Verdict{}},
		{"read began at the ack", []ackAt{{2, 10}}, 10, 1, Verdict{}},
		{"read began after the ack", []ackAt{{2, 10}}, 11, 1,
			Verdict{Stale: true, Behind: 1, Age: time.Millisecond}},
		{"hit of the acknowledged version", []ackAt{{2, 10}}, 11, 2, Verdict{}},
		{"hit newer than any ack", []ackAt{{2, 10}}, 11, 3, Verdict{}},
		{"only acks before the read count", []ackAt{{2, 10}, {3, 20}}, 15, 1,
			Verdict{Stale: true, Behind: 1, Age: 5 * time.Millisecond}},
		{"hit between two acks, read after both", []ackAt{{2, 10}, {3, 20}}, 25, 2,
			Verdict{Stale: true, Behind: 1, Age: 5 * time.Millisecond}},
		{"several versions behind, age from the first newer ack", []ackAt{{2, 10}, {3, 20}, {5, 30}}, 40, 1,
			Verdict{Stale: true, Behind: 4, Age: 30 * time.Millisecond}},
		{"writers acknowledged out of version order", []ackAt{{3, 10}, {2, 20}}, 25, 2,
			Verdict{Stale: true, Behind: 1, Age: 15 * time.Millisecond}},
		{"acks recorded out of time order", []ackAt{{3, 20}, {2, 10}}, 15, 1,
			Verdict{Stale: true, Behind: 1, Age: 5 * time.Millisecond}},
		{"a later, higher ack recorded first does not hide an earlier one", []ackAt{{5, 30}, {3, 10}}, 20, 2,
			Verdict{Stale: true, Behind: 1, Age: 10 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(1)
			for _, a := range tt.acks {
				l.Acked(0, a.version, at(a.ms))
			}
			if got := l.Judge(0, at(tt.start), tt.got); got != tt.want {
				t.Errorf("Judge(start %dms, version %d) = %+v; want %+v", tt.start, tt.got, got, tt.want)
			}
		})
	}
}

func TestKeysAreSeparate(t *testing.T) {
	l := New(2)
	l.Acked(0, 5, at(10))
	if got := l.Judge(1, at(20), 1); got.Stale {
		t.Errorf("key 1 judged against key 0's ack: %+v; want not stale", got)
	}
	if got := l.Judge(0, at(20), 1); !got.Stale {
		t.Errorf("key 0: %+v; want stale", got)
	}
}

// TestHistoryStaysMinimal checks that acks that cannot decide a verdict are not kept, so a
// long run's history grows only with writes that raised a key's version.
func TestHistoryStaysMinimal(t *testing.T) {
	l := New(1)
	for _, a := range []ackAt{{1, 10}, {3, 20}, {2, 30}, {3, 40}, {4, 15}, {6, 50}} {
		l.Acked(0, a.version, at(a.ms))
	}
	want := []ack{{1, at(10)}, {4, at(15)}, {6, at(50)}}
	got := l.keys[0].acks
	if len(got) != len(want) {
		t.Fatalf("history %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("history[%d] = %v; want %v", i, got[i], want[i])
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	l := New(4)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for v := range int64(1000) {
				l.Acked(w, v, at(int(v)))
				l.Judge((w+1)%4, at(int(v)), v)
			}
		})
	}
	wg.Wait()
	if got := l.Judge(0, at(2000), 0); got.Behind != 999 {
		t.Errorf("after 1000 writes: %+v; want 999 versions behind", got)
	}
}
