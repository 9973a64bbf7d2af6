// Package replay keeps, per cache server, the keys whose invalidation the
// server missed while it was down, so they can be deleted on it before it
// serves reads again (DESIGN.md section 5).
//
// A Queue holds up to limit distinct keys as they are. One more overflows
// it: from then on it keeps a Bloom filter of the keys instead (2 MB,
// whatever the limit) that holds every key queued before the overflow and
// every key added after it. The filter never forgets a key, and mistakes a
// few others for them. The owner then repairs the server rather than
// replaying (Repair): it lists the keys the server holds and deletes those
// the filter holds, so the server keeps every key that was not written
// while it was away, and a mistaken key costs one miss. Only a file that
// cannot be read to its end (a torn write, a bad checksum) leaves the queue
// lost: what the server missed is then unknown, and the owner must flush it
// (FLUSHALL, flush_all), which Reset is for. Damage costs a flush, never a
// stale key (fail closed); an overflow costs neither.
//
// Durability: Add and Defer return once the key is in the queue in memory,
// which is what the replay reads; a background flusher writes and fsyncs
// what was added within SyncDelay, one write and one fsync for all of it
// (group commit), so no client waits for the disk and a burst of writes to a
// down server's keys costs an fsync every few milliseconds, not one each. A
// crash of the process loses at most the keys of its last SyncDelay; Sync
// waits for the disk, and Close writes everything. After an overflow the
// flusher appends each new key's 8-byte hash; it rewrites the file whole,
// filter included, at the overflow and whenever maxHashes have been
// appended since, so the file stays bounded. Drain, Repair and Reset compact
// the file too. A rewrite writes a new file, fsyncs it and renames it over
// the old one (then fsyncs the directory). If a write fails, the file is
// rewritten from memory, which still holds every key; if that fails too,
// the file is replaced by a lost record, so a restart flushes the server
// rather than trust a file that may be missing keys. One process uses a
// data directory at a time.
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
//	switch {
//	case q.Lost():
//		err = q.Reset(flushServer)
//	case q.Overflowed():
//		err = q.Repair(deleteUntrusted) // seals the queue as it takes the filter
//	}
//	if err != nil {
//		return err
//	}
//	return q.Drain(deleteKeys) // seals the queue as it takes the keys
//
// Drain seals the queue in the same critical section that takes the keys to
// replay, and Repair as it takes the filter, so every Defer after that is
// told to send the invalidation itself: the server takes new writes while
// the old ones are replayed, and catches up in one round however steady the
// writes. A replay or repair that deletes a key after a newer write reached
// the server only costs a miss there. Reset relies on the server taking no
// writes while it is not up, so a key invalidated during the flush cannot
// come back.
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
	ErrOverflow = errors.New("replay: queue overflowed; repair the server")
	ErrLost     = errors.New("replay: queue lost track of what the server missed; flush the server")
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

	mu        sync.Mutex
	keys      map[string]entry
	seq       uint64  // counts Adds and Defers
	filter    *filter // non-nil once the queue overflowed: the keys added since, and before
	filterSeq uint64  // seq of the last key added to filter
	repairing *filter // the filter a Repair works from; in the file until the Repair succeeds
	lost      bool    // the file was damaged, or said so: what the server missed is unknown
	lostSeq   uint64  // seq at which the queue was lost
	sealed    bool
	closed    bool
	pending   []byte // records not yet written
	hashes    int    // hash records in the file, or pending, since it was last rewritten
	rewrite   bool   // the next write rewrites the file: pending does not say everything

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
// needed, with room for limit distinct keys before it overflows into a
// filter. A new or empty queue starts sealed: the server is assumed to have
// every invalidation. A damaged file opens lost; Damage says what was wrong
// with it.
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

// load fills a new queue from its file's contents. The keys of a file that
// also holds a filter go into the filter: the queue had overflowed.
func (q *Queue) load(c contents) {
	for _, key := range c.keys {
		q.recordLocked(key)
	}
	if c.filter != nil {
		q.overflowLocked()
		q.filter.merge(c.filter)
	}
	if q.damage != nil || c.lost {
		q.loseLocked()
	}
	q.pending, q.hashes, q.rewrite = nil, 0, false
	q.synced = q.seq
	q.sealed = !q.behindLocked()
}

