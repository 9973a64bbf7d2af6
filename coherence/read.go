package coherence

import (
	"context"
	"fmt"

	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/coherence/source"
)

// Read handles a client's GET of key: one round trip to the key's cache server for a hit or
// a miss. A miss grants a fill lease, so that the client's look-aside SET can be stored. A
// key invalidated and not yet pulled waits, at most ReadWait, for the pull (collapsed with
// every other reader on this instance, G4) and returns the pulled value, even when a newer
// invalidation refused its install (see pulled.servable), or a miss when the pull failed,
// found no row or took too long.
//
// An error means the cache server did not answer; the client should get an error reply.
// val.Data may be shared with other readers of the same pull: do not modify it.
func (d *Directory) Read(ctx context.Context, key []byte) (val guard.Value, hit bool, err error) {
	if !d.sources.Covers(key) {
		return guard.Value{}, false, ErrNotCoherent
	}
	r, err := d.guard.Read(ctx, key, d.cfg.Window)
	if err != nil {
		d.stats.guardErrors.Add(1)
		return guard.Value{}, false, fmt.Errorf("coherence: read %q: %w", key, err)
	}
	switch r.State {
	case guard.Hit:
		d.stats.readHits.Add(1)
		return r.Value, true, nil
	case guard.Pending:
		// Matching allocates the query's parameters: only a read that may pull pays for it.
		src, params, _ := d.sources.Match(key)
		return d.awaitPull(ctx, key, r.Version, src, params)
	}
	d.stats.readMisses.Add(1)
	return guard.Value{}, false, nil
}

func (d *Directory) awaitPull(ctx context.Context, key []byte, v guard.Version, src *source.Source, params []any) (guard.Value, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ReadWait)
	defer cancel()
	p, err := d.pullUnlessInstalled(ctx, key, v, src, params)
	if err != nil || !p.servable() {
		d.stats.readMisses.Add(1)
		return guard.Value{}, false, nil
	}
	d.stats.waitsServed.Add(1)
	return p.value, true, nil
}
