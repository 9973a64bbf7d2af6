package proxy

import "testing"

func TestBatchBound(t *testing.T) {
	const limit = 64 << 20
	var b BatchBound
	run := func(n, replyBytes int) int {
		ended := n
		for i := 1; i <= n; i++ {
			if b.Full(limit) {
				ended = i
				break
			}
		}
		b.Flushed(ended*replyBytes, limit)
		return ended
	}
	// Slow start, then held: 512 replies of 100 KB are between half the limit and the limit.
	for i, want := range []int{64, 128, 256, 512, 512, 512} {
		if got := run(1024, 100<<10); got != want {
			t.Fatalf("batch %d of 100 KB replies: %d requests; want %d", i, got, want)
		}
	}
	run(1024, 200<<10) // 512 replies of 200 KB: 100 MB, over the limit
	if got := run(1024, 200<<10); got != 327 {
		t.Errorf("after a 100 MB batch: %d requests; want 327 (64 MB of 200 KB replies)", got)
	}
	for range 12 { // small replies: the bound doubles until it goes
		run(100000, 100)
	}
	if got := run(100000, 100); got != 100000 {
		t.Errorf("after small replies: %d requests; want 100000, no bound", got)
	}
	var off BatchBound
	if off.Full(0) {
		t.Errorf("with no limit, a batch is full after one request")
	}
}
