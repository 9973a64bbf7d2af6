package backends

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/discoh/discoh/backends/health"
	"github.com/discoh/discoh/backends/replay"
)

// Request is an encoded request and its framing kind.
type Request struct {
	Bytes  []byte
	Kind   uint8
	Frames int // replies the request produces; 0 = 1
}

// Protocol holds what the failover machinery must say to a server in its own protocol.
type Protocol struct {
	Ping   Request                  // a harmless request: probes a server that was down
	Flush  Request                  // empties a server whose queue file was damaged, and only then
	Delete func(key []byte) Request // replays one missed invalidation, or deletes an untrusted key
	OK     func(reply []byte) bool  // whether a reply to Ping, Flush or Delete is a success

	// List lists every item the server holds, for the repair of a server whose queue
	// overflowed: it sends its requests on rw, a connection of its own whose every read and
	// write has a deadline, and hands the items' keys to each in batches, valid until each
	// returns. It stops at each's first error and returns it.
	List func(ctx context.Context, rw io.ReadWriter, each func(keys [][]byte) error) error
	// Owner returns the key whose copy a listed item is part of, so the item is deleted when
	// that key is (a coherent Redis key's sidecar goes with its key); nil: each item is its own.
	Owner func(item []byte) []byte
	// Copy copies a server's keys back to it from its partners when it comes back restarted
	// or empty (see Pool.recopy); nil: it is refilled only lazily, by reads that miss.
	Copy *Copier
}

// Failover configures health tracking and the replay of missed invalidations for a pool.
type Failover struct {
	Health      health.Config
	DataDir     string // where each server's queue of missed invalidations is kept
	ReplayLimit int    // keys kept per server as they are; beyond it, a filter and a repair
	Protocol    Protocol
	Log         *slog.Logger // health changes, overflows and repairs; nil logs nothing
}

// DefaultReplayLimit bounds the missed invalidations a down server's queue keeps as they are:
// enough for minutes of deletes at a busy site, small enough to replay in seconds. Beyond it
// the queue keeps a 2 MB filter of the keys instead, and the returning server is repaired: its
// keys are listed and those in the filter deleted, which costs a pass over all of them.
const DefaultReplayLimit = 100_000

// guard gives a server its health tracker and replay queue. A server whose queue holds keys at
// start missed invalidations before a restart of discoh: it serves no reads until they are
// replayed.
func (s *Server) guard(f *Failover, pool string, down *atomic.Int32) error {
	q, err := replay.Open(filepath.Join(f.DataDir, pool), s.Name, max(f.ReplayLimit, 1))
	if err != nil {
		return fmt.Errorf("backends: replay queue of %s: %w", s, err)
	}
	s.queue, s.proto = q, &f.Protocol
	s.log = f.Log
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("pool", pool, "server", s.String())
	s.health = health.New(f.Health, s.probe)
	s.health.CountDowns(down)
	s.health.OnReturn(s.catchUp)
	s.health.OnChange(s.logChange)
	if err := q.Damage(); err != nil {
		s.log.Error("queue file of missed writes damaged: what the server missed is unknown, "+
			"so it will be flushed when it returns", "err", err)
	}
	if q.Behind() {
		s.health.Eject(errors.New("missed invalidations from before a restart"))
	}
	return nil
}

// logChange logs each change of the server's health, once: the changes are as rare as the
// probes' backoff makes them.
func (s *Server) logChange(state health.State, cause error) {
	switch state {
	case health.StateDown:
		s.log.Warn("server marked down", "cause", cause)
	case health.StateReturning:
		s.log.Info("server answers again; replaying what it missed", "keys", s.queue.Len(),
			"overflowed", s.queue.Overflowed(), "lost", s.queue.Lost())
	case health.StateUp:
		s.log.Info("server back up")
	}
}

// Up reports whether the server takes calls. Without failover every server is up.
func (s *Server) Up() bool { return s.health == nil || s.health.Up() }

// Missed records that the server did not get a write of key, because it is down or the write
// failed, so the key is deleted on it before it serves reads again. It reports false when the
// server has just caught up and must be sent the write itself.
func (s *Server) Missed(key []byte, cause error) bool {
	if s.queue == nil {
		return true
	}
	if cause == nil || errors.Is(cause, errFastFail) {
		over := s.queue.Overflowed()
		err := s.queue.Defer(key)
		if !errors.Is(err, replay.ErrSealed) {
			s.noteOverflow(over)
			return true
		}
		if cause == nil && (s.Up() || s.health.Returning()) {
			// Asked before sending: it has caught up, or is replaying what it missed before it
			// came back (whatever comes now, it gets directly): the caller sends it the write.
			return false
		}
		// Sealed but the write did not reach it: the call was refused (fast fail) while the
		// queue was being replayed, or the server is between its replay and being marked up.
		// Queue the key and send the server back down, so it is replayed before any read.
		s.health.Eject(errors.New("missed a write while not up"))
		s.record(key)
		return true
	}
	s.health.Eject(cause) // first: no reads until the key is replayed
	s.record(key)
	return true
}

