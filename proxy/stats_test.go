package proxy

import (
	"testing"
	"time"
)

func TestOpsMeter(t *testing.T) {
	var m OpsMeter
	start := time.Unix(1000, 0)
	if got := m.Sample(start.Add(2*time.Second), start, 200); got != 100 {
		t.Errorf("first sample = %d; want 100 (200 commands in the 2 s since start)", got)
	}
	if got := m.Sample(start.Add(2500*time.Millisecond), start, 10_000); got != 100 {
		t.Errorf("sample within a second = %d; want the last rate, 100", got)
	}
	if got := m.Sample(start.Add(4*time.Second), start, 1200); got != 500 {
		t.Errorf("sample 2 s later = %d; want 500", got)
	}
}
