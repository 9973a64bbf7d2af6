// Package memlimit keeps the process under its max_memory. The bound is Go's soft memory
// limit, so the collector works harder as memory nears it, and past a high-water mark below
// it the front ends take on no new large work: they refuse large requests with an error and
// serve each client's pipeline one request at a time, so the replies held for clients that
// do not read them stop growing. Memory is sampled, not counted per request: the hot path
// pays one atomic load.
package memlimit

import (
	"context"
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// LargeRequest is the size from which a request counts as large work while over the mark.
const LargeRequest = 64 << 10

// sampleEvery is how often memory is read: a client pipelining 100 KB replies adds a few MB
// in that time, well within the room between the mark and the bound.
const sampleEvery = 20 * time.Millisecond

var over atomic.Bool

// Over reports whether the process held more than its high-water mark at the last sample.
func Over() bool { return over.Load() }

// Watch sets the soft memory limit to max bytes and samples until ctx ends. The process is
// over from 7/8 of max until it falls under 3/4 of it. max 0 leaves everything as it was;
// when ctx ends the limit is lifted.
func Watch(ctx context.Context, max int64, log *slog.Logger) {
	if max <= 0 {
		return
	}
	debug.SetMemoryLimit(max)
	high, low := max/8*7, max/4*3
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			over.Store(false)
			debug.SetMemoryLimit(math.MaxInt64)
			return
		case <-tick.C:
		}
		held := Held()
		switch {
		case !over.Load() && held > high:
			over.Store(true)
			log.Warn("memory near max_memory: refusing large requests, one request at a time per client",
				"held", held, "max_memory", max)
		case over.Load() && held < low:
			over.Store(false)
			log.Info("memory back under max_memory", "held", held, "max_memory", max)
		}
	}
}

// Held is the memory the Go runtime holds from the system and has not given back: what the
// process's resident size follows.
func Held() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}
