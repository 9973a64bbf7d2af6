package coherence

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/discoh/discoh/coherence/guard"
)

// Fill handles a client's SET of key: stored only if the guard state allows it (see package
// guard: never inside the window after an invalidation, G2; never without the lease of a
// read miss since the last invalidation; never when the guard state is gone, G5).
//
// A fill that is not stored is an invalidation instead: the key's value is dropped and the
// committed row pulled, as after a DEL. A refused fill may be stale (read from the database
// before a write, G2), but it may as well be newer than what is cached: a write-through app
// updates the row and then SETs the new value, with no miss before it. Dropping the SET alone
// would leave the old value readable for good; invalidating makes every later read see the
// database's value, whichever of the two the SET was. The client gets its usual success
// reply; an error, which means the cache server did not answer, should reach it, since the
// old value may still be there.
func (d *Directory) Fill(ctx context.Context, key []byte, val guard.Value) (guard.Outcome, error) {
	src, params, ok := d.sources.Match(key)
	if !ok {
		return 0, ErrNotCoherent
	}
	out, err := d.guard.Fill(ctx, key, val)
	if errors.Is(err, guard.ErrContended) { // others kept changing the key: not stored
		out, err = guard.RefusedStale, nil
	}
	switch {
	case err != nil:
		d.stats.guardErrors.Add(1)
		return 0, fmt.Errorf("coherence: fill %q: %w", key, err)
	case out == guard.Stored:
		d.stats.fillsStored.Add(1)
		return out, nil
	case out == guard.GuardMissing:
		d.stats.guardMissing.Add(1)
	}
	d.stats.fillsRefused.Add(1)
	v, err := d.invalidate(ctx, key)
	if err != nil {
		return out, err
	}
	d.pullInBackground(bytes.Clone(key), v, src, params)
	return out, nil
}
