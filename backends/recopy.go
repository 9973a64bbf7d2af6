package backends

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Copier is what a copy-back (Pool.recopy) says to servers in their own protocol.
type Copier struct {
	// Census asks a server who it is, how long it has run and how many items it holds;
	// Counted reads the reply.
	Census  Request
	Counted func(reply []byte) (Census, error)
	// Read asks a server for key's value and remaining lifetime. Value reads the reply, and
	// reports false when there is nothing to copy: no such key, or one that must not travel
	// alone (a coherent Redis key, whose guard state lives in a sidecar).
	Read  func(key []byte) Request
	Value func(reply []byte) (Value, bool)
	// Write stores v as key's value unless the server holds key already (its value is then
	// newer than the copy); Stored reads the reply.
	Write  func(key []byte, v Value) Request
	Stored func(reply []byte) bool
}

// Census is what a server says of itself.
type Census struct {
	ID     string // changes when the server restarts: Redis's run_id, memcached's pid
	Uptime time.Duration
	Items  int64
	At     time.Time // when the census was taken
}

// started is when the server started, to within the second its uptime is counted in.
func (c Census) started() time.Time { return c.At.Add(-c.Uptime) }

// Value is a key's value as read from one server, to be written to another.
type Value struct {
	Data  []byte // opaque to the pool: a DUMP payload, memcached's data
	Flags uint32
	TTL   time.Duration // what remains of its lifetime; 0 for none
}

// same reports whether two servers hold the same value for a key.
func (v Value) same(w Value) bool { return v.Flags == w.Flags && bytes.Equal(v.Data, w.Data) }

// restartSlack is how far two censuses' start times may differ and still be one run of the
// server: uptimes are counted in whole seconds.
const restartSlack = 2 * time.Second

// comeBackEmpty says why a server whose last census was prev (zero: none yet) needs its keys
// copied back, now that its census is now; "" when it does not. A server that restarted
// (another run id or pid, or a later start: memcached in a container is always pid 1) or that
// holds no items has lost whatever it held, and its partners are the only copies left.
func comeBackEmpty(prev, now Census) string {
	switch {
	case prev.ID != "" && now.ID != prev.ID:
		return "restarted"
	case prev.ID != "" && now.started().Sub(prev.started()) > restartSlack:
		return "restarted"
	case now.Items == 0:
		return "empty"
	}
	return ""
}

// Copy-back's pace and bounds.
const (
	// recopyBatch is how many keys one round trip reads from a partner, and writes to the
	// server: a round trip per few hundred keys, and under a millisecond of a server's time.
	recopyBatch = 256
	// watchEvery is how often a watcher looks whether a server marked down is up again: an
	// atomic load, no network.
	watchEvery = 100 * time.Millisecond
	// censusBackoff caps the wait between two failed censuses of a server that is up.
	censusBackoff = 5 * time.Second
	// settleLimit bounds how long a copied batch waits for client writes of its keys to reach
	// every copy; a key still being written after it is deleted from the server again.
	settleLimit = time.Second
)

// watchers owns the goroutines that watch for servers coming back: one at most per server,
// stopped by Pool.Close.
type watchers struct {
	mu      sync.Mutex
	closing chan struct{}
	closed  bool
	wg      sync.WaitGroup
}

// watchState is a server's part of copy-back: set by its pool, read by its watcher.
type watchState struct {
	notify   func()      // the pool's watch of this server; nil: no copy-back
	watching atomic.Bool // a watcher runs
	again    atomic.Bool // something happened since the watcher last looked
	seen     atomic.Bool // a pool connection to the server was ever made
	last     Census      // its last census; only the watcher (one at a time) touches it
	Recopied atomic.Int64
}

// noticeFirst tells the watcher of the first connection to the server: its census then
// records who it is, and copies back to it if it is empty.
func (s *Server) noticeFirst() {
	if s.watch.notify != nil && s.watch.seen.CompareAndSwap(false, true) {
		s.watch.notify()
	}
}

// awaitLoss tells the watcher when c fails for any other reason than discoh closing it: the
// server may have died, and may come back restarted.
func (s *Server) awaitLoss(c *conn) {
	if s.watch.notify == nil {
		return
	}
	go func() {
		<-c.stop
		if !errors.Is(c.failure(), errClosedHere) {
			s.watch.notify()
		}
	}()
}

