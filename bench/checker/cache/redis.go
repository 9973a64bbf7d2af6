package cache

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// redisClient is a go-redis client with a fixed pool.
type redisClient struct {
	c *redis.Client
}

func dialRedis(addr string, conns int) *redisClient {
	return &redisClient{c: redis.NewClient(&redis.Options{
		Addr:         addr,
		Protocol:     2,
		PoolSize:     conns,
		MaxIdleConns: conns,
		DialTimeout:  Timeout,
		ReadTimeout:  Timeout,
		WriteTimeout: Timeout,
		PoolTimeout:  Timeout,
		// A retried GET or SET could take a second connection; a checker's client stays on
		// its own. CLIENT SETINFO is not something the look-aside workload sends.
		MaxRetries:      -1,
		DisableIdentity: true,
	})}
}

func (r *redisClient) Get(ctx context.Context, key string) (string, bool, error) {
	v, err := r.c.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (r *redisClient) Set(ctx context.Context, key, value string) error {
	return r.c.Set(ctx, key, value, 0).Err()
}

func (r *redisClient) Del(ctx context.Context, key string) error {
	return r.c.Del(ctx, key).Err()
}

func (r *redisClient) Close() error { return r.c.Close() }
