package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/discoh/discoh/bench/checker/cache"
	"github.com/discoh/discoh/internal/testproc"
)

// TestMatrix measures the README's table: every write mode and the hot-key preset, on both
// protocols, against a plain server and through two discoh instances over a pool of two
// servers with replicas 2, without and with a kill -9 of one server (at 40% of the load,
// restarted empty at 70%). It runs only when CHECKER_MATRIX names the load's length, and
// logs the table in Markdown:
//
//	CHECKER_MATRIX=10s CHECKER_SEED=1 go test ./bench/checker -run TestMatrix -v -timeout 30m
//
// It measures and does not judge: the other tests do that.
func TestMatrix(t *testing.T) {
	env := os.Getenv("CHECKER_MATRIX")
	if env == "" {
		t.Skip("set CHECKER_MATRIX to the load's length (e.g. 10s) to measure the README's table")
	}
	d, err := time.ParseDuration(env)
	if err != nil {
		t.Fatalf("CHECKER_MATRIX=%q: %v", env, err)
	}
	seed := uint64(1)
	if s := os.Getenv("CHECKER_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CHECKER_SEED=%q: %v", s, err)
		}
	}
	bin := discohBinary(t)
	var rows []string
	for _, s := range cacheServers {
		for _, mode := range []string{ModeDel, ModeWriteThrough, ModeDelBeforeCommit, "hot"} {
			for _, target := range []string{"plain", "discoh", "discoh, kill -9"} {
				t.Run(s.protocol+"/"+mode+"/"+target, func(t *testing.T) {
					cfg := matrixConfig(t, s.protocol, mode, d, seed)
					var faults []fault
					if target == "plain" {
						cfg.Addrs = []string{s.start(t).Addr}
					} else {
						srvs := []*testproc.Proc{s.start(t), s.start(t)}
						cfg.Addrs = startDiscohs(t, bin, s.isRedis(), cfg.Table, replicasPool, srvs[0].Addr, srvs[1].Addr)
						if target != "discoh" {
							faults = []fault{
								{d * 4 / 10, func() { srvs[0].Kill() }},
								{d * 7 / 10, func() { srvs[0] = s.restart(t, srvs[0].Port) }},
							}
						}
					}
					res := runCheckDuring(t, cfg, cache.Dial, faults...)
					rows = append(rows, matrixRow(s.protocol, target, mode, res))
				})
			}
		}
	}
	t.Logf("%d s loads, seed %d\n%s\n%s", d/time.Second, seed, matrixHeader, strings.Join(rows, "\n"))
}

// matrixConfig is the command line's defaults, with the mode's flags and a table of the
// test's own.
func matrixConfig(t *testing.T, protocol, mode string, d time.Duration, seed uint64) Config {
	args := []string{"-protocol", protocol, "-addr", "127.0.0.1:1", "-duration", d.String(),
		"-seed", strconv.FormatUint(seed, 10), "-table", newTableName(t)}
	switch mode {
	case ModeWriteThrough:
		args = append(args, "-write-through")
	case ModeDelBeforeCommit:
		args = append(args, "-del-before-commit", "-settle", "2s") // past the rechecks (1 s)
	case "hot":
		args = append(args, "-preset", "hot")
	}
	return parse(t, args...)
}

const matrixHeader = `| target | write mode | reads | hit ratio | writes | stale reads | oldest stale | wrong after | failed calls (reads/fills/writes) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |`

func matrixRow(protocol, target, mode string, r Result) string {
	name := map[string]string{cache.Redis: "Redis", cache.Memcached: "memcached"}[protocol]
	if target == "plain" {
		name = "plain " + name
	} else {
		name = strings.Replace(target, "discoh", "discoh ("+name+")", 1)
	}
	if mode == "hot" {
		mode = "hot keys (update-then-del)"
	}
	oldest := "—"
	if r.Stale > 0 {
		oldest = r.MaxAge.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("| %s | %s | %s | %.2f%% | %s | %s | %s | %d of %d cached | %d (%d/%d/%d) |",
		name, mode, thousands(r.Reads), 100*r.HitRatio(), thousands(r.Writes), thousands(r.Stale), oldest,
		r.After.Inconsistent, r.After.Cached, r.Errors, r.ReadErrors, r.FillErrors, r.WriteErrors)
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
