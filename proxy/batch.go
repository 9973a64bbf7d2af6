package proxy

// BatchBound keeps what one client's batch of pipelined requests holds in replies under the
// pool's max_pending_output_bytes. Replies are held until the whole batch is written, and a
// reply's size is known only once it is in, so the bound learns as TCP's slow start does: a
// client's first batch holds at most firstBatch requests, each batch whose replies stayed well
// under the limit doubles the next one's bound (up to none at all), and one whose replies came
// to more than the limit makes the next proportionally shorter. A client pipelining 100 KB GETs
// without reading then holds about the limit, not max_pipeline replies of 100 KB, while one
// pipelining small replies is bounded by max_pipeline alone after a few batches.
type BatchBound struct {
	n   int // requests dispatched in this batch
	cap int // most requests a batch may hold: 0 not learnt yet (firstBatch), -1 no bound
}

const (
	firstBatch = 64      // a client's first batch, before its replies' sizes are known
	unbounded  = 1 << 16 // a bound grown past this is dropped
)

// Full counts a dispatched request and reports whether the batch should end with it.
func (b *BatchBound) Full(limit int) bool {
	b.n++
	return limit > 0 && b.cap >= 0 && b.n >= b.bound()
}

func (b *BatchBound) bound() int {
	if b.cap == 0 {
		return firstBatch
	}
	return b.cap
}

// Flushed learns from a batch whose replies came to total bytes.
func (b *BatchBound) Flushed(total, limit int) {
	n := b.n
	b.n = 0
	switch {
	case n == 0 || b.cap < 0:
	case limit <= 0:
		b.cap = -1
	case total > limit:
		b.cap = max(1, int(int64(n)*int64(limit)/int64(total)))
	case total <= limit/2 && b.bound() >= unbounded:
		b.cap = -1
	case total <= limit/2:
		b.cap = 2 * b.bound()
	}
}
