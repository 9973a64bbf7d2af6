package replay

import "fmt"

// Drain hands the queued keys, in the order they were queued, to replay, which deletes them
// on the server, and forgets them once it returns nil; keys added while it
// ran are kept and replayed in the next round. When a round finds the queue
// empty, Drain seals it and returns nil. It returns ErrOverflow, replaying
// nothing, if the queue has overflowed, and replay's error if it fails.
func (q *Queue) Drain(replay func(keys [][]byte) error) error {
	for {
		keys, upto, err := q.next()
		if err != nil || keys == nil {
			return err
		}
		if err := replay(keys); err != nil {
			return fmt.Errorf("replay: replaying %d keys: %w", len(keys), err)
		}
		if err := q.forget(upto, false); err != nil {
			return err
		}
	}
}

// next returns the queued keys and the seq they were taken at, or seals an
// empty queue and returns no keys.
func (q *Queue) next() (keys [][]byte, upto uint64, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return nil, 0, ErrClosed
	case q.overflow:
		return nil, 0, ErrOverflow
	case len(q.keys) == 0:
		q.sealed = true
		return nil, 0, nil
	}
	return q.sortedKeysLocked(), q.seq, nil
}

// Reset is for a queue that overflowed: it calls flush, which empties the
// server, and then forgets the overflow and every key added before flush
// was called. It does not seal the queue; call Drain for the keys added
// during the flush. Reset works on a queue that has not overflowed too.
func (q *Queue) Reset(flush func() error) error {
	q.mu.Lock()
	closed, upto := q.closed, q.seq
	q.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := flush(); err != nil {
		return fmt.Errorf("replay: flushing: %w", err)
	}
	return q.forget(upto, true)
}

// forget drops the keys last added at or before seq upto, and the overflow
// too if clearOverflow and it came no later, and compacts the file.
func (q *Queue) forget(upto uint64, clearOverflow bool) error {
	q.mu.Lock()
	for k, e := range q.keys {
		if e.latest <= upto {
			delete(q.keys, k)
		}
	}
	if clearOverflow && q.overflow && q.overflowSeq <= upto {
		q.overflow = false
	}
	q.mu.Unlock()
	return q.compact()
}
