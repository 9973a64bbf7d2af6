package proxy

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence/guard"
)

// copiesGuard keeps a coherent key's guard state on every copy of the key, so that a dead
// server costs its coherent keys no more than its plain ones:
//   - an invalidation runs on every copy; a copy it cannot reach has the key queued as missed,
//     so the key is deleted there before that copy serves reads again (G1, G5);
//   - reads, fills and installs run on the first live copy, and a read that cannot reach it
//     fails over to the next. Any live copy is safe to read: every invalidation reached it
//     or is queued for it, so a value it holds was stored after the key's last invalidation.
//
// A pull installs with the version of the copy that was first and live when the key was
// invalidated; if another copy is first by the time it installs, the versions differ and the
// install is refused (G3), and the next read there pulls for that copy's own version.
type copiesGuard struct {
	pool   *backends.Pool
	reads  []guard.Guard // per server: reads, fills and installs
	writes []guard.Guard // per server: invalidations, which a returning server takes too
}

func NewCopiesGuard(pool *backends.Pool, each func(s *backends.Server, write bool) guard.Guard) *copiesGuard {
	g := &copiesGuard{pool: pool}
	for _, s := range pool.Servers {
		g.reads = append(g.reads, each(s, false))
		g.writes = append(g.writes, each(s, true))
	}
	return g
}

// Invalidate implements guard.Guard on every copy at once. It succeeds if one copy took it
// (the others have the key queued as missed) and returns the version of the first copy that did.
func (g *copiesGuard) Invalidate(ctx context.Context, key []byte, window time.Duration) (guard.Version, error) {
	var buf [8]int
	copies := g.pool.Copies(key, buf[:0])
	if len(copies) == 1 {
		return g.writes[copies[0]].Invalidate(ctx, key, window)
	}
	versions, errs := make([]guard.Version, len(copies)), make([]error, len(copies))
	var wg sync.WaitGroup
	for i, c := range copies {
		wg.Go(func() { versions[i], errs[i] = g.writes[c].Invalidate(ctx, key, window) })
	}
	wg.Wait()
	took := -1
	for i := range copies {
		if errs[i] == nil {
			took = i
			break
		}
	}
	if took < 0 {
		return 0, errors.Join(errs...)
	}
	// Acknowledged: a copy that answered with an error (OOM, a script error) kept the value
	// the invalidation removes, so it is queued as missed there like a copy that did not
	// answer (which finishGuardCall queued already; queueing again changes nothing).
	for i, c := range copies {
		if errs[i] != nil {
			g.pool.Servers[c].Missed(key, errs[i])
		}
	}
	return versions[took], nil
}

// Read implements guard.Guard on the first live copy, failing over to the next when the
// server does not answer.
func (g *copiesGuard) Read(ctx context.Context, key []byte, leaseFor time.Duration) (guard.Reading, error) {
	var buf [8]int
	var err error
	for _, c := range g.live(key, buf[:0]) {
		var r guard.Reading
		r, err = g.reads[c].Read(ctx, key, leaseFor)
		if err == nil || errors.Is(err, guard.ErrBackend) || errors.Is(err, guard.ErrProtocol) {
			return r, err
		}
	}
	return guard.Reading{}, err
}

// Install implements guard.Guard on the first live copy.
func (g *copiesGuard) Install(ctx context.Context, key []byte, v guard.Version, val guard.Value) (guard.Outcome, error) {
	return g.reads[g.first(key)].Install(ctx, key, v, val)
}

// InstallAbsent implements guard.Guard on the first live copy.
func (g *copiesGuard) InstallAbsent(ctx context.Context, key []byte, v guard.Version) (guard.Outcome, error) {
	return g.reads[g.first(key)].InstallAbsent(ctx, key, v)
}

// Fill implements guard.Guard on the first live copy.
func (g *copiesGuard) Fill(ctx context.Context, key []byte, val guard.Value) (guard.Outcome, error) {
	return g.reads[g.first(key)].Fill(ctx, key, val)
}

// live appends key's copies that are up, in ring order, or its first copy when none is: the
// call then fails fast with the server's down error.
func (g *copiesGuard) live(key []byte, dst []int) []int {
	copies := g.pool.Copies(key, dst)
	live := copies[:0]
	for _, c := range copies {
		if g.pool.Servers[c].Up() {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return copies[:1]
	}
	return live
}

func (g *copiesGuard) first(key []byte) int {
	var buf [8]int
	return g.live(key, buf[:0])[0]
}

// FinishGuardCall sends call to s and returns a copy of its reply. When the call failed, the
// guard state may or may not have changed: the server has key deleted before it serves reads
// again (fail closed, G5).
//
// An invalidation refused because s is marked down here is sent to s directly (Reach). Each
// discoh instance finds a returning server on a probe schedule of its own: while this one
// still has s down, another may have it up, caught up with what it missed there, and read
// s's copy of key, its first live copy. An invalidation this instance acknowledged having
// only queued for s would leave that copy serving the value it removes, through the other
// instance, until this one found s back and replayed the key: the stale reads after a kill -9
// in issue 14. If s answers, it takes the invalidation (an error reply is queued too); if
// not, it serves nobody, and a server that comes back restarted stores only values read from
// the database after this invalidation began (fills and installs need guard state that the
// restarted server does not have, or that was created after it came back).
func FinishGuardCall(ctx context.Context, s *backends.Server, call *backends.Call, key []byte, isError func([]byte) bool) ([]byte, error) {
	s.Send(call, backends.LaneRESP2, 0)
	call.Wait()
	if call.Err != nil && call.Write && backends.MarkedDown(call.Err) {
		req := backends.Request{Bytes: call.Req, Kind: call.Kind, Frames: call.Frames}
		if reply, err := s.Reach(ctx, req); err == nil {
			if isError(reply) {
				s.Missed(key, call.Err)
			}
			return reply, nil
		}
	}
	if call.Err != nil {
		s.Missed(key, call.Err)
		return nil, call.Err
	}
	return bytes.Clone(call.Reply), nil
}
