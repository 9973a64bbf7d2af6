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
	Writes    int64 // rows updated whose invalidation (or commit, DEL before COMMIT) was acknowledged
	Malformed int64 // hits that are not checker bodies

	// Errors is every failed call, to the target or the database: ReadErrors (GETs),
	// FillErrors (a miss's DB read or SET) and WriteErrors (a write's UPDATE, DEL, SET or
	// COMMIT; such a write is not in the ledger, so reads are not judged against it).
	Errors, ReadErrors, FillErrors, WriteErrors int64
	ErrorsAt                                    Span // when calls failed

	Stale       int64 // hits older than a write acknowledged before the read began
	StaleSingle int64 // of which by readers with a connection each
	StalePooled int64 // of which by readers on the shared pool
	StaleKeys   int   // keys with at least one stale hit
	MaxBehind   int64 // the most versions a stale hit lagged
	// MaxAge is the age of the oldest stale read: the longest time between the
	// acknowledgement of a write newer than a stale hit's value and the start of that read.
	MaxAge  time.Duration
	StaleAt Span // when the stale reads began

	After After // the check of every key after the load
}

// Span is when something first and last happened during the load, as offsets from its
// start; zero when it never did.
type Span struct {
	First, Last time.Duration
}

func (s Span) String() string {
	return fmt.Sprintf("between +%v and +%v into the load", s.First.Round(time.Millisecond), s.Last.Round(time.Millisecond))
}

// HitRatio is the fraction of reads that hit.
func (r *Result) HitRatio() float64 {
	if r.Reads == 0 {
		return 0
	}
	return float64(r.Hits) / float64(r.Reads)
}

// writeReport writes the human report, ending with the summary line.
func (r *Result) writeReport(w io.Writer) {
	c := &r.Config
	preset := ""
	if c.Preset != "" {
		preset = ", preset " + c.Preset
	}
	fmt.Fprintf(w, "checker: look-aside load on %s for %v%s; mode %s%s; table %s, %d keys, zipf %v, seed %d\n",
		c.target(), r.Elapsed.Round(time.Millisecond), r.interruptedNote(), c.mode(), preset, c.Table, c.Keys, c.Zipf, c.Seed)
	n := c.pooledReaders()
	fmt.Fprintf(w, "  clients: %d readers (%d on a shared pool, %d with a connection each), %d writers; fill delay 0..%v\n",
		c.Readers, n, c.Readers-n, c.Writers, c.FillDelay)
	fmt.Fprintf(w, "  writes:  %d %s\n", r.Writes, writesDone[c.mode()])
	fmt.Fprintf(w, "  reads:   %d: %d hits (hit ratio %.2f%%), %d misses, %d fills\n",
		r.Reads, r.Hits, 100*r.HitRatio(), r.Reads-r.Hits, r.Fills)
	fmt.Fprintf(w, "  stale:   %d hits (%.2f%% of hits) on %d keys: %d single-connection, %d pooled\n",
		r.Stale, percent(r.Stale, r.Hits), r.StaleKeys, r.StaleSingle, r.StalePooled)
	if r.Stale > 0 {
		fmt.Fprintf(w, "           oldest began %v after a newer write was acknowledged; most versions behind %d\n",
			r.MaxAge.Round(time.Microsecond), r.MaxBehind)
		fmt.Fprintf(w, "           %v\n", r.StaleAt)
	}
	fmt.Fprintf(w, "  after:   %d keys checked %v after the load: %d cached, %d wrong (inconsistent with the DB)\n",
		r.After.Checked, c.Settle, r.After.Cached, r.After.Inconsistent)
	fmt.Fprintf(w, "  errors:  %d failed calls (%d reads, %d fills, %d writes), %d malformed hits, %d malformed after\n",
		r.Errors, r.ReadErrors, r.FillErrors, r.WriteErrors, r.Malformed, r.After.Malformed)
	if r.Errors > 0 {
		fmt.Fprintf(w, "           %v\n", r.ErrorsAt)
	}
	fmt.Fprintln(w, r.summary())
}

// writesDone says, per write mode, what an acknowledged write did.
var writesDone = map[string]string{
	ModeDel:             "rows updated and committed, then their keys deleted (DEL acknowledged)",
	ModeWriteThrough:    "rows updated and committed, then their keys set to the new value (SET acknowledged)",
	ModeDelBeforeCommit: "rows updated, their keys deleted, then committed (COMMIT acknowledged)",
}

// summary is the one line a script can grep. errors counts failed calls and malformed hits;
// failed_reads, failed_fills and failed_writes split the failed calls.
func (r *Result) summary() string {
	return fmt.Sprintf("checker: target=%s mode=%s reads=%d hits=%d hit_ratio=%.4f stale=%d stale_keys=%d stale_max_versions=%d stale_max_age=%v writes=%d inconsistent_after=%d errors=%d failed_reads=%d failed_fills=%d failed_writes=%d",
		r.Config.target(), r.Config.mode(), r.Reads, r.Hits, r.HitRatio(), r.Stale, r.StaleKeys, r.MaxBehind,
		r.MaxAge.Round(time.Microsecond), r.Writes, r.After.Inconsistent, r.Errors+r.Malformed,
		r.ReadErrors, r.FillErrors, r.WriteErrors)
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
