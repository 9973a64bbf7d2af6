package replay

import "fmt"

// Repair is for a queue that overflowed. It seals the queue as it takes the filter, as Drain
// does as it takes the keys, so the owner sends new invalidations to the server itself from
// then on. It then calls sweep, which lists the keys the server holds and deletes those for
// which untrusted reports true: every key the filter holds, and a few it mistakes for them.
// untrusted is safe for concurrent use and valid until sweep returns. Once sweep returns nil,
// Repair forgets the filter; the keys added meanwhile (sends to the server that failed) are
// queued apart, for Drain, or in a new filter if they overflowed the queue again. If sweep
// fails, Repair merges the filter with whatever was added meanwhile, unseals the queue and
// returns the error. It returns nil at once if the queue has not overflowed, and ErrLost if
// it was lost (see Reset).
//
// untrusted does not spare the keys the owner wrote to the server after the seal: such a write
// may have read the stale copy (APPEND, INCR, HSET, memcached append), and a key it rewrote
// whole that the sweep deletes after it only costs a miss.
func (q *Queue) Repair(sweep func(untrusted func(key []byte) bool) error) error {
	f, err := q.beginRepair()
	if f == nil || err != nil {
		return err
	}
	if err := sweep(func(key []byte) bool { return f.has(hashKey(key)) }); err != nil {
		q.abortRepair()
		return fmt.Errorf("replay: repairing: %w", err)
	}
	return q.endRepair()
}

// beginRepair seals the queue and sets its filter aside for the repair, still in the file; nil
// if it has none. An overflowed queue holds no keys as they are, so the filter is everything.
func (q *Queue) beginRepair() (*filter, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return nil, ErrClosed
	case q.lost:
		return nil, ErrLost
	case q.filter == nil:
		return nil, nil
	}
	q.repairing, q.filter = q.filter, nil
	q.sealed = true
	return q.repairing, nil
}

// abortRepair puts the repair's filter back, with whatever was added during the repair: the
// server is down again, and Defer queues.
func (q *Queue) abortRepair() {
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.repairing
	q.repairing = nil
	q.overflowLocked() // a filter for the keys added meanwhile, if they did not overflow already
	q.filter.merge(f)
	q.sealed = false
}

// endRepair forgets the repair's filter and compacts the file.
func (q *Queue) endRepair() error {
	q.mu.Lock()
	q.repairing = nil
	q.mu.Unlock()
	return q.compact()
}
