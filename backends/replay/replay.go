// Package replay keeps, per cache server, the keys whose invalidation the
// server missed while it was down, so they can be deleted on it before it
// serves reads again (DESIGN.md section 5).
//
// A Queue holds at most limit distinct keys. One more overflows it: the keys
// are dropped and the owner must flush the server (FLUSHALL, flush_all)
// instead of replaying, which Reset is for. The queue lives in one file per
// server under a data directory and survives a restart; a file that cannot
// be read to its end (a torn write, a bad checksum) opens as overflowed, so
// damage costs a flush, never a stale key (fail closed).
//
// Durability: Add and Defer return once the key is in the queue in memory,
// which is what the replay reads; a background flusher writes and fsyncs
// what was added within SyncDelay, one write and one fsync for all of it
// (group commit), so no client waits for the disk and a burst of writes to a
// down server's keys costs an fsync every few milliseconds, not one each. A
// crash of the process loses at most the keys of its last SyncDelay; Sync
// waits for the disk, and Close writes everything. Drain
// and Reset compact the file by writing a new one, fsyncing it and renaming
// it over the old one (then fsyncing the directory). If a write fails the
// queue overflows. One process uses a data directory at a time.
//
// The sealed state closes the race between the final replay and the server
// being marked up. The owner's invalidation path for a server s:
//
//	if !s.health.Up() {
//		err := s.queue.Defer(key) // nil: queued for the replay
//		if !errors.Is(err, replay.ErrSealed) {
//			return err
//		}
//		// s is being caught up (or has caught up): tell it directly.
//	}
//	if err := s.del(key); err != nil {
//		s.health.Eject(err)     // first: no reads until the key is replayed
//		return s.queue.Add(key) // unseals the queue
//	}
//
// and its health.Tracker's OnReturn hook:
//
//	if q.Overflowed() {
//		if err := q.Reset(flushServer); err != nil {
//			return err
//		}
//	}
//	return q.Drain(deleteKeys) // seals the queue as it takes the keys
//
// Drain seals the queue in the same critical section that takes the keys to
// replay, so every Defer after that is told to send the invalidation itself:
// the server takes new writes while the old ones are replayed, and catches up
// in one round however steady the writes. A replay that deletes a key after a
// newer write reached the server only costs a miss there. Reset
// relies on the server taking no writes while it is not up, so a key
// invalidated during the flush cannot come back.
package replay

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Errors a Queue returns.
var (
	ErrOverflow = errors.New("replay: queue overflowed; flush the server")
	ErrSealed   = errors.New("replay: queue sealed; the server is caught up, send the invalidation to it")
	ErrClosed   = errors.New("replay: queue closed")
)

// entry is a queued key's place: the seqs of the Add that queued it and of
// its latest Add. A replay that began before the latest Add does not
// remove the key.
type entry struct {
	first, latest uint64
}

// Queue is the persisted set of keys one server missed. Its methods are
// safe for concurrent use.
type Queue struct {
	limit  int
	damage error

	mu          sync.Mutex
	keys        map[string]entry
	seq         uint64 // counts Adds and Defers
	overflow    bool
	overflowSeq uint64 // seq at which the queue overflowed
	sealed      bool
	closed      bool
	pending     []byte // records not yet written

	// fileMu serialises writes to the file; it is taken before mu and held
	// across disk I/O only.
	fileMu sync.Mutex
	j      journal
	synced uint64 // Adds up to this seq are on disk

	kick    chan struct{} // something was added: the flusher syncs it soon
	stop    chan struct{} // closed by Close: the flusher ends
	flusher sync.WaitGroup
}

// SyncDelay is how long the flusher lets additions gather before it writes and fsyncs them:
// the most a crash of the process can lose.
const SyncDelay = 5 * time.Millisecond

// Open opens the queue of server under dir, creating dir and the file as
// needed, with room for limit distinct keys. A new or empty queue starts
// sealed: the server is assumed to have every invalidation. A damaged file
// opens as overflowed; Damage says what was wrong with it.
func Open(dir, server string, limit int) (*Queue, error) {
	if server == "" {
		return nil, errors.New("replay: empty server name")
	}
	if limit < 1 {
		return nil, fmt.Errorf("replay: limit %d must be at least 1", limit)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	q := &Queue{limit: limit, keys: map[string]entry{}, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	q.j.path = filepath.Join(dir, fileName(server))
	data, err := readJournal(q.j.path, maxFileSize(limit))
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return nil, err
	}
	c, derr := decode(data)
	q.damage = errors.Join(err, derr)
	q.load(c)
	if err := q.j.rewrite(q.encodeLocked()); err != nil {
		return nil, err
	}
	q.flusher.Go(q.flush)
	return q, nil
}

// load fills a new queue from its file's contents.
func (q *Queue) load(c contents) {
	for _, key := range c.keys {
		q.recordLocked(key)
	}
	if q.damage != nil || c.overflow {
		q.overflowLocked()
	}
	q.pending = nil
	q.synced = q.seq
	q.sealed = !q.overflow && len(q.keys) == 0
}

// Damage returns what Open found wrong with the queue's file, wrapping
// ErrCorrupt, for the owner to log; nil if the file was sound.
func (q *Queue) Damage() error { return q.damage }

// Add records that the server missed the invalidation of key, typically
// because sending it failed. It unseals the queue. A key already queued is
// kept once. The flusher writes it to disk within SyncDelay; if that write
// fails, the queue overflows, so the server will be flushed. An error means
// the queue is closed, or overflowed by this key and could not record that.
func (q *Queue) Add(key []byte) error { return q.add(key, false) }

// Defer queues the invalidation of key instead of sending it to a server
// that is not up. It returns ErrSealed, queueing nothing, when the queue is
// sealed: the server has caught up and the caller must send it the
// invalidation itself. Otherwise it is Add.
func (q *Queue) Defer(key []byte) error { return q.add(key, true) }

func (q *Queue) add(key []byte, unlessSealed bool) error {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return ErrClosed
	case unlessSealed && q.sealed:
		q.mu.Unlock()
		return ErrSealed
	}
	q.sealed = false
	overflowed := q.recordLocked(key)
	q.mu.Unlock()
	if overflowed {
		return q.compact()
	}
	select {
	case q.kick <- struct{}{}:
	default: // a sync is due already
	}
	return nil
}

