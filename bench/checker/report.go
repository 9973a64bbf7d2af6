package main

import (
	"fmt"
	"io"
	"time"
)

// Result is what one run measured.
type Result struct {
	Config      Config
	Elapsed     time.Duration // length of the load
	Interrupted bool          // the load was cut short by a signal

	Reads     int64 // GETs answered
	Hits      int64
	Fills     int64 // SETs after a miss
	Writes    int64 // rows updated whose DEL was acknowledged
	Errors    int64 // failed calls, to the target or the database
	Malformed int64 // hits that are not checker bodies

	Stale       int64 // hits older than a write acknowledged before the read began
	StaleSingle int64 // of which by readers with a connection each
	StalePooled int64 // of which by readers on the shared pool
	StaleKeys   int   // keys with at least one stale hit
	MaxBehind   int64 // the most versions a stale hit lagged
	// MaxAge is the longest a stale hit's value had been superseded by an acknowledged write
	// when its read began.
	MaxAge time.Duration

	After After // the check of every key after the load
}

// writeReport writes the human report, ending with the summary line.
func (r *Result) writeReport(w io.Writer) {
	c := &r.Config
	fmt.Fprintf(w, "checker: look-aside load on %s for %v%s; table %s, %d keys, zipf %v, seed %d\n",
		c.target(), r.Elapsed.Round(time.Millisecond), r.interruptedNote(), c.Table, c.Keys, c.Zipf, c.Seed)
	n := c.pooledReaders()
	fmt.Fprintf(w, "  clients: %d readers (%d on a shared pool, %d with a connection each), %d writers; fill delay 0..%v\n",
		c.Readers, n, c.Readers-n, c.Writers, c.FillDelay)
	fmt.Fprintf(w, "  writes:  %d rows updated and their keys deleted (DEL acknowledged)\n", r.Writes)
	fmt.Fprintf(w, "  reads:   %d: %d hits, %d misses, %d fills\n", r.Reads, r.Hits, r.Reads-r.Hits, r.Fills)
	fmt.Fprintf(w, "  stale:   %d hits (%.2f%% of hits) on %d keys: %d single-connection, %d pooled\n",
		r.Stale, percent(r.Stale, r.Hits), r.StaleKeys, r.StaleSingle, r.StalePooled)
	if r.Stale > 0 {
		fmt.Fprintf(w, "           worst: %d versions behind; %v after a newer write's DEL was acknowledged\n",
			r.MaxBehind, r.MaxAge.Round(time.Microsecond))
	}
	fmt.Fprintf(w, "  after:   %d keys checked %v after the load: %d cached, %d inconsistent with the DB\n",
		r.After.Checked, c.Settle, r.After.Cached, r.After.Inconsistent)
	fmt.Fprintf(w, "  errors:  %d failed calls, %d malformed hits, %d malformed after\n",
		r.Errors, r.Malformed, r.After.Malformed)
	fmt.Fprintln(w, r.summary())
}

// summary is the one line a script can grep.
func (r *Result) summary() string {
	return fmt.Sprintf("checker: target=%s reads=%d hits=%d stale=%d stale_keys=%d stale_max_versions=%d stale_max_age=%v writes=%d inconsistent_after=%d errors=%d",
		r.Config.target(), r.Reads, r.Hits, r.Stale, r.StaleKeys, r.MaxBehind, r.MaxAge.Round(time.Microsecond),
		r.Writes, r.After.Inconsistent, r.Errors+r.Malformed)
}

func (r *Result) interruptedNote() string {
	if r.Interrupted {
		return " (interrupted)"
	}
	return ""
}

func percent(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}
