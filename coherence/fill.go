package coherence

import (
	"context"
	"fmt"

	"github.com/discoh/discoh/coherence/guard"
)

// Fill handles a client's SET of key: stored only if the guard state allows it (see package
// guard: never inside the window after an invalidation, G2; never without the lease of a
// read miss since the last invalidation; never when the guard state is gone, G5). The
// client gets its usual success reply whatever the outcome; only an error, which means the
// cache server did not answer, should reach it.
func (d *Directory) Fill(ctx context.Context, key []byte, val guard.Value) (guard.Outcome, error) {
	if !d.sources.Covers(key) {
		return 0, ErrNotCoherent
	}
	out, err := d.guard.Fill(ctx, key, val)
	switch {
	case err != nil:
		d.stats.guardErrors.Add(1)
		return 0, fmt.Errorf("coherence: fill %q: %w", key, err)
	case out == guard.Stored:
		d.stats.fillsStored.Add(1)
	case out == guard.GuardMissing:
		d.stats.fillsRefused.Add(1)
		d.stats.guardMissing.Add(1)
	default:
		d.stats.fillsRefused.Add(1)
	}
	return out, nil
}
