package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/internal/testproc"
)

// held is what a server itself holds for a key: its value and remaining TTL (0: none).
type held struct {
	value string
	ttl   time.Duration
}

// recopyServer is what the copy-back test needs of one server, reached directly.
type recopyServer interface {
	items(t *testing.T) int64
	lookup(t *testing.T, keys []string) map[string]held
}

type redisServer struct{ c *redis.Client }

func (r redisServer) items(t *testing.T) int64 {
	n, _ := r.c.DBSize(t.Context()).Result()
	return n
}

func (r redisServer) lookup(t *testing.T, keys []string) map[string]held {
	t.Helper()
	got := make(map[string]held)
	for chunk := range chunks(keys, 500) {
		gets := make([]*redis.StringCmd, len(chunk))
		ttls := make([]*redis.DurationCmd, len(chunk))
		_, err := r.c.Pipelined(t.Context(), func(p redis.Pipeliner) error {
			for i, k := range chunk {
				gets[i], ttls[i] = p.Get(t.Context(), k), p.PTTL(t.Context(), k)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("reading the server directly: %v", err)
		}
		for i, k := range chunk {
			if v, err := gets[i].Result(); err == nil {
				got[k] = held{value: v, ttl: max(ttls[i].Val(), 0)}
			}
		}
	}
	return got
}

type memcacheServer struct{ addr string }

func (m memcacheServer) items(t *testing.T) int64 {
	stats := roundTrip(t, dialRaw(t, m.addr), "stats\r\n")
	for line := range strings.Lines(string(stats)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "STAT curr_items "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func (m memcacheServer) lookup(t *testing.T, keys []string) map[string]held {
	t.Helper()
	c := dialRaw(t, m.addr)
	got := make(map[string]held)
	for _, k := range keys {
		reply := string(roundTrip(t, c, "mg "+k+" v t\r\n"))
		line, data, ok := strings.Cut(reply, "\r\n")
		if !ok || !strings.HasPrefix(line, "VA ") {
			continue
		}
		h := held{value: strings.TrimSuffix(data, "\r\n")}
		for _, f := range strings.Fields(line)[2:] {
			if secs, err := strconv.Atoi(strings.TrimPrefix(f, "t")); err == nil && secs > 0 {
				h.ttl = time.Duration(secs) * time.Second
			}
		}
		got[k] = h
	}
	return got
}

// chunks yields keys n at a time.
func chunks(keys []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(keys) > 0 {
			m := min(n, len(keys))
			if !yield(keys[:m]) {
				return
			}
			keys = keys[m:]
		}
	}
}

// recopyTTL is the TTL of every third key of the copy-back test.
const recopyTTL = time.Hour

// TestRestartedServerIsRefilledBeforeItsPartnerDies: with two copies of each key, server 1 is
// killed and restarted empty, and nothing is read through discoh. discoh copies back to it, in
// the background, every key its partners hold for it, with the TTLs they have left; then both
// partners die and every key server 1 held a copy of is still served. With lazy warm-up only,
// the restarted server stayed empty and the partners' deaths lost every key.
func TestRestartedServerIsRefilledBeforeItsPartnerDies(t *testing.T) {
	for _, isRedis := range []bool{true, false} {
		t.Run(map[bool]string{true: "redis", false: "memcached"}[isRedis], func(t *testing.T) {
			testRecopy(t, isRedis, 3000)
		})
	}
}

func testRecopy(t *testing.T, isRedis bool, n int) {
	st := startStack(t, isRedis, 3, replicated)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("recopy:%d", i)
	}
	ttlOf := func(i int) time.Duration { return map[bool]time.Duration{true: recopyTTL}[i%3 == 0] }
	var direct recopyServer
	var read func(k string) (string, error)
	var del func(k string) error
	var recopied func() string // what INFO or stats says was copied back to server 1
	if isRedis {
		c := st.client(t, 2)
		for i, k := range keys {
			if err := c.Set(t.Context(), k, "v-"+k, ttlOf(i)).Err(); err != nil {
				t.Fatalf("SET %s: %v", k, err)
			}
		}
		direct = redisServer{st.direct(t, 1)}
		read = func(k string) (string, error) { return c.Get(context.Background(), k).Result() }
		del = func(k string) error { return c.Del(context.Background(), k).Err() }
		recopied = func() string {
			return regexp.MustCompile(`server1:.*(recopied=\d+)`).FindStringSubmatch(c.Info(t.Context(), "servers").Val() + "server1:recopied=?")[1]
		}
	} else {
		mc := memcache.New(st.addr)
		mc.Timeout = 3 * time.Second
		for i, k := range keys {
			it := &memcache.Item{Key: k, Value: []byte("v-" + k), Expiration: int32(ttlOf(i) / time.Second)}
			if err := mc.Set(it); err != nil {
				t.Fatalf("set %s: %v", k, err)
			}
		}
		direct = memcacheServer{st.servers[1].Addr}
		read = func(k string) (string, error) {
			it, err := mc.Get(k)
			if err != nil {
				return "", err
			}
			return string(it.Value), nil
		}
		del = mc.Delete
		stats := dialRaw(t, st.addr)
		recopied = func() string {
			return regexp.MustCompile(`STAT server1_(recopied \d+)`).FindStringSubmatch(string(roundTrip(t, stats, "stats\r\n")) + "STAT server1_recopied ?")[1]
		}
	}
	var mine []string // the keys server 1 holds a copy of
	before := direct.lookup(t, keys)
	for _, k := range keys {
		if _, ok := before[k]; ok {
			mine = append(mine, k)
		}
	}
	if len(mine) < n/3 {
		t.Fatalf("server 1 holds %d of %d keys; want about 2/3 of them", len(mine), n)
	}

	port := st.servers[1].Port
	st.servers[1].Kill()
	st.servers[1] = restartAt(t, isRedis, port)
	restarted := time.Now()
	// Meanwhile a client deletes every 7th of them, a key every millisecond or so: a delete
	// that races with the key's copy must not be undone by it.
	deleted := make(map[string]bool)
	var deletes sync.WaitGroup
	deletes.Go(func() {
		for i := 0; i < len(mine); i += 7 {
			if err := del(mine[i]); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
				t.Errorf("delete %s: %v", mine[i], err)
			}
			time.Sleep(time.Millisecond)
		}
	})
	for i := 0; i < len(mine); i += 7 {
		deleted[mine[i]] = true
	}
	want := int64(len(mine) - len(deleted))
	deadline := restarted.Add(20 * time.Second)
	for direct.items(t) < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d keys copied back to the restarted server in %v", direct.items(t), time.Since(restarted).Round(time.Millisecond))
	deletes.Wait()
	time.Sleep(100 * time.Millisecond) // a copy-back batch in progress ends
	t.Logf("discoh says of server 1: %s", recopied())
	if got := recopied(); strings.HasSuffix(got, "=0") || strings.HasSuffix(got, " 0") || strings.HasSuffix(got, "?") {
		t.Errorf("INFO/stats of server 1: %s; want the keys copied back counted", got)
	}

	after := direct.lookup(t, mine)
	missing := 0
	for i, k := range keys {
		if _, ok := before[k]; !ok {
			continue
		}
		h, ok := after[k]
		switch want := ttlOf(i); {
		case deleted[k] && ok:
			t.Errorf("server 1 holds %s = %q, deleted through discoh while it was copied back; want it gone", k, h.value)
		case deleted[k]:
		case !ok:
			missing++
		case h.value != "v-"+k:
			t.Errorf("server 1 holds %s = %q; want %q", k, h.value, "v-"+k)
		case want == 0 && h.ttl != 0:
			t.Errorf("server 1 holds %s with TTL %v; want none", k, h.ttl)
		case want != 0 && (h.ttl > want || h.ttl < want-time.Minute):
			t.Errorf("server 1 holds %s with TTL %v; want about %v (the partner's)", k, h.ttl, want)
		}
	}
	if missing > 0 {
		t.Fatalf("the restarted server lacks %d of the %d keys it held a copy of (not deleted since) after 20s, nothing read through discoh; want all copied back",
			missing, len(mine)-len(deleted))
	}

	st.servers[0].Kill()
	st.servers[2].Kill()
	lost := 0
	for _, k := range mine {
		v, err := read(k)
		switch {
		case deleted[k] && err == nil:
			t.Errorf("%s, deleted, reads %q after the partners died; want a miss", k, v)
		case !deleted[k] && (err != nil || v != "v-"+k):
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("after both partners died, %d of the %d keys server 1 held a copy of are lost; want 0", lost, len(mine))
	}
}

// restartAt starts an empty server of the protocol on port.
func restartAt(t *testing.T, isRedis bool, port int) *testproc.Proc {
	t.Helper()
	if isRedis {
		return testproc.RedisAt(t, port)
	}
	return testproc.MemcachedAt(t, port)
}