// Recopied counts the keys copied back to the server after it came back restarted or empty.
func (s *Server) Recopied() int64 { return s.watch.Recopied.Load() }

// watch makes sure a watcher looks at server i again: it waits until the server is up and
// answers, takes its census, and copies its keys back from its partners if it restarted or is
// empty (see recopy). Triggers that come while it runs are folded into one more look.
func (p *Pool) watch(i int) {
	s := p.Servers[i]
	s.watch.again.Store(true)
	if !s.watch.watching.CompareAndSwap(false, true) {
		return
	}
	p.watchers.mu.Lock()
	defer p.watchers.mu.Unlock()
	if p.watchers.closed {
		s.watch.watching.Store(false)
		return
	}
	p.watchers.wg.Add(1)
	go p.watcher(i)
}

func (p *Pool) watcher(i int) {
	defer p.watchers.wg.Done()
	s := p.Servers[i]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.watchers.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		for s.watch.again.Swap(false) && ctx.Err() == nil {
			p.look(ctx, i)
		}
		s.watch.watching.Store(false)
		// A trigger between the last Swap and the Store saw a watcher running and left.
		if ctx.Err() != nil || !s.watch.again.Load() || !s.watch.watching.CompareAndSwap(false, true) {
			return
		}
	}
}

// look takes server i's census once it is up and answers, and copies back to it if it came
// back restarted or empty.
func (p *Pool) look(ctx context.Context, i int) {
	s := p.Servers[i]
	now, err := p.census(ctx, s)
	if err != nil {
		return // closing
	}
	why := comeBackEmpty(s.watch.last, now)
	s.watch.last = now
	if why != "" {
		p.recopy(ctx, i, why)
	}
}

// census waits until s is up and answers its census, retrying with backoff; it fails only
// when ctx is done.
func (p *Pool) census(ctx context.Context, s *Server) (Census, error) {
	backoff := watchEvery
	for {
		if s.Up() {
			c, err := s.census(ctx)
			if err == nil {
				return c, nil
			}
			if ctx.Err() == nil {
				s.log.Debug("census failed; trying again", "err", err, "in", backoff)
			}
			if Sleep(ctx, backoff) != nil {
				return Census{}, ctx.Err()
			}
			backoff = min(2*backoff, censusBackoff)
			continue
		}
		if Sleep(ctx, watchEvery) != nil {
			return Census{}, ctx.Err()
		}
	}
}

// census asks s who it is, on a connection of its own.
func (s *Server) census(ctx context.Context) (Census, error) {
	ctx, cancel := context.WithTimeout(ctx, slowLimit(s.opts.Timeout))
	defer cancel()
	c, err := s.catchUpConn(ctx)
	if err != nil {
		return Census{}, err
	}
	defer c.close()
	replies, err := exchange(c, []Request{s.proto.Copy.Census})
	if err != nil {
		return Census{}, err
	}
	cs, err := s.proto.Copy.Counted(replies[0])
	cs.At = time.Now()
	return cs, err
}

// copyCounts are what a copy-back did: keys listed on the partners, those the server holds a
// copy of and the partner is the one to copy from, those copied, those the server refused (it
// had them) or the partner no longer had, and those deleted again after a client's write
// raced with the copy.
type copyCounts struct{ listed, theirs, copied, skipped, undone int }

