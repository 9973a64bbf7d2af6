package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/discoh/discoh/bench/proc"
	"github.com/discoh/discoh/bench/report"
)

// runRounds runs every bench against direct, twemproxy and discoh in turn,
// round after round, recording each run in the bench's row. A run that fails
// marks its row skipped, with the reason; the other rows go on.
func runRounds(ctx context.Context, st *stack, benches []*bench, rounds int, log *slog.Logger) error {
	var filled fill
	for round := 1; round <= rounds; round++ {
		for _, b := range benches {
			if b.row.Skipped != "" {
				continue
			}
			if b.fill != filled {
				if err := st.fill(ctx, b.fill); err != nil {
					return err
				}
				filled = b.fill
			}
			runTargets(ctx, st, b, round, log)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

func runTargets(ctx context.Context, st *stack, b *bench, round int, log *slog.Logger) {
	for _, target := range report.Targets {
		m, err := measure(ctx, st.targets[b.protocol][target], b.load)
		if err != nil {
			b.row.Skipped = fmt.Sprintf("%s failed in round %d: %v", target, round, err)
			log.Warn("run failed", "row", b.row.Name, "target", target, "round", round, "err", err)
			return
		}
		b.row.Add(target, m)
		log.Info("run", "round", round, "row", b.row.Name, "target", target,
			"ops/s", int(m.OpsPerSec), "p99_ms", m.P99Ms, "cpu_s_per_M", fmt.Sprintf("%.2f", m.CPUPerMops))
	}
}

// measure runs load against p and adds the CPU time p used per million
// requests and p's peak RSS during the run. For direct, p is the cache
// server itself.
func measure(ctx context.Context, p *proc.Process, load loadFunc) (report.Measurement, error) {
	pid := p.PID()
	errReset := proc.ResetPeakRSS(pid)
	before, errBefore := proc.CPUTime(pid)
	ops, m, errLoad := load(ctx, p.Addr)
	after, errAfter := proc.CPUTime(pid)
	peak, errPeak := proc.PeakRSS(pid)
	if err := errors.Join(errReset, errBefore, errLoad, errAfter, errPeak); err != nil {
		return m, err
	}
	if ops <= 0 {
		return m, errors.New("no requests completed")
	}
	m.CPUPerMops = (after - before).Seconds() / float64(ops) * 1e6
	m.PeakRSS = peak
	return m, nil
}
