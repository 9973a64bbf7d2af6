package backends

import (
	"context"
	"errors"
	"net"
	"time"
)

// repair deletes on a returning server whose queue overflowed every key the queue's filter
// holds, and nothing else, and says so once.
func (s *Server) repair(ctx context.Context) error {
	start := time.Now()
	var n sweepCounts
	err := s.queue.Repair(func(untrusted func([]byte) bool) error {
		return s.sweep(ctx, untrusted, &n)
	})
	if err != nil {
		s.log.Warn("repair failed; trying again at the next probe", "err", err,
			"scanned", n.scanned, "deleted", n.deleted)
		return err
	}
	s.log.Error("repaired the server after its queue of missed writes overflowed: deleted only "+
		"the keys written while it was away, and the few the filter mistook for them",
		"scanned", n.scanned, "deleted", n.deleted, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// sweepCounts are the items a sweep listed and the deletes it sent.
type sweepCounts struct{ scanned, deleted int }

// sweep lists the server's items on a connection of its own and deletes those whose key is
// untrusted on another, in pipelined batches as they are listed.
func (s *Server) sweep(ctx context.Context, untrusted func([]byte) bool, n *sweepCounts) error {
	if s.proto.List == nil {
		return errors.New("backends: the protocol cannot list a server's keys")
	}
	nc, err := s.DialRaw(LaneRESP2)
	if err != nil {
		return err
	}
	defer nc.Close()
	c, err := s.catchUpConn(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	// Close (a shutdown) waits for the repair: a cancelled one stops at once, not at a deadline.
	defer context.AfterFunc(ctx, func() { nc.Close(); c.close() })()
	// A listing streams for as long as the server has keys, but none of its reads may stall.
	lister := &deadlined{Conn: nc, timeout: slowLimit(s.opts.Timeout)}
	return s.proto.List(ctx, lister, func(items [][]byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		reqs := s.untrustedDeletes(items, untrusted)
		n.scanned += len(items)
		n.deleted += len(reqs)
		return s.sendAll(c, reqs)
	})
}

// untrustedDeletes returns the deletes of the items whose key is untrusted.
func (s *Server) untrustedDeletes(items [][]byte, untrusted func([]byte) bool) []Request {
	var reqs []Request
	for _, item := range items {
		key := item
		if s.proto.Owner != nil {
			key = s.proto.Owner(item)
		}
		if untrusted(key) {
			reqs = append(reqs, s.proto.Delete(item))
		}
	}
	return reqs
}

// deadlined is a connection whose every read and write must end within timeout.
type deadlined struct {
	net.Conn
	timeout time.Duration
}

func (d *deadlined) Read(p []byte) (int, error) {
	d.Conn.SetReadDeadline(time.Now().Add(d.timeout))
	return d.Conn.Read(p)
}

func (d *deadlined) Write(p []byte) (int, error) {
	d.Conn.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.Conn.Write(p)
}
