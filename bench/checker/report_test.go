package main

import (
	"strings"
	"testing"
	"time"
)

// reportResult is a run with something in every line of the report.
func reportResult() Result {
	return Result{
		Config: Config{Protocol: "memcached", Addrs: []string{"127.0.0.1:11211"}, Table: "discoh_check", Keys: 10,
			Zipf: 1.1, Readers: 4, Pooled: 0.5, Writers: 1, FillDelay: 5 * time.Millisecond, Settle: time.Second, Seed: 7},
		Elapsed: 3 * time.Second,
		Reads:   100, Hits: 80, Fills: 20, Writes: 30,
		Stale: 8, StaleSingle: 5, StalePooled: 3, StaleKeys: 2, MaxBehind: 2, MaxAge: 1500 * time.Microsecond,
		StaleAt: Span{First: 1200 * time.Millisecond, Last: 2500 * time.Millisecond},
		Errors:  6, ReadErrors: 3, FillErrors: 1, WriteErrors: 2,
		ErrorsAt: Span{First: time.Second, Last: 1100 * time.Millisecond},
		After:    After{Checked: 10, Cached: 9, Inconsistent: 1},
	}
}

func report(r Result) (all, summary string) {
	var out strings.Builder
	r.writeReport(&out)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	return out.String(), lines[len(lines)-1]
}

func TestReport(t *testing.T) {
	out, summary := report(reportResult())
	want := "checker: target=memcached://127.0.0.1:11211 mode=update-then-del reads=100 hits=80 hit_ratio=0.8000 stale=8 stale_keys=2 stale_max_versions=2 stale_max_age=1.5ms writes=30 inconsistent_after=1 errors=6 failed_reads=3 failed_fills=1 failed_writes=2"
	if summary != want {
		t.Errorf("summary line\n got %s\nwant %s", summary, want)
	}
	for _, part := range []string{
		"mode update-then-del; table discoh_check",
		"30 rows updated and committed, then their keys deleted (DEL acknowledged)",
		"80 hits (hit ratio 80.00%), 20 misses, 20 fills",
		"8 hits (10.00% of hits) on 2 keys: 5 single-connection, 3 pooled",
		"oldest began 1.5ms after a newer write was acknowledged; most versions behind 2",
		"between +1.2s and +2.5s into the load",
		"9 cached, 1 wrong (inconsistent with the DB)",
		"6 failed calls (3 reads, 1 fills, 2 writes)",
		"between +1s and +1.1s into the load",
	} {
		if !strings.Contains(out, part) {
			t.Errorf("report lacks %q:\n%s", part, out)
		}
	}
}

// TestReportClean: a run with nothing wrong has no lines about the oldest stale read or when
// calls failed, and says zero where the summary's figures are.
func TestReportClean(t *testing.T) {
	r := Result{
		Config:  Config{Protocol: "redis", Addrs: []string{"a:1", "b:1"}, Keys: 10, Settle: time.Second},
		Elapsed: time.Second,
		Reads:   2000, Hits: 1997, Writes: 40,
		After: After{Checked: 10, Cached: 10},
	}
	out, summary := report(r)
	for _, absent := range []string{"oldest", "into the load"} {
		if strings.Contains(out, absent) {
			t.Errorf("report of a clean run mentions %q:\n%s", absent, out)
		}
	}
	for _, part := range []string{"hit_ratio=0.9985 stale=0 ", "stale_max_age=0s", "inconsistent_after=0 errors=0 "} {
		if !strings.Contains(summary, part) {
			t.Errorf("summary lacks %q: %s", part, summary)
		}
	}
}

// TestReportModes: the header and the writes line say how the writers invalidated, and the
// preset if any.
func TestReportModes(t *testing.T) {
	tests := []struct {
		mutate func(*Config)
		parts  []string
	}{
		{func(c *Config) { c.WriteThrough = true },
			[]string{"mode write-through;", "then their keys set to the new value (SET acknowledged)", "mode=write-through "}},
		{func(c *Config) { c.DelBeforeCommit = true },
			[]string{"mode del-before-commit;", "their keys deleted, then committed (COMMIT acknowledged)", "mode=del-before-commit "}},
		{func(c *Config) { c.Preset = "hot" }, []string{"mode update-then-del, preset hot;"}},
	}
	for _, tt := range tests {
		r := reportResult()
		tt.mutate(&r.Config)
		out, _ := report(r)
		for _, part := range tt.parts {
			if !strings.Contains(out, part) {
				t.Errorf("report lacks %q:\n%s", part, out)
			}
		}
	}
}

func TestHitRatio(t *testing.T) {
	for _, tt := range []struct {
		reads, hits int64
		want        float64
	}{{0, 0, 0}, {4, 3, 0.75}, {5, 5, 1}} {
		r := Result{Reads: tt.reads, Hits: tt.hits}
		if got := r.HitRatio(); got != tt.want {
			t.Errorf("HitRatio() of %d hits in %d reads = %v; want %v", tt.hits, tt.reads, got, tt.want)
		}
	}
}
