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

// pending holds the replies a client's socket has not taken yet, in chunks of pendChunk
// bytes: each byte is copied in once and written from where it lies, however far behind the
// client reads. (One growing slice copied everything pending at each growth: with tens of MB
// behind, most of the CPU went to copying.)
type pending struct {
	chunks [][]byte // chunks[0][off:] is written next; only the last chunk has room
	off    int
	size   int // bytes held
}

const pendChunk = 256 << 10

var pendChunks = sync.Pool{New: func() any { return new([pendChunk]byte) }}

func (p *pending) empty() bool { return p.size == 0 }

// add copies b in.
func (p *pending) add(b []byte) {
	p.size += len(b)
	for len(b) > 0 {
		last := len(p.chunks) - 1
		if last < 0 || len(p.chunks[last]) == cap(p.chunks[last]) {
			p.chunks = append(p.chunks, pendChunks.Get().(*[pendChunk]byte)[:0])
			last++
		}
		n := min(len(b), cap(p.chunks[last])-len(p.chunks[last]))
		p.chunks[last] = append(p.chunks[last], b[:n]...)
		b = b[n:]
	}
}

// next is what to write next: the rest of the first chunk.
func (p *pending) next() []byte { return p.chunks[0][p.off:] }

// written drops the first n bytes of next, giving a finished chunk back.
func (p *pending) written(n int) {
	p.off += n
	p.size -= n
	if p.off == len(p.chunks[0]) {
		pendChunks.Put((*[pendChunk]byte)(p.chunks[0][:pendChunk]))
		p.chunks[0] = nil
		p.chunks, p.off = p.chunks[1:], 0
	}
	if p.size == 0 {
		p.reset()
	}
}

// reset drops everything held.
func (p *pending) reset() {
	for _, c := range p.chunks {
		pendChunks.Put((*[pendChunk]byte)(c[:pendChunk]))
	}
	p.chunks, p.off, p.size = nil, 0, 0
}
