//go:build linux

package frontend

import "sync"

// outBuffer holds a batch's replies while they are gathered. Loop clients take one per batch
// and give it back after, so a client between requests holds none.
type outBuffer struct{ b []byte }

var outBuffers = sync.Pool{New: func() any { return new(outBuffer) }}

// release gives b back for another batch, unless it grew past a spill's size.
func (b *outBuffer) release() {
	if cap(b.b) > SpillBytes {
		return
	}
	b.b = b.b[:0]
	outBuffers.Put(b)
}