// Damage returns what Open found wrong with the queue's file, wrapping
// ErrCorrupt, for the owner to log; nil if the file was sound.
func (q *Queue) Damage() error { return q.damage }

// Add records that the server missed the invalidation of key, typically
// because sending it failed. It unseals the queue. A key already queued is
// kept once. The flusher writes it to disk within SyncDelay. An error means
// the queue is closed.
func (q *Queue) Add(key []byte) error { return q.add(key, false) }

// Defer queues the invalidation of key instead of sending it to a server
// that is not up. It returns ErrSealed, queueing nothing, when the queue is
// sealed: the server has caught up, or is being caught up, and the caller
// must send it the invalidation itself. Otherwise it is Add.
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
	q.recordLocked(key)
	q.mu.Unlock()
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

// Sync returns once everything added so far is on disk. An error means the write failed, and
// so did rewriting the file from memory; a restart would then flush the server.
func (q *Queue) Sync() error {
	q.mu.Lock()
	seq := q.seq
	q.mu.Unlock()
	return q.sync(seq)
}

// recordLocked notes key in memory and its record in pending: as it is, or
// once the queue has overflowed, as its hash in the filter.
func (q *Queue) recordLocked(key []byte) {
	q.seq++
	switch {
	case q.lost: // the server will be flushed: no key matters
	case q.filter != nil:
		q.addHashLocked(hashKey(key))
	default:
		q.addKeyLocked(key)
	}
}

// addKeyLocked queues key as it is, unless it is one too many or too long
// for the file: then the queue overflows and key goes into the filter.
func (q *Queue) addKeyLocked(key []byte) {
	if e, ok := q.keys[string(key)]; ok {
		e.latest = q.seq
		q.keys[string(key)] = e
		return
	}
	if len(q.keys) >= q.limit || len(key) > MaxKeySize {
		q.overflowLocked()
		q.addHashLocked(hashKey(key))
		return
	}
	q.keys[string(key)] = entry{first: q.seq, latest: q.seq}
	q.pending = appendRecord(q.pending, kindKey, key)
}

// addHashLocked adds a key's hash h to the filter, and its record to
// pending unless the filter held it already (its record, or the records of
// the keys that set its bits, are written or pending) or a rewrite is due.
func (q *Queue) addHashLocked(h uint64) {
	q.filterSeq = q.seq
	if !q.filter.add(h) {
		return
	}
	switch {
	case q.rewrite: // the rewrite writes the filter, h included
	case q.hashes >= maxHashes(q.limit): // the file would grow past maxFileSize: rewrite it
		q.rewrite, q.pending = true, nil
	default:
		q.hashes++
		q.pending = appendHash(q.pending, h)
	}
}

// overflowLocked moves the queued keys into a new filter, unless the queue
// has one, and has the next write rewrite the file with it.
func (q *Queue) overflowLocked() {
	if q.filter != nil {
		return
	}
	q.filter, q.filterSeq = newFilter(), q.seq
	for k := range q.keys {
		q.filter.add(hashKey([]byte(k)))
	}
	clear(q.keys)
	q.rewrite, q.pending = true, nil
}

// loseLocked forgets every key: the server will be flushed instead.
func (q *Queue) loseLocked() {
	q.lost, q.lostSeq = true, q.seq
	q.filter = nil
	clear(q.keys)
	q.rewrite, q.pending = true, nil
}

// behindLocked reports whether the server missed anything.
func (q *Queue) behindLocked() bool {
	return q.lost || q.filter != nil || q.repairing != nil || len(q.keys) > 0
}

// sync returns once every Add up to seq target is on disk. The first
// caller in writes what all have queued; the others find it done.
func (q *Queue) sync(target uint64) error {
	q.fileMu.Lock()
	defer q.fileMu.Unlock()
	if q.synced >= target {
		return nil
	}
	return q.writeLocked(false)
}

