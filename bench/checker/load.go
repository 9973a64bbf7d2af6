package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/discoh/discoh/bench/checker/cache"
	"github.com/discoh/discoh/bench/checker/ledger"
)

// maxLoggedErrors is how many failed calls a run logs; the rest are only counted.
const maxLoggedErrors = 10

// writerStreams offsets the writers' random streams from the readers'.
const writerStreams = 1 << 32

// load is the look-aside workload of one run: readers that GET, and on a miss read the
// row, pause and SET it; writers that update a row and then DEL its key.
type load struct {
	cfg    Config
	table  *table
	ledger *ledger.Ledger
	stats  *stats
	log    *slog.Logger
}

// reader is one reader's way to the target.
type reader struct {
	c    cache.Client
	kind clientKind
}

func newLoad(cfg Config, t *table, log *slog.Logger) *load {
	return &load{cfg: cfg, table: t, ledger: ledger.New(cfg.Keys), stats: newStats(cfg.Keys), log: log}
}

// maxOvertime is how many times its duration a load may run to reach Config.MinWrites and
// Config.MinStale.
const maxOvertime = 4

// run drives readers and writers for the configured duration (longer if MinWrites or
// MinStale ask for it), or until ctx is done. Calls under way then still finish (each bounded by its own
// timeout), so that no write is left committed with its key not yet deleted, which would be
// counted against the target.
func (l *load) run(ctx context.Context, readers []reader, writers []cache.Client) {
	l.stats.began = time.Now()
	going := func() bool { return l.going(ctx, time.Now()) }
	calls := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for i, r := range readers {
		p := l.newPicker(uint64(i))
		wg.Go(func() {
			for going() {
				l.read(calls, r, p)
			}
		})
	}
	for i, c := range writers {
		p, payload := l.newPicker(writerStreams+uint64(i)), "w"+strconv.Itoa(i)
		wg.Go(func() {
			for going() {
				l.write(calls, c, p, payload)
			}
		})
	}
	wg.Wait()
}

// going reports whether the load goes on at now: until its duration is over, and then while
// fewer than MinWrites writes were acknowledged or fewer than MinStale stale reads seen, up to
// maxOvertime times the duration.
func (l *load) going(ctx context.Context, now time.Time) bool {
	if ctx.Err() != nil {
		return false
	}
	elapsed := now.Sub(l.stats.began)
	if elapsed < l.cfg.Duration {
		return true
	}
	short := l.stats.writes.Load() < int64(l.cfg.MinWrites) || l.stats.staleCount() < int64(l.cfg.MinStale)
	return short && elapsed < maxOvertime*l.cfg.Duration
}

// read is one look-aside read of a key picked by p.
func (l *load) read(ctx context.Context, r reader, p *picker) {
	id := p.key()
	key := keyOf(l.cfg.KeyPrefix, id)
	start := time.Now() // before the GET: a later time could accuse a read that began in time
	body, hit, err := r.c.Get(ctx, key)
	switch {
	case err != nil:
		l.fail(readCall, "GET", key, err)
	case hit:
		l.stats.reads.Add(1)
		l.judge(id, start, body, r.kind)
	default:
		l.stats.reads.Add(1)
		l.fill(ctx, r.c, id, key, p)
	}
}

// judge checks a hit against the writes acknowledged before the read began.
func (l *load) judge(id int, start time.Time, body string, kind clientKind) {
	l.stats.hits.Add(1)
	version, err := bodyVersion(body)
	if err != nil {
		if n := l.stats.malformed.Add(1); n <= maxLoggedErrors {
			l.log.Warn("hit is not a checker body", "key", keyOf(l.cfg.KeyPrefix, id), "err", err)
		}
		return
	}
	if v := l.ledger.Judge(id, start, version); v.Stale {
		l.stats.addStale(id, kind, start, v)
	}
}

// fill is a reader's miss path: read the row, pause (the window in which a write can
// overtake the fill), then SET what was read.
func (l *load) fill(ctx context.Context, c cache.Client, id int, key string, p *picker) {
	body, err := l.table.read(ctx, id)
	if err != nil {
		l.fail(fillCall, "SELECT", key, err)
		return
	}
	time.Sleep(p.delay(l.cfg.FillDelay))
	if err := c.Set(ctx, key, body); err != nil {
		l.fail(fillCall, "SET", key, err)
		return
	}
	l.stats.fills.Add(1)
}

// write commits a new version of a row picked by p and deletes its key, or, write-through,
// sets it to the new value. Only a write whose DEL (or SET) was acknowledged goes in the
// ledger.
func (l *load) write(ctx context.Context, c cache.Client, p *picker, payload string) {
	id := p.key()
	key := keyOf(l.cfg.KeyPrefix, id)
	if l.cfg.DelBeforeCommit {
		version, err := l.table.writeDelFirst(ctx, id, payload, func() error { return c.Del(ctx, key) })
		if err != nil {
			l.fail(writeCall, "UPDATE+DEL", key, err)
			return
		}
		l.ledger.Acked(id, version, time.Now()) // the write is done once committed
		l.stats.writes.Add(1)
		return
	}
	version, err := l.table.write(ctx, id, payload)
	if err != nil {
		l.fail(writeCall, "UPDATE", key, err)
		return
	}
	if l.cfg.WriteThrough {
		if err := c.Set(ctx, key, fmt.Sprintf("v%d:%s", version, payload)); err != nil {
			l.fail(writeCall, "SET", key, err)
			return
		}
	} else if err := c.Del(ctx, key); err != nil {
		l.fail(writeCall, "DEL", key, err)
		return
	}
	l.ledger.Acked(id, version, time.Now())
	l.stats.writes.Add(1)
}

// fail counts a failed call of kind and logs the first few of each kind.
func (l *load) fail(kind callKind, op, key string, err error) {
	if n := l.stats.addError(kind); n <= maxLoggedErrors {
		l.log.Warn("call failed", "op", op, "key", key, "err", err, "failed_so_far", n)
	}
}

// picker is one worker's random choices: keys by Zipf popularity, and fill delays.
type picker struct {
	rng  *rand.Rand
	zipf *rand.Zipf
}

// newPicker returns the picker of random stream stream under the run's seed.
func (l *load) newPicker(stream uint64) *picker {
	rng := rand.New(rand.NewPCG(l.cfg.Seed, stream))
	return &picker{rng: rng, zipf: rand.NewZipf(rng, l.cfg.Zipf, 1, uint64(l.cfg.Keys-1))}
}

// key returns a row id; id 0 is the hottest.
func (p *picker) key() int { return int(p.zipf.Uint64()) }

// delay returns a pause in [0, max].
func (p *picker) delay(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(p.rng.Int64N(int64(max) + 1))
}
