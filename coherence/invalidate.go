package coherence

import (
	"bytes"
	"context"
	"fmt"

	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/coherence/source"
)

// Invalidate handles a client's DEL of key. When it returns nil the guard state is in the
// key's cache server and the client may be acknowledged: the value is gone and every later
// read, through any instance, sees the new version (G1). A pull of the new value then runs
// in the background.
//
// An error means the invalidation may not have happened: the client must get an error
// reply, not an acknowledgement, so that it knows the cache may hold the old value (G5).
func (d *Directory) Invalidate(ctx context.Context, key []byte) error {
	src, params, ok := d.sources.Match(key)
	if !ok {
		return ErrNotCoherent
	}
	v, err := d.invalidate(ctx, key)
	if err != nil {
		return err
	}
	key = bytes.Clone(key)
	d.pullInBackground(key, v, src, params)
	d.revalidateLater(key, src, params)
	return nil
}

func (d *Directory) invalidate(ctx context.Context, key []byte) (guard.Version, error) {
	v, err := d.guard.Invalidate(ctx, key, d.cfg.Window)
	if err != nil {
		d.stats.invalidateErrors.Add(1)
		d.warn.Warn("coherence: invalidation failed", "key", string(key), "err", err)
		return 0, fmt.Errorf("coherence: invalidate %q: %w", key, err)
	}
	d.stats.invalidations.Add(1)
	return v, nil
}

// pullInBackground starts the pull for invalidation v unless MaxPulls are running already or
// the directory is closed. A pull not started costs no correctness: the key stays pending
// and its next reader pulls it.
func (d *Directory) pullInBackground(key []byte, v guard.Version, src *source.Source, params []any) {
	if d.ctx.Err() != nil {
		return
	}
	select {
	case d.slots <- struct{}{}:
	default:
		d.stats.pullsSkipped.Add(1)
		return
	}
	d.background.Go(func() {
		defer func() { <-d.slots }()
		d.pull(d.ctx, key, v, src, params)
	})
}
