//go:build linux

package frontend

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// fdTable finds the client on a descriptor for all of a server's loops (a descriptor belongs to
// one connection at a time): 8 bytes a descriptor, in chunks made as descriptors reach them.
// Chunks never move, so a lookup takes no lock and never sees a stale copy.
type fdTable struct {
	mu     sync.Mutex // serialises making chunks
	chunks [fdChunks]atomic.Pointer[fdChunk]
}

const (
	fdChunkBits = 10
	fdChunks    = 1 << 10 // descriptors up to 2^20, Linux's default fs.nr_open
)

type fdChunk [1 << fdChunkBits]atomic.Pointer[loopConn]

// set records c on fd; a nil c forgets fd.
func (t *fdTable) set(fd int, c *loopConn) error {
	i := fd >> fdChunkBits
	if fd < 0 || i >= fdChunks {
		return fmt.Errorf("frontend: descriptor %d is beyond the event loops' table (%d)", fd, fdChunks<<fdChunkBits)
	}
	chunk := t.chunks[i].Load()
	if chunk == nil {
		if c == nil {
			return nil
		}
		t.mu.Lock()
		if chunk = t.chunks[i].Load(); chunk == nil {
			chunk = new(fdChunk)
			t.chunks[i].Store(chunk)
		}
		t.mu.Unlock()
	}
	chunk[fd&(1<<fdChunkBits-1)].Store(c)
	return nil
}

// get returns the client on fd, nil for none.
func (t *fdTable) get(fd int) *loopConn {
	i := fd >> fdChunkBits
	if fd < 0 || i >= fdChunks {
		return nil
	}
	if chunk := t.chunks[i].Load(); chunk != nil {
		return chunk[fd&(1<<fdChunkBits-1)].Load()
	}
	return nil
}
