package coherence

import (
	"context"

	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/coherence/source"
)

// pullKey names one pull: a key and the invalidation it is for. A pull for a newer
// invalidation never joins an older one, which may have read the database before the write
// that the newer invalidation announces (G3).
type pullKey struct {
	key     string
	version guard.Version
}

// pulled is the result of a pull, shared by every caller that joined it. Whether its install
// was stored is counted (countInstall) but does not change what readers get: see servable.
type pulled struct {
	found bool
	value guard.Value
}

// servable reports whether the readers that waited for this pull may be served its value:
// the row was found. Whether the install was stored does not matter to them. The pull read
// the database after the invalidation they saw pending, and so after every write that was
// acknowledged before they began (its invalidation came before theirs, or they would have
// seen a newer version): G1 holds for them. An install refused because a newer invalidation
// came first (G3) keeps the value out of the cache, where a read that begins after that
// invalidation could find it; the readers already waiting began before it was acknowledged.
//
// Answering them a miss instead, as discoh once did, fed on itself under writes: each miss
// is a look-aside fill a moment later, refused inside the window and turned into one more
// invalidation, which overtakes the next pull, whose readers miss in turn. In issue 14's
// write-through load on memcached every read miss was such a reader, and their fills were
// more than half of all invalidations.
func (p pulled) servable() bool { return p.found }

// pull runs, or joins, the pull of key for invalidation v: at most one per key and version
// on this instance however many readers wait for it (G4).
func (d *Directory) pull(ctx context.Context, key []byte, v guard.Version, src *source.Source, params []any) (pulled, error) {
	pk := pullKey{key: string(key), version: v}
	p, shared, err := d.flights.Do(ctx, pk, func() (pulled, error) { return d.pullAndInstall(pk, src, params) })
	if shared {
		d.stats.pullsShared.Add(1)
	}
	return p, err
}

// pullAndInstall reads the database and installs what it found under version pk.version.
// It runs on its own, bounded by PullTimeout and Close, whoever started it.
// pullUnlessInstalled is pull for a reader that saw the key pending. The pull it saw may have
// finished between its look at the guard and its joining the flight, so the collapsed call
// looks again before querying: without that re-check a second reader would query the
// database for a value already installed (G4: one pull per invalidation).
func (d *Directory) pullUnlessInstalled(ctx context.Context, key []byte, v guard.Version, src *source.Source, params []any) (pulled, error) {
	pk := pullKey{key: string(key), version: v}
	p, shared, err := d.flights.Do(ctx, pk, func() (pulled, error) {
		if r, err := d.guard.Read(ctx, key, d.cfg.Window); err == nil && r.State == guard.Hit {
			return pulled{found: true, value: r.Value}, nil
		}
		return d.pullAndInstall(pk, src, params)
	})
	if shared {
		d.stats.pullsShared.Add(1)
	}
	return p, err
}

func (d *Directory) pullAndInstall(pk pullKey, src *source.Source, params []any) (pulled, error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.PullTimeout)
	defer cancel()
	key := []byte(pk.key)
	d.stats.pulls.Add(1)
	row, err := d.puller.Pull(ctx, src, params)
	if err != nil {
		// Fail closed (G5): the invalidation deleted the value and the key stays pending,
		// so reads miss (or pull again) and fills stay refused through the window.
		d.stats.pullErrors.Add(1)
		d.warn.Warn("coherence: pull failed", "key", string(key), "err", err)
		return pulled{}, err
	}
	if !row.Found {
		d.stats.rowsNotFound.Add(1)
		out, err := d.guard.InstallAbsent(ctx, key, pk.version)
		return pulled{}, d.countInstall(key, out, err)
	}
	p := pulled{found: true, value: guard.Value{Data: row.Value, Flags: src.Flags, TTL: src.TTL}}
	out, err := d.guard.Install(ctx, key, pk.version, p.value)
	return p, d.countInstall(key, out, err)
}

// countInstall counts an install's outcome. A refused install is no error: a stale one lost
// to a newer invalidation (G3), one with no guard state left the key without a value (G5).
func (d *Directory) countInstall(key []byte, out guard.Outcome, err error) error {
	switch {
	case err != nil:
		d.stats.guardErrors.Add(1)
		d.warn.Warn("coherence: install failed", "key", string(key), "err", err)
	case out == guard.Stored:
		d.stats.installs.Add(1)
	case out == guard.RefusedStale:
		d.stats.installsStale.Add(1)
	case out == guard.GuardMissing:
		d.stats.guardMissing.Add(1)
		d.warn.Warn("coherence: guard state missing at install; key left empty", "key", string(key))
	}
	return err
}

// Pull handles DISCOH PULL: it invalidates key, so that no pull or fill started before can
// install afterwards, then pulls the value and waits for it. found is false when the
// database has no row. The value is returned even if a newer invalidation overtook its
// install: it was read after this call started.
func (d *Directory) Pull(ctx context.Context, key []byte) (val guard.Value, found bool, err error) {
	src, params, ok := d.sources.Match(key)
	if !ok {
		return guard.Value{}, false, ErrNotCoherent
	}
	v, err := d.invalidate(ctx, key)
	if err != nil {
		return guard.Value{}, false, err
	}
	p, err := d.pull(ctx, key, v, src, params)
	return p.value, p.found, err
}