// record queues key, and says so once when the queue overflows.
func (s *Server) record(key []byte) {
	over := s.queue.Overflowed()
	s.queue.Add(key)
	s.noteOverflow(over)
}

// noteOverflow logs the queue's overflow once, when it was not overflowed before.
func (s *Server) noteOverflow(before bool) {
	if !before && s.queue.Overflowed() {
		s.log.Error("queue of missed writes overflowed: it now keeps a filter of the keys written "+
			"while the server is away; when it returns, its keys are listed and only those (and a "+
			"few the filter mistakes for them) are deleted, nothing else, before it serves reads",
			"limit", s.queue.Limit())
	}
}

// MarkedDown reports whether err failed a call that was never sent, because its server is
// marked down here.
func MarkedDown(err error) bool { return errors.Is(err, errFastFail) }

// Reach sends req to the server on a connection of its own, whatever its health here, and
// returns the reply. It is for an invalidation the server refused because it is marked down
// here: another discoh instance may have found it back already and read from it, and only
// the invalidation itself can keep it from serving the value that invalidation removes.
func (s *Server) Reach(ctx context.Context, req Request) ([]byte, error) {
	if s.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
	}
	c, err := s.catchUpConn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()
	replies, err := exchange(c, []Request{req})
	if err != nil {
		return nil, err
	}
	return replies[0], nil
}

// probe checks a down server with a harmless request on a connection of its own.
func (s *Server) probe(ctx context.Context) error {
	return s.do(ctx, s.proto.Ping)
}

// catchUp runs before a returning server is marked up: it deletes every key the server missed.
// When the queue overflowed, those are the keys it holds that the queue's filter holds; only
// when the queue's file was damaged is the server flushed.
func (s *Server) catchUp(ctx context.Context) error {
	s.recovered.Store(time.Now().UnixNano())
	if err := s.mend(ctx); err != nil {
		return err
	}
	return s.queue.Drain(func(keys [][]byte) error {
		reqs := make([]Request, len(keys))
		for i, key := range keys {
			reqs[i] = s.proto.Delete(key)
		}
		return s.doAll(ctx, reqs)
	})
}

// mend flushes a server whose queue was lost, and repairs one whose queue overflowed.
func (s *Server) mend(ctx context.Context) error {
	switch {
	case s.queue.Lost():
		return s.flush(ctx)
	case s.queue.Overflowed():
		return s.repair(ctx)
	}
	return nil
}

// flush empties a server whose queue's file was damaged, the one case where what it missed is
// unknown.
func (s *Server) flush(ctx context.Context) error {
	s.log.Error("flushing the server: its queue file of missed writes was damaged, so what it missed is unknown")
	if err := s.queue.Reset(func() error { return s.do(ctx, s.proto.Flush) }); err != nil {
		s.log.Warn("flush failed; trying again at the next probe", "err", err)
		return err
	}
	return nil
}

// catchUpBatch is how many deletes catch-up writes before it reads their replies.
const catchUpBatch = 512

// do sends one request on a fresh connection, whatever the server's health, and checks the reply.
func (s *Server) do(ctx context.Context, req Request) error {
	return s.doAll(ctx, []Request{req})
}

// doAll sends requests on one fresh connection and checks every reply.
func (s *Server) doAll(ctx context.Context, reqs []Request) error {
	c, err := s.catchUpConn(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	return s.sendAll(c, reqs)
}

// catchUpConn opens a pipelined connection of its own to the server, whatever its health, that
// ends at ctx's deadline if it has one.
func (s *Server) catchUpConn(ctx context.Context) (*conn, error) {
	nc, err := s.DialRaw(LaneRESP2)
	if err != nil {
		return nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	return newConn(nc, s.opts, s.opts.Timeout, &s.slowCalls), nil
}

// sendAll sends requests on c pipelined in batches of catchUpBatch, and checks every reply.
func (s *Server) sendAll(c *conn, reqs []Request) error {
	for len(reqs) > 0 {
		n := min(len(reqs), catchUpBatch)
		if err := s.batch(c, reqs[:n]); err != nil {
			return err
		}
		reqs = reqs[n:]
	}
	return nil
}

// batch sends reqs on c at once and checks every reply.
func (s *Server) batch(c *conn, reqs []Request) error {
	replies, err := exchange(c, reqs)
	if err != nil {
		return err
	}
	for _, reply := range replies {
		if !s.proto.OK(reply) {
			return fmt.Errorf("backends: %s answered %q", s, reply)
		}
	}
	return nil
}

// closeGuard stops the tracker and closes the queue.
func (s *Server) closeGuard() {
	if s.health != nil {
		s.health.Close()
		s.queue.Close()
	}
}
