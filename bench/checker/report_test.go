package main

import (
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	r := Result{
		Config: Config{Protocol: "memcached", Addrs: []string{"127.0.0.1:11211"}, Table: "discoh_check", Keys: 10,
			Zipf: 1.1, Readers: 4, Pooled: 0.5, Writers: 1, FillDelay: 5 * time.Millisecond, Settle: time.Second, Seed: 7},
		Elapsed: 3 * time.Second,
		Reads:   100, Hits: 80, Fills: 20, Writes: 30,
		Stale: 8, StaleSingle: 5, StalePooled: 3, StaleKeys: 2, MaxBehind: 2, MaxAge: 1500 * time.Microsecond,
		After: After{Checked: 10, Cached: 9, Inconsistent: 1},
	}
	var out strings.Builder
	r.writeReport(&out)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := "checker: target=memcached://127.0.0.1:11211 reads=100 hits=80 stale=8 stale_keys=2 stale_max_versions=2 stale_max_age=1.5ms writes=30 inconsistent_after=1 errors=0"
	if got := lines[len(lines)-1]; got != want {
		t.Errorf("summary line\n got %s\nwant %s", got, want)
	}
	for _, part := range []string{"8 hits (10.00% of hits) on 2 keys: 5 single-connection, 3 pooled", "2 versions behind", "20 misses", "9 cached, 1 inconsistent"} {
		if !strings.Contains(out.String(), part) {
			t.Errorf("report lacks %q:\n%s", part, out.String())
		}
	}
}