// recopy copies back to server to every key one of its partners holds whose copies include
// it, from the first live copy of the key other than it, so each key is copied once. It never
// overwrites: a key the server holds already has a newer value there. It works in the
// background on connections of its own, batch by batch, resting as long as each batch took, so
// the servers give it at most half their attention.
//
// What the copy leaves behind never brings back a deleted value (see settle). Only the
// writes of this discoh instance are known: a DEL sent through another instance, or to the
// server directly, while a key is copied can be undone by the copy.
func (p *Pool) recopy(ctx context.Context, to int, why string) {
	s := p.Servers[to]
	start := time.Now()
	s.log.Info("server came back "+why+": copying back the keys its partners hold", "replicas", p.replicas)
	var n copyCounts
	var errs []error
	for from, partner := range p.Servers {
		if from == to || !partner.Up() {
			continue
		}
		if err := p.copyFrom(ctx, to, from, &n); err != nil {
			errs = append(errs, fmt.Errorf("from %s: %w", partner, err))
		}
	}
	level, msg := slog.LevelInfo, "copy-back done"
	if err := errors.Join(errs...); err != nil {
		level, msg = slog.LevelWarn, "copy-back incomplete: "+err.Error()
	}
	s.log.Log(ctx, level, msg, "listed", n.listed, "theirs", n.theirs, "copied", n.copied,
		"skipped", n.skipped, "undone", n.undone, "took", time.Since(start).Round(time.Millisecond))
}

// copyFrom lists server from's keys and copies those it is the source of to server to.
func (p *Pool) copyFrom(ctx context.Context, to, from int, n *copyCounts) error {
	src, dst := p.Servers[from], p.Servers[to]
	nc, err := src.DialRaw(LaneRESP2)
	if err != nil {
		return err
	}
	defer nc.Close()
	rc, err := src.catchUpConn(ctx)
	if err != nil {
		return err
	}
	defer rc.close()
	wc, err := dst.catchUpConn(ctx)
	if err != nil {
		return err
	}
	defer wc.close()
	defer context.AfterFunc(ctx, func() { nc.Close(); rc.close(); wc.close() })()
	lister := &deadlined{Conn: nc, timeout: slowLimit(src.opts.Timeout)}
	return src.proto.List(ctx, lister, func(keys [][]byte) error {
		n.listed += len(keys)
		theirs := p.sourcedBy(keys, to, from, src.proto.Owner)
		n.theirs += len(theirs)
		for len(theirs) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			batch := theirs[:min(len(theirs), recopyBatch)]
			theirs = theirs[len(batch):]
			began := time.Now()
			if err := p.copyBatch(ctx, rc, wc, dst, batch, n); err != nil {
				return err
			}
			if err := Sleep(ctx, time.Since(began)); err != nil {
				return err
			}
		}
		return nil
	})
}

// sourcedBy returns the keys among listed whose copies include server to and whose first live
// copy other than to is from: each key is copied from one partner only. A coherent key's
// sidecar (owner returns another key for it) is never copied.
func (p *Pool) sourcedBy(listed [][]byte, to, from int, owner func([]byte) []byte) [][]byte {
	var keys [][]byte
	for _, key := range listed {
		if owner != nil && !bytes.Equal(owner(key), key) {
			continue
		}
		if p.source(key, to) == from {
			keys = append(keys, bytes.Clone(key)) // the listing reuses its buffer
		}
	}
	return keys
}

// source returns the first live copy of key other than server to, or -1 when to holds no copy
// of key or no other copy is up.
func (p *Pool) source(key []byte, to int) int {
	var buf [8]int
	copies := p.Copies(key, buf[:0])
	if !slices.Contains(copies, to) {
		return -1
	}
	for _, i := range copies {
		if i != to && p.Servers[i].Up() {
			return i
		}
	}
	return -1
}

// copyBatch copies keys from the partner on rc to dst on wc, and then settles them.
func (p *Pool) copyBatch(ctx context.Context, rc, wc *conn, dst *Server, keys [][]byte, n *copyCounts) error {
	cp := dst.proto.Copy
	values, err := readValues(rc, cp, keys)
	if err != nil {
		return err
	}
	var sent [][]byte
	var writes []Request
	for i, key := range keys {
		if v, ok := values[i]; ok {
			sent = append(sent, key)
			writes = append(writes, cp.Write(key, v))
		}
	}
	replies, err := exchange(wc, writes)
	if err != nil {
		return err
	}
	var stored [][]byte
	for i, reply := range replies {
		if cp.Stored(reply) {
			stored = append(stored, sent[i])
		}
	}
	undo, err := p.settle(ctx, rc, wc, cp, stored)
	if err != nil {
		return err
	}
	if len(undo) > 0 {
		dels := make([]Request, len(undo))
		for i, key := range undo {
			dels[i] = dst.proto.Delete(key)
		}
		if err := dst.sendAll(wc, dels); err != nil {
			return err
		}
	}
	n.copied += len(stored) - len(undo)
	n.undone += len(undo)
	n.skipped += len(keys) - len(stored)
	dst.watch.Recopied.Add(int64(len(stored) - len(undo)))
	return nil
}

