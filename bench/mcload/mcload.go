// Package mcload is a memcached load generator: connections over raw
// sockets, each pipelining text-protocol requests and timing every reply.
package mcload

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"
)

// ErrReply reports a reply the generator cannot read as memcached's.
var ErrReply = errors.New("mcload: unexpected reply")

// Mix is the kind of requests a run sends.
type Mix int

const (
	// GetSet sends gets of one key, with one set in every ten requests.
	GetSet Mix = iota
	// MultiGet sends gets of MultiGetKeys keys each.
	MultiGet
)

// MultiGetKeys is how many keys one MultiGet request asks for.
const MultiGetKeys = 10

// setShare is GetSet's fraction of sets, one in setShare requests.
const setShare = 10

// replyGrace is how long after the end of a run a reply may still take
// before the connection is declared stuck.
const replyGrace = 5 * time.Second

// Config describes one run of load against one address.
type Config struct {
	Addr      string
	Mix       Mix
	Conns     int // connections, each with its own goroutine
	Depth     int // requests written before their replies are read
	Keys      int // keys are Key(0) to Key(Keys-1)
	ValueSize int // bytes per set
	Duration  time.Duration
	Seed      uint64 // connection i draws keys from a generator seeded Seed+i
}

// Result is what one run measured. A request is one get (of one or many
// keys) or one set.
type Result struct {
	Ops     int64
	Misses  int64 // keys asked for and not returned
	Errors  int64 // ERROR, CLIENT_ERROR and SERVER_ERROR replies
	Elapsed time.Duration
	P50     time.Duration
	P99     time.Duration
}

// OpsPerSec is the run's throughput in requests per second.
func (r Result) OpsPerSec() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// Run opens cfg.Conns connections to cfg.Addr and sends load over all of
// them for cfg.Duration or until ctx ends.
func Run(ctx context.Context, cfg Config) (Result, error) {
	workers, err := dialAll(ctx, cfg)
	defer closeAll(workers)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() { errs[i] = w.run(ctx, deadline) })
	}
	wg.Wait()
	if err := firstOf(errs); err != nil {
		return Result{}, err
	}
	return summarize(workers, time.Since(start)), nil
}

// firstOf returns the first error of errs, saying how many there were: the
// connections of a stuck server all fail alike.
func firstOf(errs []error) error {
	var first error
	failed := 0
	for _, err := range errs {
		if err != nil {
			first = cmp.Or(first, err)
			failed++
		}
	}
	if failed > 1 {
		return fmt.Errorf("%w (and %d more connections failed)", first, failed-1)
	}
	return first
}

func dialAll(ctx context.Context, cfg Config) ([]*worker, error) {
	var d net.Dialer
	workers := make([]*worker, 0, cfg.Conns)
	for i := range cfg.Conns {
		conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
		if err != nil {
			return workers, fmt.Errorf("mcload: %w", err)
		}
		rng := rand.New(rand.NewPCG(cfg.Seed+uint64(i), 0))
		workers = append(workers, newWorker(&cfg, conn, rng))
	}
	return workers, nil
}

func closeAll(workers []*worker) {
	for _, w := range workers {
		w.conn.Close()
	}
}

// summarize adds up the workers' counts and computes latency percentiles
// over every request of the run.
func summarize(workers []*worker, elapsed time.Duration) Result {
	res := Result{Elapsed: elapsed}
	var lat []time.Duration
	for _, w := range workers {
		res.Ops += int64(len(w.latencies))
		res.Misses += w.misses
		res.Errors += w.errors
		lat = append(lat, w.latencies...)
	}
	slices.Sort(lat)
	res.P50, res.P99 = Percentile(lat, 0.50), Percentile(lat, 0.99)
	return res
}

// Percentile returns the smallest of sorted that at least fraction q of the
// values do not exceed, or 0 for no values.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
