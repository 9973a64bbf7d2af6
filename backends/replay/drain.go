package replay

import "fmt"

// Drain hands the queued keys, in the order they were queued, to replay, which deletes them
// on the server, and forgets them once it returns nil. Each round seals the queue as it takes
// the keys: from then on Defer is refused, so the owner sends new invalidations to the server
// itself while the old ones are replayed, and a server under a steady stream of writes catches
// up in one round instead of chasing them. Keys Added while a round ran (its sends failed)
// unseal it and are replayed in the next round. When a round finds the queue empty, Drain
// returns nil, the queue sealed. It returns ErrOverflow or ErrLost, replaying nothing, if the
// queue has overflowed (see Repair) or was lost (see Reset), and replay's error if it fails, the
// queue unsealed.
func (q *Queue) Drain(replay func(keys [][]byte) error) error {
	for {
		keys, upto, err := q.next()
		if err != nil || keys == nil {
			return err
		}
		if err := replay(keys); err != nil {
			q.unseal()
			return fmt.Errorf("replay: replaying %d keys: %w", len(keys), err)
		}
		if err := q.forget(upto, false); err != nil {
			return err
		}
	}
}

// next seals the queue and returns the queued keys and the seq they were taken at (none when
// it is empty).
func (q *Queue) next() (keys [][]byte, upto uint64, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return nil, 0, ErrClosed
	case q.lost:
		return nil, 0, ErrLost
	case q.filter != nil:
		return nil, 0, ErrOverflow
	}
	q.sealed = true
	if len(q.keys) == 0 {
		return nil, 0, nil
	}
	return q.sortedKeysLocked(), q.seq, nil
}

// unseal reopens the queue after a failed replay: the server is down again, and Defer queues.
func (q *Queue) unseal() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sealed = false
}

// Reset is for a queue that was lost: it calls flush, which empties the
// server, and then forgets the loss, the filter and every key added before
// flush was called (a filter that took keys during the flush is kept). It
// does not seal the queue; call Drain for the keys added during the flush.
// Reset works on a queue that was not lost too.
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

// forget drops the keys last added at or before seq upto, and with flushed
// the loss and the filter too if they took nothing later, and compacts the
// file.
func (q *Queue) forget(upto uint64, flushed bool) error {
	q.mu.Lock()
	for k, e := range q.keys {
		if e.latest <= upto {
			delete(q.keys, k)
		}
	}
	if flushed && q.lost && q.lostSeq <= upto {
		q.lost = false
	}
	if flushed && q.filter != nil && q.filterSeq <= upto {
		q.filter = nil
	}
	q.mu.Unlock()
	return q.compact()
}
