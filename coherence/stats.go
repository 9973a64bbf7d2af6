package coherence

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// Stats are a Directory's counters since New, for INFO, stats and /metrics.
type Stats struct {
	Invalidations    int64 // invalidations acknowledged (DEL and DISCOH PULL)
	InvalidateErrors int64 // invalidations that failed: the client got an error
	Pulls            int64 // database queries run
	PullErrors       int64 // queries that failed or timed out; their keys stayed empty
	PullsShared      int64 // reads and pulls that joined a pull in flight instead of querying
	PullsSkipped     int64 // background pulls not started because MaxPulls were running
	RowsNotFound     int64 // pulls that found no row
	Installs         int64 // pulled values (or absences) installed
	InstallsStale    int64 // pulled values refused because a newer invalidation came first
	FillsStored      int64 // client fills stored
	FillsRefused     int64 // client fills refused (window, no lease, guard state missing)
	GuardMissing     int64 // fills and installs refused because the guard state was gone
	GuardErrors      int64 // reads, fills and installs that failed on the cache server
	ReadHits         int64 // reads answered with a value from the cache
	ReadMisses       int64 // reads answered with a miss
	WaitsServed      int64 // reads of a pending key answered with the pulled value
	Revalidations    int64 // second invalidations and pulls, Revalidate after a client's
}

// counters are Stats as atomics.
type counters struct {
	invalidations, invalidateErrors                      atomic.Int64
	pulls, pullErrors, pullsShared, pullsSkipped         atomic.Int64
	rowsNotFound, installs, installsStale                atomic.Int64
	fillsStored, fillsRefused, guardMissing, guardErrors atomic.Int64
	readHits, readMisses, waitsServed, revalidations     atomic.Int64
}

// Stats returns the counters.
func (d *Directory) Stats() Stats {
	c := &d.stats
	return Stats{
		Invalidations: c.invalidations.Load(), InvalidateErrors: c.invalidateErrors.Load(),
		Pulls: c.pulls.Load(), PullErrors: c.pullErrors.Load(), PullsShared: c.pullsShared.Load(),
		PullsSkipped: c.pullsSkipped.Load(), RowsNotFound: c.rowsNotFound.Load(),
		Installs: c.installs.Load(), InstallsStale: c.installsStale.Load(),
		FillsStored: c.fillsStored.Load(), FillsRefused: c.fillsRefused.Load(),
		GuardMissing: c.guardMissing.Load(), GuardErrors: c.guardErrors.Load(),
		ReadHits: c.readHits.Load(), ReadMisses: c.readMisses.Load(), WaitsServed: c.waitsServed.Load(),
		Revalidations: c.revalidations.Load(),
	}
}

// warnEvery is the least time between two warnings of one directory: failures come in bursts
// (a database down fails every pull), and the counters say how many there were.
const warnEvery = time.Second

// rateLimited logs at most one warning per warnEvery.
type rateLimited struct {
	log  *slog.Logger
	last atomic.Int64 // unix nanoseconds of the last warning
}

// Warn logs msg unless a warning was logged less than warnEvery ago.
func (r *rateLimited) Warn(msg string, args ...any) {
	now, last := time.Now().UnixNano(), r.last.Load()
	if now-last < int64(warnEvery) || !r.last.CompareAndSwap(last, now) {
		return
	}
	r.log.Warn(msg, args...)
}
