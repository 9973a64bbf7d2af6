package cache

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/discoh/discoh/internal/testproc"
)

// forEachServer runs test against a real redis-server and a real memcached, each through a
// one-connection client and a pooled one.
func forEachServer(t *testing.T, test func(t *testing.T, c Client)) {
	servers := map[string]func(testing.TB, ...string) *testproc.Proc{
		Redis:     testproc.Redis,
		Memcached: testproc.Memcached,
	}
	for protocol, start := range servers {
		t.Run(protocol, func(t *testing.T) {
			srv := start(t)
			for _, conns := range []int{1, 4} {
				t.Run(fmt.Sprintf("conns=%d", conns), func(t *testing.T) {
					c, err := Dial(protocol, srv.Addr, conns)
					if err != nil {
						t.Fatalf("Dial: %v", err)
					}
					t.Cleanup(func() { c.Close() })
					test(t, c)
				})
			}
		})
	}
}

func TestLookAside(t *testing.T) {
	forEachServer(t, func(t *testing.T, c Client) {
		ctx := t.Context()
		key := "user:" + t.Name()
		get := func(wantValue string, wantHit bool) {
			t.Helper()
			v, hit, err := c.Get(ctx, key)
			if err != nil || v != wantValue || hit != wantHit {
				t.Errorf("Get = %q, %v, %v; want %q, %v, nil", v, hit, err, wantValue, wantHit)
			}
		}
		must := func(op string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
		}
		get("", false)
		must("Del of an absent key", c.Del(ctx, key))
		must("Set", c.Set(ctx, key, "v1:a"))
		get("v1:a", true)
		must("Set over a value", c.Set(ctx, key, "v2:b"))
		get("v2:b", true)
		must("Del", c.Del(ctx, key))
		get("", false)
	})
}

func TestConcurrentCalls(t *testing.T) {
	forEachServer(t, func(t *testing.T, c Client) {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				key, value := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
				for range 50 {
					if err := c.Set(t.Context(), key, value); err != nil {
						t.Errorf("Set: %v", err)
						return
					}
					if got, hit, err := c.Get(t.Context(), key); got != value || !hit || err != nil {
						t.Errorf("Get(%s) = %q, %v, %v; want %q, true, nil", key, got, hit, err, value)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

func TestDialUnknownProtocol(t *testing.T) {
	if _, err := Dial("http", "127.0.0.1:1", 1); !errors.Is(err, ErrProtocol) {
		t.Errorf("Dial(http) error %v; want ErrProtocol", err)
	}
}
