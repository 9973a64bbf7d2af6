// Package cache is the consistency checker's look-aside client: GET, SET and DEL of string
// values over Redis (RESP) or the memcached text protocol, through the client libraries that
// applications use unchanged (go-redis, gomemcache), over one connection or a shared pool.
package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The protocols Dial speaks.
const (
	Redis     = "redis"
	Memcached = "memcached"
)

// Timeout bounds every call, connection included, on both protocols.
const Timeout = 2 * time.Second

// ErrProtocol is returned by Dial for a protocol other than Redis or Memcached.
var ErrProtocol = errors.New("cache: unknown protocol")

// Client is the look-aside subset of a cache client. Its methods are safe for concurrent use;
// a client of one connection serializes them on it.
type Client interface {
	// Get returns key's value and whether it was a hit.
	Get(ctx context.Context, key string) (value string, hit bool, err error)
	// Set stores value under key without expiry.
	Set(ctx context.Context, key, value string) error
	// Del removes key. Removing an absent key is not an error.
	Del(ctx context.Context, key string) error
	// Close releases the client's connections.
	Close() error
}

// Dial returns a client of protocol for the server at addr that keeps up to conns
// connections. With conns 1, every call of a caller that makes one call at a time goes over
// the same connection, as with an application's dedicated connection; with more, a caller's
// calls go over whichever connection is free, as with a connection pool. Dial does not
// connect: the first call does.
func Dial(protocol, addr string, conns int) (Client, error) {
	switch protocol {
	case Redis:
		return dialRedis(addr, conns), nil
	case Memcached:
		return dialMemcached(addr, conns), nil
	}
	return nil, fmt.Errorf("%w: %q (want %s or %s)", ErrProtocol, protocol, Redis, Memcached)
}
