package faultrun

import (
	"context"
	"strconv"
	"time"
)

// rejoinPoll is how often Rejoin reads its marker through the proxy.
const rejoinPoll = 10 * time.Millisecond

// Rejoin measures how long after f ended the proxy reads from the fault's server again, the
// same way for any proxy: it writes a marker to key directly on server (a key that server owns
// first on the ring, which the load never writes), then reads key through proxy until it
// returns the marker, or until limit after f ended. Until then the proxy reads the key from
// another copy, or from the server its keys were moved to, where the marker is not. It sets
// f.Rejoin and f.Rejoined. It blocks: run it in a goroutine of its own when the harness must
// go on, and wait for it before calling Figures.
func Rejoin(ctx context.Context, f *Fault, proxy, server Client, key string, limit time.Duration) {
	marker := "rejoin-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	deadline := f.End.Add(limit)
	for server.Set(ctx, key, marker) != nil { // the server may still be starting
		if !sleepUntil(ctx, deadline) {
			f.Rejoin = limit
			return
		}
	}
	for {
		if v, ok, err := proxy.Get(ctx, key); err == nil && ok && v == marker {
			f.Rejoin, f.Rejoined = time.Since(f.End), true
			return
		}
		if !sleepUntil(ctx, deadline) {
			f.Rejoin = limit
			return
		}
	}
}

// sleepUntil sleeps for rejoinPoll and reports whether that was before deadline.
func sleepUntil(ctx context.Context, deadline time.Time) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(rejoinPoll):
	}
	return time.Now().Before(deadline)
}