// flush writes and fsyncs, SyncDelay after each addition that found none due, whatever
// was added, until Close.
func (q *Queue) flush() {
	for {
		select {
		case <-q.stop:
			return
		case <-q.kick:
		}
		select {
		case <-q.stop:
			return
		case <-time.After(SyncDelay):
		}
		q.Sync()
	}
}

// Sync returns once everything added so far is on disk. An error means the write failed; the
// queue has then overflowed.
func (q *Queue) Sync() error {
	q.mu.Lock()
	seq := q.seq
	q.mu.Unlock()
	return q.sync(seq)
}

// recordLocked notes key in memory, its record in pending, and reports
// whether it overflowed the queue.
func (q *Queue) recordLocked(key []byte) bool {
	q.seq++
	if q.overflow {
		return false
	}
	if e, ok := q.keys[string(key)]; ok {
		e.latest = q.seq
		q.keys[string(key)] = e
		return false
	}
	if len(q.keys) >= q.limit || len(key) > MaxKeySize {
		q.overflowLocked()
		return true
	}
	q.keys[string(key)] = entry{first: q.seq, latest: q.seq}
	q.pending = appendRecord(q.pending, kindKey, key)
	return false
}

// overflowLocked drops every key: the server will be flushed instead.
func (q *Queue) overflowLocked() {
	q.overflow, q.overflowSeq = true, q.seq
	clear(q.keys)
	q.pending = nil
}

// sync returns once every Add up to seq target is on disk. The first
// caller in writes what all have queued; the others find it done.
func (q *Queue) sync(target uint64) error {
	q.fileMu.Lock()
	defer q.fileMu.Unlock()
	if q.synced >= target {
		return nil
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	buf, upto := q.pending, q.seq
	q.pending = nil
	q.mu.Unlock()
	if err := q.j.append(buf); err != nil {
		return q.writeFailed(err)
	}
	q.synced = upto
	return nil
}

// compact rewrites the file from memory: the keys in the order they were
// added, or an overflow record.
func (q *Queue) compact() error {
	q.fileMu.Lock()
	defer q.fileMu.Unlock()
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	buf, upto := q.encodeLocked(), q.seq
	q.pending = nil
	q.mu.Unlock()
	if err := q.j.rewrite(buf); err != nil {
		return q.writeFailed(err)
	}
	q.synced = upto
	return nil
}

// writeFailed overflows the queue after a failed write, whose records may
// be lost or torn, and tries to record the overflow. fileMu is held.
func (q *Queue) writeFailed(err error) error {
	q.mu.Lock()
	q.overflowLocked()
	buf, upto := q.encodeLocked(), q.seq
	q.mu.Unlock()
	if rerr := q.j.rewrite(buf); rerr != nil {
		err = errors.Join(err, rerr)
	}
	q.synced = upto
	return fmt.Errorf("%w after a failed write: %w", ErrOverflow, err)
}

func (q *Queue) encodeLocked() []byte {
	buf := []byte(header)
	if q.overflow {
		return appendRecord(buf, kindOverflow, nil)
	}
	for _, key := range q.sortedKeysLocked() {
		buf = appendRecord(buf, kindKey, key)
	}
	return buf
}

// sortedKeysLocked returns copies of the keys in the order they were
// queued, which is also their order in the file.
func (q *Queue) sortedKeysLocked() [][]byte {
	keys := make([]string, 0, len(q.keys))
	for k := range q.keys {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(q.keys[a].first, q.keys[b].first) })
	copies := make([][]byte, len(keys))
	for i, k := range keys {
		copies[i] = []byte(k)
	}
	return copies
}

// Limit is how many distinct keys the queue holds before it overflows.
func (q *Queue) Limit() int { return q.limit }

// Len returns how many distinct keys are queued.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.keys)
}

// Overflowed reports whether the queue lost track of what the server
// missed, so the server must be flushed (see Reset) rather than replayed.
func (q *Queue) Overflowed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.overflow
}

// Sealed reports whether the server has caught up: Drain emptied the queue
// and nothing was added since.
func (q *Queue) Sealed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sealed
}

// Close writes the queue's final state and closes the file. Later calls
// return ErrClosed; a Drain or Reset in progress forgets nothing on disk.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	close(q.stop)
	q.flusher.Wait()

	q.fileMu.Lock()
	defer q.fileMu.Unlock()
	q.mu.Lock()
	buf, upto := q.encodeLocked(), q.seq
	q.pending = nil
	q.mu.Unlock()
	err := q.j.rewrite(buf)
	q.synced = upto
	return errors.Join(err, q.j.close())
}