// settle closes the race between a copy and a client's delete, and returns the copied keys
// to delete again. A copy reads key k on the partner P, then writes it to the server S only if
// S has no k. A client's write of k goes to both P and S, between Pool.BeginWrite and
// EndWrite (after both replied):
//   - a SET that reaches S before the copy makes the copy's write a no-op; one that reaches it
//     after overwrites the copy. Either way S ends with the newer value.
//   - a DEL (or anything else that removes k) that reaches S before the copy's write and P
//     after the copy's read leaves S holding the value the DEL removed: a deleted value would
//     be back. That DEL began before the copy's write; so once no write of k is in flight
//     (Writing), it has ended and P shows its effect. Reading k again on both then finds P
//     without it (or with a newer value) and S with the copy: k is deleted on S. A key that
//     differs for any other reason (a write that came between the two reads) is deleted too:
//     a delete costs S a miss, never a wrong value. So does a key still written after
//     settleLimit.
func (p *Pool) settle(ctx context.Context, rc, wc *conn, cp *Copier, keys [][]byte) ([][]byte, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	quiet, busy := p.quiet(ctx, keys)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	theirs, err := readValues(rc, cp, quiet)
	if err != nil {
		return nil, err
	}
	ours, err := readValues(wc, cp, quiet)
	if err != nil {
		return nil, err
	}
	return append(busy, disagree(quiet, theirs, ours)...), nil
}

// disagree returns the keys that the server holds (ours) with another value than the partner
// holds (theirs), or that the partner no longer holds.
func disagree(keys [][]byte, theirs, ours map[int]Value) [][]byte {
	var undo [][]byte
	for i, key := range keys {
		v, held := ours[i]
		if !held {
			continue // gone from the server too (or now guarded there): nothing to undo
		}
		if w, ok := theirs[i]; !ok || !w.same(v) {
			undo = append(undo, key)
		}
	}
	return undo
}

// quiet waits, up to settleLimit, until no write of keys is in flight, and returns the keys
// found quiet and those still being written.
func (p *Pool) quiet(ctx context.Context, keys [][]byte) (quiet, busy [][]byte) {
	deadline := time.Now().Add(settleLimit)
	pending := keys
	for {
		var still [][]byte
		for _, key := range pending {
			if p.Writing(key) {
				still = append(still, key)
			} else {
				quiet = append(quiet, key)
			}
		}
		if len(still) == 0 || time.Now().After(deadline) || Sleep(ctx, time.Millisecond) != nil {
			return quiet, still
		}
		pending = still
	}
}

// readValues reads keys' values on c; the map holds those there are, by index.
func readValues(c *conn, cp *Copier, keys [][]byte) (map[int]Value, error) {
	reqs := make([]Request, len(keys))
	for i, key := range keys {
		reqs[i] = cp.Read(key)
	}
	replies, err := exchange(c, reqs)
	if err != nil {
		return nil, err
	}
	values := make(map[int]Value, len(keys))
	for i, reply := range replies {
		if v, ok := cp.Value(reply); ok {
			values[i] = v
		}
	}
	return values, nil
}

// exchange sends reqs on c at once and returns their replies, or the first error.
func exchange(c *conn, reqs []Request) ([][]byte, error) {
	calls := make([]*Call, len(reqs))
	for i, req := range reqs {
		calls[i] = NewCall()
		calls[i].Req, calls[i].Kind, calls[i].Frames = append(calls[i].Req, req.Bytes...), req.Kind, req.Frames
		c.send(calls[i])
	}
	replies := make([][]byte, len(reqs))
	var err error
	for i, call := range calls {
		call.Wait()
		if call.Err != nil && err == nil {
			err = call.Err
		}
		replies[i] = bytes.Clone(call.Reply)
		call.Release()
	}
	if err != nil {
		return nil, err
	}
	return replies, nil
}

// Sleep waits for d, or until ctx is done (its error then).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
