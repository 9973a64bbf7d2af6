package main

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/discoh/discoh/bench/checker/cache"
)

// After is the check of every key once the load has stopped and settled.
type After struct {
	Checked      int // keys read from the cache
	Cached       int // of which were hits
	Inconsistent int // hits whose version differs from the row's, malformed ones included
	Malformed    int // hits that are not checker bodies
}

// sweep reads every key from the cache and compares each hit's version with its row's.
func sweep(ctx context.Context, c cache.Client, t *table, cfg Config) (After, error) {
	versions, err := t.versions(ctx, cfg.Keys)
	if err != nil {
		return After{}, err
	}
	var cached, inconsistent, malformed atomic.Int64
	err = forEachKey(ctx, cfg.Keys, func(id int) error {
		body, hit, err := c.Get(ctx, keyOf(cfg.KeyPrefix, id))
		if err != nil || !hit {
			return err
		}
		cached.Add(1)
		v, err := bodyVersion(body)
		if err != nil {
			malformed.Add(1)
		}
		if v != versions[id] {
			inconsistent.Add(1)
		}
		return nil
	})
	return After{
		Checked:      cfg.Keys,
		Cached:       int(cached.Load()),
		Inconsistent: int(inconsistent.Load()),
		Malformed:    int(malformed.Load()),
	}, err
}

// clearKeys deletes every key, so that no value from an earlier run is judged as this
// run's.
func clearKeys(ctx context.Context, c cache.Client, cfg Config) error {
	return forEachKey(ctx, cfg.Keys, func(id int) error {
		return c.Del(ctx, keyOf(cfg.KeyPrefix, id))
	})
}

// forEachKey calls fn for every id in [0, n) from adminConns goroutines, and returns the
// first error, after which no further ids are started.
func forEachKey(ctx context.Context, n int, fn func(id int) error) error {
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range adminConns {
		wg.Go(func() {
			for id := int(next.Add(1) - 1); id < n && ctx.Err() == nil; id = int(next.Add(1) - 1) {
				if err := fn(id); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // start no more
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
