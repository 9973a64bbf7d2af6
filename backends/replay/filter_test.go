package replay

import (
	"fmt"
	"testing"
)

// A filter never forgets a key, and mistakes few others for its keys.
func TestFilterHoldsEveryKey(t *testing.T) {
	const n = 100_000
	f := newFilter()
	for i := range n {
		f.add(hashKey(fmt.Appendf(nil, "user:%d", i)))
	}
	for i := range n {
		if key := fmt.Appendf(nil, "user:%d", i); !f.has(hashKey(key)) {
			t.Fatalf("has(%s) = false; want true: it was added", key)
		}
	}
	mistaken := 0
	for i := range n {
		if f.has(hashKey(fmt.Appendf(nil, "other:%d", i))) {
			mistaken++
		}
	}
	// (1 - e^(-3n/2^24))^3 is 0.0006% at 100,000 keys: about 1 of 100,000 others.
	if mistaken > 20 {
		t.Errorf("%d of %d keys never added are in the filter; want about 1", mistaken, n)
	}
	t.Logf("%d of %d keys never added mistaken for added ones", mistaken, n)
}

func TestFilterAddReportsChange(t *testing.T) {
	f := newFilter()
	h := hashKey([]byte("k"))
	if !f.add(h) {
		t.Errorf("first add = false; want true")
	}
	if f.add(h) {
		t.Errorf("second add = true; want false: nothing changed")
	}
}

func TestFilterBytesRoundTrip(t *testing.T) {
	f := newFilter()
	for _, k := range []string{"a", "b", ""} {
		f.add(hashKey([]byte(k)))
	}
	b := f.appendBytes(nil)
	if len(b) != filterBytes {
		t.Fatalf("appendBytes wrote %d bytes; want %d", len(b), filterBytes)
	}
	g := newFilter()
	g.mergeBytes(b)
	for _, k := range []string{"a", "b", ""} {
		if !g.has(hashKey([]byte(k))) {
			t.Errorf("read back filter does not hold %q", k)
		}
	}
	u := union(nil, g)
	if !u.has(hashKey([]byte("a"))) || u == g {
		t.Errorf("union(nil, g) = g or without g's keys; want a new filter with them")
	}
}