// compact rewrites the file from memory: the keys in the order they were
// added, the filter, or a lost record.
func (q *Queue) compact() error {
	q.fileMu.Lock()
	defer q.fileMu.Unlock()
	return q.writeLocked(true)
}

// writeLocked writes to the file what memory holds that the file does not:
// the pending records, or the whole queue when whole is set or a rewrite is
// due. fileMu is held.
func (q *Queue) writeLocked(whole bool) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	whole = whole || q.rewrite
	buf, upto := q.takeLocked(whole)
	q.mu.Unlock()
	write := q.j.append
	if whole {
		write = q.j.rewrite
	}
	if err := write(buf); err != nil {
		return q.writeFailed(err)
	}
	q.synced = upto
	return nil
}

// takeLocked returns what to write, the pending records or with whole the
// whole queue, and the seq that brings the file up to.
func (q *Queue) takeLocked(whole bool) ([]byte, uint64) {
	buf := q.pending
	if whole {
		buf = q.encodeLocked()
		q.hashes, q.rewrite = 0, false
	}
	q.pending = nil
	return buf, q.seq
}

// writeFailed recovers from a failed write, whose records may be lost or
// torn. Memory still holds every key, so the file is rewritten from it. If
// that fails too, a lost record replaces the file, small enough to fit where
// the queue did not: a restart then flushes the server rather than trust a
// file that may be missing keys. The queue goes on as it was, and its next
// write tries the whole file again. fileMu is held.
func (q *Queue) writeFailed(err error) error {
	q.mu.Lock()
	buf, upto := q.takeLocked(true)
	q.mu.Unlock()
	rerr := q.j.rewrite(buf)
	if rerr == nil {
		q.synced = upto
		return nil
	}
	q.mu.Lock()
	q.rewrite = true
	q.mu.Unlock()
	lerr := q.j.rewrite(appendRecord([]byte(header), kindLost, nil))
	return fmt.Errorf("replay: writing %s: %w", q.j.path, errors.Join(err, rerr, lerr))
}

// encodeLocked returns the whole queue as a file: a lost record, or the
// filter (that of a Repair in progress included) and the keys in the order
// they were added.
func (q *Queue) encodeLocked() []byte {
	buf := []byte(header)
	if q.lost {
		return appendRecord(buf, kindLost, nil)
	}
	if f := q.untrustedLocked(); f != nil {
		buf = appendRecord(buf, kindFilter, f.appendBytes(make([]byte, 0, filterBytes)))
	}
	for _, key := range q.sortedKeysLocked() {
		buf = appendRecord(buf, kindKey, key)
	}
	return buf
}

// untrustedLocked returns the filter of every key the server may hold a
// stale copy of beyond those queued as they are, or nil if none.
func (q *Queue) untrustedLocked() *filter {
	switch {
	case q.repairing == nil:
		return q.filter
	case q.filter == nil:
		return q.repairing
	}
	return union(q.filter, q.repairing)
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

// Len returns how many distinct keys are queued as they are; an overflowed
// queue's filter is not counted.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.keys)
}

// Overflowed reports whether the queue keeps a filter of the keys the
// server missed, so the server must be repaired (see Repair) rather than
// replayed.
func (q *Queue) Overflowed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.filter != nil
}

// Lost reports whether the queue lost track of what the server missed (its
// file was damaged), so the server must be flushed (see Reset).
func (q *Queue) Lost() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.lost
}

// Behind reports whether the server missed anything: keys are queued, or
// the queue overflowed or was lost.
func (q *Queue) Behind() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.behindLocked()
}

// Sealed reports whether the server has caught up, or is being caught up:
// Drain or Repair sealed the queue and nothing was added since.
func (q *Queue) Sealed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sealed
}

// Close writes the queue's final state and closes the file. Later calls
// return ErrClosed; a Drain, Repair or Reset in progress forgets nothing on
// disk.
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
	buf, upto := q.takeLocked(true)
	q.mu.Unlock()
	err := q.j.rewrite(buf)
	q.synced = upto
	return errors.Join(err, q.j.close())
}
