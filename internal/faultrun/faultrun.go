// Package faultrun drives a fault run, as an operator would run one against a cache proxy:
// clients reading and writing keys through the proxy while a harness injects faults into the
// servers behind it, with a ledger of every acknowledged write. It counts failed operations
// (and when they failed, to tell a fault's detection window from the rest), stale reads (a
// value older than the reader's own last acknowledged write of the key), wrong replies (a
// value no write of the key produced) and misses of acknowledged writes; at the end it reads
// every key back through the proxy and from every server directly, to count the writes lost
// to clients and the keys lost from every copy.
//
//	run, err := faultrun.Start(ctx, faultrun.Config{Addr: proxy, Dial: faultrun.Redis})
//	f := run.Fault("kill -9 s2")
//	... kill the server, restart it ...
//	f.Ended()
//	run.Stop()
//	final := run.Check(ctx, proxyClient, serverClients)
//	figures := run.Figures(time.Second, final)
package faultrun

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config, the load of issue 13's fault round.
const (
	DefaultClients   = 20
	DefaultKeys      = 2000
	DefaultWrites    = 0.5
	DefaultValueSize = 64
	DefaultPrefix    = "fr"
)

// Config describes a fault run's load.
type Config struct {
	Addr    string // the proxy's address
	Dial    Dialer
	Clients int // concurrent clients, each on its own connection
	// Keys are read and written throughout the run. Key i belongs to client i % Clients, the
	// only one that writes or reads it, so its expected value is never in doubt.
	Keys int
	// Burst keys are written once each, split between the clients, before each turns to
	// reading and writing its Keys: a write burst during which the Keys are untouched.
	Burst     int
	Writes    float64 // share of writes among the reads and writes of Keys
	ValueSize int
	Prefix    string
	Seed      uint64 // of each client's choice of key and operation
}

