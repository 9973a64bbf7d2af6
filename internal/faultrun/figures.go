package faultrun

import (
	"fmt"
	"strings"
	"time"
)

// Figures are a run's results: the load's counts and the final check's.
type Figures struct {
	Duration   time.Duration // from the start of the load to Stop's call
	Ops        int64
	Gets, Sets int64
	Failed     int64
	// FailedOutside counts the failures outside every fault's detection window: from the
	// fault's start to window after it.
	FailedOutside int64
	Stale         int64         // reads older than the reader's last acknowledged write of the key
	Wrong         int64         // replies no write of the key produced
	Missed        int64         // reads that missed a key whose write was acknowledged
	Slowest       time.Duration // the longest read or write of Keys (the burst's not counted)
	Final         Final
	Faults        []Fault
	// Errors are the first failures and the last, as the clients saw them.
	Errors []string
	// Odd are the first stale reads, wrong replies and misses.
	Odd []string
}

// errorSamples is how many of the first failures Figures keeps (and the last one), and
// oddSamples how many of the first stale reads, wrong replies and misses.
const (
	errorSamples = 3
	oddSamples   = 6
)

// Figures adds up the clients' counts. Call it after Stop.
func (r *Run) Figures(window time.Duration, final Final) Figures {
	f := Figures{Final: final, Duration: r.end.Sub(r.start)}
	var last failure
	for _, w := range r.workers {
		f.Gets += w.gets
		f.Sets += w.sets
		f.Stale += w.staleReads
		f.Wrong += w.wrongReplies
		f.Missed += w.misses
		f.Slowest = max(f.Slowest, w.slowest)
		f.Failed += int64(len(w.failures))
		for _, fail := range w.failures {
			if !r.inWindow(fail.at, window) {
				f.FailedOutside++
			}
			if fail.at.After(last.at) {
				last = fail
			}
		}
		f.Odd = append(f.Odd, w.odd[:min(oddSamples-len(f.Odd), len(w.odd))]...)
		for _, fail := range w.failures[:min(errorSamples, len(w.failures))] {
			if len(f.Errors) < errorSamples {
				f.Errors = append(f.Errors, fail.err.Error())
			}
		}
	}
	if last.err != nil {
		f.Errors = append(f.Errors, "last: "+last.err.Error())
	}
	f.Ops = f.Gets + f.Sets
	for _, fault := range r.faults {
		f.Faults = append(f.Faults, *fault)
	}
	return f
}

// inWindow reports whether t falls within window after the start of a fault.
func (r *Run) inWindow(t time.Time, window time.Duration) bool {
	for _, f := range r.faults {
		if !t.Before(f.Start) && t.Sub(f.Start) <= window {
			return true
		}
	}
	return false
}

// Rejoins says how long each fault's server took to be used again, "-" for a fault it does
// not come back from (or not measured), "never" for one the proxy did not use again in the
// time allowed.
func (f Figures) Rejoins() string {
	var parts []string
	for _, fault := range f.Faults {
		switch {
		case fault.End.IsZero() || fault.Rejoin == 0:
			parts = append(parts, "-")
		case !fault.Rejoined:
			parts = append(parts, fmt.Sprintf("never (%v)", fault.Rejoin.Round(100*time.Millisecond)))
		default:
			parts = append(parts, fault.Rejoin.Round(10*time.Millisecond).String())
		}
	}
	return strings.Join(parts, ", ")
}

// String is the figures on one line, for a test's log.
func (f Figures) String() string {
	return fmt.Sprintf("%d ops in %v (%d GET, %d SET, slowest %v); failed %d (%d outside the detection windows); "+
		"during the run %d stale, %d wrong, %d missed; at the end of %d keys: %d lost, %d stale, %d wrong, "+
		"%d unreadable, %d lost from every server, held by n servers %v; rejoin %s",
		f.Ops, f.Duration.Round(time.Millisecond), f.Gets, f.Sets, f.Slowest.Round(time.Millisecond), f.Failed, f.FailedOutside,
		f.Stale, f.Wrong, f.Missed, f.Final.Keys, f.Final.Lost, f.Final.Stale, f.Final.Wrong,
		f.Final.Failed, f.Final.LostEverywhere, f.Final.Copies, f.Rejoins())
}

// Row is one line of the fault table: a case run through one proxy.
type Row struct {
	Case     string
	Proxy    string
	Replicas int
	Figures
}

// Table writes rows as a Markdown table.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| case | proxy | replicas | ops | slowest op | failed | failed outside windows | stale reads | wrong replies | missed reads | lost writes | stale at end | lost from every copy | on one copy only | rejoin |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		everywhere, single := "n/a", "-"
		if r.Final.LostEverywhere >= 0 {
			everywhere = fmt.Sprint(r.Final.LostEverywhere)
		}
		if r.Replicas > 1 && len(r.Final.Copies) > 1 {
			single = fmt.Sprint(r.Final.Copies[1])
		}
		lost := fmt.Sprint(r.Final.Lost)
		if r.Final.Failed > 0 {
			lost += fmt.Sprintf(" (+%d unreadable)", r.Final.Failed)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %v | %d | %d | %d | %d | %d | %s | %d | %s | %s | %s |\n",
			r.Case, r.Proxy, r.Replicas, r.Ops, r.Slowest.Round(time.Millisecond), r.Failed, r.FailedOutside, r.Stale, r.Wrong, r.Missed,
			lost, r.Final.Stale+r.Final.Wrong, everywhere, single, r.Rejoins())
	}
	return b.String()
}
