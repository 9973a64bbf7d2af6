package coherence

import (
	"sync"
	"time"

	"github.com/discoh/discoh/coherence/source"
)

// An app that DELs inside its transaction, before COMMIT, races its own invalidation: the pull
// it starts may read the row before the commit and install the old value, for good. Each
// client invalidation therefore schedules a second one, Revalidate later, with its own pull,
// which reads the committed row. The second invalidation is ordered like any other (G3: a
// pull never installs over a newer invalidation), so it is safe whatever happened meanwhile,
// and the old value is readable at most Revalidate plus the transaction's length after the
// DEL. (The database's change stream removes the race instead; this bounds it without one.)
//
// Invalidations of a key in quick succession share one recheck: it runs Revalidate after the
// last of them, so a hot key costs one extra pull per quiet spell, not one per DEL.

// recheck holds the keys whose second invalidation is due.
type recheck struct {
	mu      sync.Mutex
	due     map[string]*dueRecheck
	closed  bool           // Close stopped every timer: nothing more is scheduled
	running sync.WaitGroup // rechecks running; added to under mu, while not closed
}

type dueRecheck struct {
	last  time.Time // the last invalidation that asked for it
	timer *time.Timer
}

// revalidateLater schedules key's recheck, or moves a scheduled one to Revalidate from now.
func (d *Directory) revalidateLater(key []byte, src *source.Source, params []any) {
	d.recheck.mu.Lock()
	defer d.recheck.mu.Unlock()
	if d.recheck.closed {
		return
	}
	if r, ok := d.recheck.due[string(key)]; ok {
		r.last = time.Now()
		return
	}
	r := &dueRecheck{last: time.Now()}
	d.recheck.due[string(key)] = r
	r.timer = time.AfterFunc(d.cfg.Revalidate, func() { d.revalidate(key, r, src, params) })
}

// revalidate runs key's recheck, unless an invalidation since asked for a later one.
func (d *Directory) revalidate(key []byte, r *dueRecheck, src *source.Source, params []any) {
	d.recheck.mu.Lock()
	if d.recheck.closed {
		d.recheck.mu.Unlock()
		return
	}
	if wait := d.cfg.Revalidate - time.Since(r.last); wait > 0 {
		r.timer = time.AfterFunc(wait, func() { d.revalidate(key, r, src, params) })
		d.recheck.mu.Unlock()
		return
	}
	delete(d.recheck.due, string(key))
	d.recheck.running.Add(1) // under mu, so never after closeRechecks: Close waits for it
	d.recheck.mu.Unlock()
	defer d.recheck.running.Done()
	d.stats.revalidations.Add(1)
	v, err := d.invalidate(d.ctx, key)
	if err != nil {
		return // the key is left without a value or pending (G5)
	}
	d.pull(d.ctx, key, v, src, params)
}

// closeRechecks stops every recheck not yet running; waitRechecks waits for those running.
func (d *Directory) closeRechecks() {
	d.recheck.mu.Lock()
	defer d.recheck.mu.Unlock()
	d.recheck.closed = true
	for _, r := range d.recheck.due {
		r.timer.Stop()
	}
	clear(d.recheck.due)
}

func (d *Directory) waitRechecks() { d.recheck.running.Wait() }
