package cache

import (
	"context"
	"errors"

	"github.com/bradfitz/gomemcache/memcache"
)

// memcachedClient is a gomemcache client. gomemcache keeps up to MaxIdleConns connections
// between calls and dials more under concurrency, so a pool's size is a floor, not a cap.
type memcachedClient struct {
	c *memcache.Client
}

func dialMemcached(addr string, conns int) *memcachedClient {
	c := memcache.New(addr)
	c.MaxIdleConns = conns
	c.Timeout = Timeout
	return &memcachedClient{c: c}
}

// Get ignores ctx, as gomemcache does: Timeout bounds each call instead.
func (m *memcachedClient) Get(_ context.Context, key string) (string, bool, error) {
	it, err := m.c.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(it.Value), true, nil
}

func (m *memcachedClient) Set(_ context.Context, key, value string) error {
	return m.c.Set(&memcache.Item{Key: key, Value: []byte(value)})
}

func (m *memcachedClient) Del(_ context.Context, key string) error {
	err := m.c.Delete(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil // NOT_FOUND: the key is gone, which is what a DEL asks for
	}
	return err
}

func (m *memcachedClient) Close() error { return m.c.Close() }