func (c *Config) setDefaults() {
	if c.Clients <= 0 {
		c.Clients = DefaultClients
	}
	if c.Keys <= 0 {
		c.Keys = DefaultKeys
	}
	if c.Writes <= 0 {
		c.Writes = DefaultWrites
	}
	if c.ValueSize <= 0 {
		c.ValueSize = DefaultValueSize
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
}

// Run is a fault run in progress. Its methods are for the one goroutine that drives the
// faults, except BurstWritten and Ops, which may be called from any.
type Run struct {
	cfg     Config
	workers []*worker
	faults  []*Fault
	start   time.Time
	end     time.Time // when Stop was called
	stop    chan struct{}
	wg      sync.WaitGroup
	burst   atomic.Int64 // burst writes sent
	ops     atomic.Int64 // reads and writes of Keys done
	stopped bool
}

// Start writes every key once through the proxy (failing if any of those writes fails), then
// starts the clients and returns.
func Start(ctx context.Context, cfg Config) (*Run, error) {
	cfg.setDefaults()
	r := &Run{cfg: cfg, stop: make(chan struct{})}
	for w := range cfg.Clients {
		r.workers = append(r.workers, newWorker(&r.cfg, w))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(r.workers))
	for i, w := range r.workers {
		wg.Go(func() { errs[i] = w.preload(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		r.closeClients()
		return nil, err
	}
	r.start = time.Now()
	for _, w := range r.workers {
		r.wg.Go(func() { w.run(ctx, r.stop, &r.burst, &r.ops) })
	}
	return r, nil
}

// BurstWritten returns how many burst writes have been sent so far.
func (r *Run) BurstWritten() int { return int(r.burst.Load()) }

// Ops returns how many reads and writes of Keys have been done so far.
func (r *Run) Ops() int64 { return r.ops.Load() }

// Stop stops the clients and waits for their calls in flight to end.
func (r *Run) Stop() {
	if r.stopped {
		return
	}
	r.stopped, r.end = true, time.Now()
	close(r.stop)
	r.wg.Wait()
	r.closeClients()
}

func (r *Run) closeClients() {
	for _, w := range r.workers {
		w.client.Close()
	}
}

// Untouched returns the keys (of Keys) that no client wrote after Start. Call it after Stop.
func (r *Run) Untouched() []string {
	var keys []string
	for _, w := range r.workers {
		for i, e := range w.ledger {
			if e.sent == 1 {
				keys = append(keys, w.keys[i])
			}
		}
	}
	return keys
}

// Fault is one fault of a run: when it began and, for one the server recovers from, when the
// server came back and how long the proxy took to use it again.
type Fault struct {
	Name     string
	Start    time.Time
	End      time.Time     // zero until Ended
	Rejoin   time.Duration // from End until the proxy used the server again; see Rejoin
	Rejoined bool
}

// Fault records that a fault begins now.
func (r *Run) Fault(name string) *Fault {
	f := &Fault{Name: name, Start: time.Now()}
	r.faults = append(r.faults, f)
	return f
}

// Ended records that the fault's server is back now (restarted, resumed).
func (f *Fault) Ended() { f.End = time.Now() }

// Faults returns the faults recorded so far.
func (r *Run) Faults() []*Fault { return r.faults }

// failure is one failed operation.
type failure struct {
	at  time.Time
	err error
}

// worker is one client: its connection, its keys' ledger entries and its counts.
type worker struct {
	cfg    *Config
	id     int
	client Client
	rng    *rand.Rand
	keys   []string // its Keys
	ledger []entry  // of keys
	burst  []string // its share of the burst
	bursts []entry  // of burst

	gets, sets, staleReads, wrongReplies, misses int64
	slowest                                      time.Duration // the longest read or write of Keys
	failures                                     []failure
	odd                                          []string // the first stale reads, wrong replies, misses
}

func newWorker(cfg *Config, id int) *worker {
	w := &worker{cfg: cfg, id: id, client: cfg.Dial(cfg.Addr),
		rng: rand.New(rand.NewPCG(cfg.Seed, uint64(id)))}
	for i := id; i < cfg.Keys; i += cfg.Clients {
		w.keys = append(w.keys, fmt.Sprintf("%s:%d", cfg.Prefix, i))
	}
	w.ledger = make([]entry, len(w.keys))
	for i := id; i < cfg.Burst; i += cfg.Clients {
		w.burst = append(w.burst, fmt.Sprintf("%s:burst:%d", cfg.Prefix, i))
	}
	w.bursts = make([]entry, len(w.burst))
	return w
}

// preload writes each of the worker's keys once.
func (w *worker) preload(ctx context.Context) error {
	for i, k := range w.keys {
		e := &w.ledger[i]
		e.sent++
		if err := w.client.Set(ctx, k, formatValue(k, e.sent, w.cfg.ValueSize)); err != nil {
			return fmt.Errorf("faultrun: preload SET %s: %w", k, err)
		}
		e.acked = e.sent
	}
	return nil
}

// run writes the worker's share of the burst, then reads and writes its keys until stop.
func (w *worker) run(ctx context.Context, stop <-chan struct{}, burst, ops *atomic.Int64) {
	for i, k := range w.burst {
		if stopping(stop) {
			return
		}
		w.set(ctx, k, &w.bursts[i])
		burst.Add(1)
	}
	for !stopping(stop) {
		i := w.rng.IntN(len(w.keys))
		start := time.Now()
		if w.rng.Float64() < w.cfg.Writes {
			w.set(ctx, w.keys[i], &w.ledger[i])
		} else {
			w.get(ctx, w.keys[i], &w.ledger[i])
		}
		w.slowest = max(w.slowest, time.Since(start))
		ops.Add(1)
	}
}

func stopping(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

func (w *worker) set(ctx context.Context, key string, e *entry) {
	e.sent++
	w.sets++
	if err := w.client.Set(ctx, key, formatValue(key, e.sent, w.cfg.ValueSize)); err != nil {
		w.failures = append(w.failures, failure{time.Now(), fmt.Errorf("SET %s: %w", key, err)})
		return
	}
	e.acked = e.sent
}

func (w *worker) get(ctx context.Context, key string, e *entry) {
	w.gets++
	v, ok, err := w.client.Get(ctx, key)
	if err != nil {
		w.failures = append(w.failures, failure{time.Now(), fmt.Errorf("GET %s: %w", key, err)})
		return
	}
	switch e.judge(key, v, ok) {
	case stale:
		w.staleReads++
		w.note(key, v, e)
	case wrong:
		w.wrongReplies++
		w.note(key, v, e)
	case missed:
		w.misses++
		w.note(key, v, e)
	}
}

// note keeps the first few stale reads, wrong replies and misses, for the report.
func (w *worker) note(key, value string, e *entry) {
	if len(w.odd) < oddSamples {
		w.odd = append(w.odd, fmt.Sprintf("GET %s = %.40q at %v; last acknowledged write %d, last sent %d",
			key, value, time.Now().Format("15:04:05.000"), e.acked, e.sent))
	}
}
