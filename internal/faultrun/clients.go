package faultrun

import (
	"bytes"
	"context"
	"errors"
	"net"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"
)

// Client is what a fault run needs of a cache client: one caller's GETs and SETs, and a
// multi-key read for the final checks. A miss is ok == false with a nil error.
type Client interface {
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	Set(ctx context.Context, key, value string) error
	// GetMany returns the values of the keys that hit.
	GetMany(ctx context.Context, keys []string) (map[string]string, error)
	Close() error
}

// Dialer returns a client of addr.
type Dialer func(addr string) Client

// clientTimeout is how long a client waits for a reply: longer than the proxies' backend
// timeouts, so a client hears the proxy's error rather than timing out blind, and long enough
// for requests queued behind a slow script.
const clientTimeout = 3 * time.Second

// Redis dials addr with go-redis (RESP2), without retries: a failed call is counted, not
// hidden by a retry.
func Redis(addr string) Client {
	return redisClient{redis.NewClient(redisOptions(addr))}
}

// RedisWithoutHello is Redis for a proxy that closes the connection on HELLO and CLIENT
// SETINFO, as nutcracker does: go-redis v9 sends them on every new connection, so here HELLO
// is answered on the client's side, as by a server that does not know it.
func RedisWithoutHello(addr string) Client {
	opt := redisOptions(addr)
	WithoutHello(opt)
	return redisClient{redis.NewClient(opt)}
}

func redisOptions(addr string) *redis.Options {
	return &redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, PoolSize: 2,
		DialTimeout: time.Second, ReadTimeout: clientTimeout, WriteTimeout: clientTimeout}
}

// WithoutHello makes the connections of opt answer go-redis's HELLO themselves, with the error
// of a server that does not know it, and send no other command on connect (CLIENT SETINFO,
// CLIENT MAINT_NOTIFICATIONS with RESP3).
func WithoutHello(opt *redis.Options) {
	opt.Protocol, opt.DisableIdentity = 2, true
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &helloless{Conn: c}, nil
	}
}

// helloless is a connection that keeps HELLO from the server and answers it itself.
type helloless struct {
	net.Conn
	reply []byte // the answer to a HELLO kept back, read before anything from the server
}

// helloCommand is how a RESP array naming HELLO continues after its length line.
var helloCommand = []byte("$5\r\nhello\r\n")

func (c *helloless) Write(b []byte) (int, error) {
	if _, rest, ok := bytes.Cut(b, []byte("\r\n")); ok && len(b) > 0 && b[0] == '*' &&
		len(rest) >= len(helloCommand) && bytes.EqualFold(rest[:len(helloCommand)], helloCommand) {
		c.reply = append(c.reply, "-ERR unknown command 'HELLO'\r\n"...)
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *helloless) Read(b []byte) (int, error) {
	if len(c.reply) > 0 {
		n := copy(b, c.reply)
		c.reply = c.reply[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

type redisClient struct{ c *redis.Client }

func (r redisClient) Get(ctx context.Context, key string) (string, bool, error) {
	v, err := r.c.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (r redisClient) Set(ctx context.Context, key, value string) error {
	return r.c.Set(ctx, key, value, 0).Err()
}

func (r redisClient) GetMany(ctx context.Context, keys []string) (map[string]string, error) {
	vals, err := r.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	hits := make(map[string]string, len(keys))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			hits[keys[i]] = s
		}
	}
	return hits, nil
}

func (r redisClient) Close() error { return r.c.Close() }

// Memcached dials addr with gomemcache.
func Memcached(addr string) Client {
	c := memcache.New(addr)
	c.Timeout = clientTimeout
	c.MaxIdleConns = 2
	return mcClient{c}
}

type mcClient struct{ c *memcache.Client }

func (m mcClient) Get(_ context.Context, key string) (string, bool, error) {
	it, err := m.c.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(it.Value), true, nil
}

func (m mcClient) Set(_ context.Context, key, value string) error {
	return m.c.Set(&memcache.Item{Key: key, Value: []byte(value)})
}

func (m mcClient) GetMany(_ context.Context, keys []string) (map[string]string, error) {
	items, err := m.c.GetMulti(keys)
	if err != nil {
		return nil, err
	}
	hits := make(map[string]string, len(items))
	for k, it := range items {
		hits[k] = string(it.Value)
	}
	return hits, nil
}

func (m mcClient) Close() error { return m.c.Close() }
