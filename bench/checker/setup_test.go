package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/discoh/discoh/bench/checker/cache"
	"github.com/discoh/discoh/internal/testproc"
)

// TestSetupErrors checks that a run that cannot start is an error (the command exits
// non-zero) and not a report of zero stale reads.
func TestSetupErrors(t *testing.T) {
	closed := "127.0.0.1:" + strconv.Itoa(testproc.FreePort(t))
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"redis target down", func(c *Config) { c.Addrs = []string{closed} }, "clear keys"},
		{"memcached target down", func(c *Config) { c.Protocol, c.Addrs = cache.Memcached, []string{closed} }, "clear keys"},
		{"database down", func(c *Config) {
			c.DSN = "postgres://postgres@" + closed + "/test?sslmode=disable&connect_timeout=1"
		}, "table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, cache.Redis, time.Second, closed)
			tt.mutate(&cfg)
			res, err := checkWith(t.Context(), cfg, cache.Dial, discard, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("check() = %+v, %v; want an error about %s", res, err, tt.want)
			}
		})
	}
}
