package main

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/internal/testdb"
	"github.com/discoh/discoh/internal/testproc"
)

// coherentPair is two discoh instances in front of the same cache servers, with a coherence
// source over a PostgreSQL table of its own.
type coherentPair struct {
	addrs   []string
	servers []*testproc.Proc
	db      *sql.DB
	table   string
}

// startCoherentPair starts two cache servers of the kind isRedis says and two discoh over
// them, keys "user:{id}" coherent with table's body column.
func startCoherentPair(t *testing.T, isRedis bool) *coherentPair {
	t.Helper()
	return startCoherentPool(t, isRedis, "")
}

// startCoherentPool is startCoherentPair with extra pool YAML lines.
func startCoherentPool(t *testing.T, isRedis bool, extra string) *coherentPair {
	t.Helper()
	return startCoherentPoolWith(t, isRedis, extra, "")
}

// startCoherentPoolWith is startCoherentPool with extra lines for the coherence section. Keys
// "slow:{id}" read the same table, taking slowPull.
func startCoherentPoolWith(t *testing.T, isRedis bool, extra, coherence string) *coherentPair {
	t.Helper()
	p := &coherentPair{db: testdb.Open(t, "pgx", testdb.PostgresDSN)}
	p.table = testdb.Table(t, p.db, "CREATE TABLE {t} (id int PRIMARY KEY, body text NOT NULL)")
	var servers []string
	for i := range 2 {
		proc := testproc.Redis(t)
		if !isRedis {
			proc = testproc.Memcached(t)
		}
		p.servers = append(p.servers, proc)
		servers = append(servers, fmt.Sprintf("      - %s:1 s%d", proc.Addr, i+1))
	}
	for range 2 {
		addr := fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
		startDiscoh(t, fmt.Sprintf(`pools:
  main:
    listen: %s
    redis: %v
    timeout: 1s
    data_dir: %s
%s
    servers:
%s
databases:
  pg: {driver: postgres, dsn: "%s"}
  slowpg: {driver: postgres, dsn: "%s", timeout: 10s}
coherence:
  window: 5s
  sources:
    - {pattern: "user:{id}", database: pg, query: "SELECT body FROM %s WHERE id = $1", ttl: 1h}
    - {pattern: "broken:{id}", database: pg, query: "SELECT body FROM no_such_table WHERE id = $1"}
    - {pattern: "slow:{id}", database: slowpg, query: "SELECT body FROM %s, pg_sleep(%g) WHERE id = $1", ttl: 1h}
%s`, addr, isRedis, t.TempDir(), extra, strings.Join(servers, "\n"), testdb.PostgresDSN, testdb.PostgresDSN, p.table,
			p.table, slowPull.Seconds(), coherence), addr)
		p.addrs = append(p.addrs, addr)
	}
	return p
}

// slowPull is how long a pull of a "slow:{id}" key takes.
const slowPull = 4 * time.Second

func (p *coherentPair) write(t *testing.T, id int, body string) {
	t.Helper()
	testdb.Exec(t, p.db, p.table, "INSERT INTO {t} (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = $2", id, body)
}

// TestStaleSetRaceRedis is the classic timeline: a reader misses and reads the DB; a writer
// updates the DB and deletes the key through the other instance; the reader then fills the old
// value. Through discoh the old value never becomes visible.
func TestStaleSetRaceRedis(t *testing.T) {
	p := startCoherentPair(t, true)
	ctx := t.Context()
	a := redis.NewClient(&redis.Options{Addr: p.addrs[0], Protocol: 2})
	b := redis.NewClient(&redis.Options{Addr: p.addrs[1], Protocol: 3, PoolSize: 4})
	defer a.Close()
	defer b.Close()
	p.write(t, 1, "old")
	if err := a.Get(ctx, "user:1").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("first GET = %v; want a miss", err)
	}
	stale := "old" // the reader's DB read, before the write
	p.write(t, 1, "new")
	if err := b.Del(ctx, "user:1").Err(); err != nil {
		t.Fatalf("DEL through the other instance: %v", err)
	}
	if err := a.Set(ctx, "user:1", stale, 0).Err(); err != nil {
		t.Fatalf("the stale SET should get its usual OK: %v", err)
	}
	for _, c := range []*redis.Client{a, b} {
		got, err := c.Get(ctx, "user:1").Result()
		if got == "old" || (err != nil && !errors.Is(err, redis.Nil)) {
			t.Errorf("GET after the stale fill = %q, %v; want new or a miss, never old", got, err)
		}
	}
	if got := b.Do(ctx, "discoh", "read", "user:1").Val(); got != "new" {
		t.Errorf("DISCOH READ = %v; want the pulled value new", got)
	}
	// The same timeline on a plain Redis leaves the old value in the cache: the race is real.
	plain := redis.NewClient(&redis.Options{Addr: testproc.Redis(t).Addr})
	defer plain.Close()
	plain.Get(ctx, "user:1")
	plain.Del(ctx, "user:1")
	plain.Set(ctx, "user:1", stale, 0)
	if got := plain.Get(ctx, "user:1").Val(); got != "old" {
		t.Errorf("control on plain Redis: GET = %q; want old (the stale set wins there)", got)
	}
}

func TestStaleSetRaceMemcached(t *testing.T) {
	p := startCoherentPair(t, false)
	a, b := memcache.New(p.addrs[0]), memcache.New(p.addrs[1])
	p.write(t, 2, "old")
	if _, err := a.Get("user:2"); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("first get = %v; want a miss", err)
	}
	p.write(t, 2, "new")
	if err := b.Delete("user:2"); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("delete through the other instance: %v", err)
	}
	if err := a.Set(&memcache.Item{Key: "user:2", Value: []byte("old")}); err != nil {
		t.Fatalf("the stale set should get STORED: %v", err)
	}
	for _, c := range []*memcache.Client{a, b} {
		it, err := c.Get("user:2")
		if err == nil && string(it.Value) == "old" {
			t.Errorf("get after the stale fill = old; want new or a miss")
		}
		if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("get after the stale fill: %v", err)
		}
	}
	it, err := b.Get("user:2")
	if err != nil || string(it.Value) != "new" {
		t.Errorf("get after the pull = %v, %v; want new", it, err)
	}
}

// TestHotKeyHerdCausesOnePull has 100 readers read a key just invalidated: one DB pull.
func TestHotKeyHerdCausesOnePull(t *testing.T) {
	p := startCoherentPair(t, true)
	ctx := t.Context()
	c := redis.NewClient(&redis.Options{Addr: p.addrs[0], Protocol: 2, PoolSize: 100})
	defer c.Close()
	p.write(t, 3, "hot")
	before := infoInt(t, c, "coherence_pulls") - infoInt(t, c, "coherence_revalidations")
	if err := c.Del(ctx, "user:3").Err(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := 0
	for range 100 {
		wg.Go(func() {
			got, err := c.Get(ctx, "user:3").Result()
			if err != nil || got != "hot" {
				mu.Lock()
				wrong++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// The DEL's recheck (revalidate, 1 s later) pulls again: a loaded machine can get there
	// before the readers are done. Only the DEL's own pull counts here.
	pulls := infoInt(t, c, "coherence_pulls") - infoInt(t, c, "coherence_revalidations") - before
	t.Logf("100 readers after one DEL: %d DB pulls, %d reads without the pulled value", pulls, wrong)
	if pulls != 1 {
		t.Errorf("DB pulls = %d; want 1", pulls)
	}
	if wrong != 0 {
		t.Errorf("%d of 100 readers did not get the pulled value", wrong)
	}
}

func infoInt(t *testing.T, c *redis.Client, field string) int64 {
	t.Helper()
	info := c.Info(t.Context()).Val()
	for _, line := range strings.Split(info, "\r\n") {
		var n int64
		if _, err := fmt.Sscanf(line, field+":%d", &n); err == nil {
			return n
		}
	}
	t.Fatalf("INFO has no %s:\n%s", field, info)
	return 0
}

// TestDatabaseErrorFailsClosed invalidates a key whose pull fails: the old value never comes
// back.
func TestDatabaseErrorFailsClosed(t *testing.T) {
	p := startCoherentPair(t, true)
	ctx := t.Context()
	c := redis.NewClient(&redis.Options{Addr: p.addrs[0], Protocol: 2})
	defer c.Close()
	c.Get(ctx, "broken:1")
	c.Set(ctx, "broken:1", "old", 0)
	if err := c.Del(ctx, "broken:1").Err(); err != nil {
		t.Fatalf("DEL: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if got, err := c.Get(ctx, "broken:1").Result(); got == "old" {
		t.Errorf("GET after an invalidation whose pull failed = %q, %v; want a miss", got, err)
	}
	if n := infoInt(t, c, "coherence_pull_errors"); n == 0 {
		t.Error("coherence_pull_errors = 0; want the failed pull counted")
	}
}

func TestNonCoherentKeysUntouched(t *testing.T) {
	p := startCoherentPair(t, true)
	ctx := t.Context()
	c := redis.NewClient(&redis.Options{Addr: p.addrs[0], Protocol: 2})
	defer c.Close()
	c.Set(ctx, "plain:1", "v", 0)
	if got := c.Get(ctx, "plain:1").Val(); got != "v" {
		t.Errorf("GET of a key no source covers = %q; want v", got)
	}
	if n := c.Del(ctx, "plain:1", "user:9").Val(); n != 2 {
		t.Errorf("DEL of a plain and a coherent key = %d; want 2", n)
	}
	if _, err := net.Dial("tcp", p.addrs[1]); err != nil {
		t.Fatal(err)
	}
}

func TestCoherentKeysRefuseWritesAroundTheDirectory(t *testing.T) {
	p := startCoherentPair(t, true)
	c := dialRaw(t, p.addrs[0])
	c.send("INCR user:5\r\n")
	c.expect("-ERR discoh: 'incr' would write a coherent key around the coherence directory")
	c.r.ReadString('\n')
	c.send("SET user:5 x NX\r\n")
	c.expect("-ERR discoh: 'set' would write a coherent key")
	c.r.ReadString('\n')
	c.send("*2\r\n$3\r\nGET\r\n$13\r\nuser:5\x00discoh\r\n")
	c.expect("-ERR discoh: keys ending in")
	c.r.ReadString('\n')
	c.send("MULTI\r\nDEL user:5\r\nEXEC\r\n")
	c.expect("+OK\r\n-ERR discoh: coherent keys are not supported inside MULTI\r\n-EXECABORT")
}

// TestWriteThrough: a write-through app updates the row, then SETs the new value, with no miss
// before it, through either instance. discoh used to answer OK and drop the SET, leaving the
// old value cached for good; now every read after the SET sees the new value (or a miss), on
// both protocols, as with a plain cache.
func TestWriteThrough(t *testing.T) {
	for _, isRedis := range []bool{true, false} {
		t.Run(map[bool]string{true: "redis", false: "memcached"}[isRedis], func(t *testing.T) {
			p := startCoherentPair(t, isRedis)
			kvs := []kv{mcKV{memcache.New(p.addrs[0])}, mcKV{memcache.New(p.addrs[1])}}
			if isRedis {
				kvs = []kv{redisKV{redis.NewClient(&redis.Options{Addr: p.addrs[0]})},
					redisKV{redis.NewClient(&redis.Options{Addr: p.addrs[1]})}}
			}
			key := "user:7"
			p.write(t, 7, "v0")
			if _, hit := kvs[0].get(t, key); hit {
				t.Fatal("first read hit; want a miss")
			}
			kvs[0].set(t, key, "v0") // the look-aside fill after the miss: stored
			for i := 1; i <= 5; i++ {
				v := fmt.Sprintf("v%d", i)
				p.write(t, 7, v)        // UPDATE, commit...
				kvs[i%2].set(t, key, v) // ...then SET the new value, through either instance
				for j, c := range kvs {
					if got, hit := c.get(t, key); hit && got != v {
						t.Errorf("write %d: instance %d reads %q; want %q or a miss", i, j, got, v)
					}
				}
			}
		})
	}
}

// TestSidecarsHidden: the coherence directory's sidecar keys are discoh's, not the client's:
// KEYS, SCAN and RANDOMKEY never return them.
func TestSidecarsHidden(t *testing.T) {
	p := startCoherentPair(t, true)
	ctx := t.Context()
	c := redis.NewClient(&redis.Options{Addr: p.addrs[0]})
	defer c.Close()
	p.write(t, 3, "row")
	c.Get(ctx, "user:3") // a miss: the sidecar holds the lease
	c.Set(ctx, "user:3", "row", 0)
	c.Set(ctx, "plain", "x", 0)
	c.Del(ctx, "user:3") // an invalidation: the sidecar holds the tombstone
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var scanned []string
	for cursor := uint64(0); ; {
		page, next, err := c.Scan(ctx, cursor, "*", 10).Result()
		if err != nil {
			t.Fatal(err)
		}
		scanned = append(scanned, page...)
		if cursor = next; cursor == 0 {
			break
		}
	}
	for _, k := range append(keys, scanned...) {
		if strings.HasSuffix(k, "\x00discoh") {
			t.Errorf("KEYS/SCAN returned the sidecar %q", k)
		}
	}
	if !slices.Contains(keys, "plain") || !slices.Contains(scanned, "plain") {
		t.Errorf("KEYS = %q, SCAN = %q; want plain among them", keys, scanned)
	}
	for range 20 {
		if k := c.RandomKey(ctx).Val(); strings.HasSuffix(k, "\x00discoh") {
			t.Fatalf("RANDOMKEY returned the sidecar %q", k)
		}
	}
}

// TestMGetWaitsForPulls: MGET reads coherent keys as GET does, waiting for the pull that an
// invalidation started, so right after a DEL it answers the new value, not a miss; keys no
// source covers come back in their places.
func TestMGetWaitsForPulls(t *testing.T) {
	p := startCoherentPair(t, true)
	ctx := t.Context()
	c := redis.NewClient(&redis.Options{Addr: p.addrs[0]})
	defer c.Close()
	c.Set(ctx, "plain:1", "x", 0)
	misses := 0
	for i := range 20 {
		v := fmt.Sprintf("v%d", i)
		p.write(t, 5, v)
		if err := c.Del(ctx, "user:5").Err(); err != nil {
			t.Fatal(err)
		}
		got, err := c.MGet(ctx, "plain:1", "user:5", "plain:nope").Result()
		if err != nil || len(got) != 3 || got[0] != "x" || got[2] != nil {
			t.Fatalf("MGET = %v, %v; want [x %s <nil>]", got, err, v)
		}
		switch got[1] {
		case v:
		case nil:
			misses++
		default:
			t.Fatalf("MGET user:5 = %v; want %s", got[1], v)
		}
	}
	if misses > 0 {
		t.Errorf("%d of 20 MGETs right after a DEL missed; want the pulled value each time", misses)
	}
}

// TestMemcacheDiscohCommand: memcached clients reach DISCOH READ and PULL as discoh read|pull
// <key>, answered as a get of that key.
func TestMemcacheDiscohCommand(t *testing.T) {
	p := startCoherentPair(t, false)
	p.write(t, 1, "fresh")
	conn, err := net.Dial("tcp", p.addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, tc := range []struct{ send, want string }{
		{"discoh pull user:1\r\n", "VALUE user:1 0 5\r\nfresh\r\nEND\r\n"},
		{"discoh read user:1\r\n", "VALUE user:1 0 5\r\nfresh\r\nEND\r\n"},
		{"discoh pull user:999\r\n", "END\r\n"},
		{"discoh read plain:1\r\n", "CLIENT_ERROR discoh: key 'plain:1' is not covered by a coherence source\r\n"},
		{"discoh sync user:1\r\n", "CLIENT_ERROR discoh subcommands: read <key>, pull <key>\r\n"},
		{"discoh read\r\n", "CLIENT_ERROR bad command line format\r\n"},
	} {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte(tc.send)); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(tc.want))
		if _, err := io.ReadFull(conn, got); err != nil || string(got) != tc.want {
			t.Errorf("%q answered %q, %v; want %q", tc.send, got, err, tc.want)
		}
	}
}

// TestClientThatHangsUpEndsItsWait: a client reading a key whose pull is slow waits for the
// pull (at most read_wait); when it hangs up meanwhile, its wait ends with it and its
// connection is gone at once, not once the pull is done.
func TestClientThatHangsUpEndsItsWait(t *testing.T) {
	for _, isRedis := range []bool{true, false} {
		t.Run(map[bool]string{true: "redis", false: "memcached"}[isRedis], func(t *testing.T) {
			p := startCoherentPoolWith(t, isRedis, "", "  read_wait: 10s\n  pull_timeout: 10s\n")
			p.write(t, 1, "v1")
			admin := dialRaw(t, p.addrs[0])
			admin.nc.SetDeadline(time.Now().Add(30 * time.Second))
			del, get := "DEL slow:1\r\n", "GET slow:1\r\n"
			if !isRedis {
				del, get = "delete slow:1\r\n", "get slow:1\r\n"
			}
			admin.send(del) // starts a pull that takes slowPull
			if line, err := admin.r.ReadString('\n'); err != nil || line[0] == '-' || strings.Contains(line, "ERROR") {
				t.Fatalf("%q: %q, %v", del, line, err)
			}
			reader := dialRaw(t, p.addrs[0])
			reader.send(get)
			time.Sleep(300 * time.Millisecond) // the reader now waits for the pull
			if n := clientsOf(t, admin, isRedis); n != 2 {
				t.Fatalf("%d clients while the reader waits; want 2", n)
			}
			reader.nc.Close()
			start := time.Now()
			for clientsOf(t, admin, isRedis) != 1 && time.Since(start) < 2*slowPull {
				time.Sleep(20 * time.Millisecond)
			}
			took := time.Since(start)
			t.Logf("the reader's connection was gone %v after it hung up (the pull takes %v)", took, slowPull)
			if took > time.Second {
				t.Errorf("the reader's connection stayed %v after it hung up; want it gone well before the pull's %v", took, slowPull)
			}
		})
	}
}

// clientsOf asks discoh through c how many clients it serves (INFO or stats).
func clientsOf(t *testing.T, c *rawConn, isRedis bool) int64 {
	t.Helper()
	req, end, name := "stats\r\n", "END\r\n", "discoh_curr_connections"
	if isRedis {
		req, end, name = "INFO clients\r\n", "\r\n\r\n", "connected_clients"
	}
	c.send(req)
	var text strings.Builder
	for !strings.HasSuffix(text.String(), end) {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("%q: %v after %q", req, err, text.String())
		}
		text.WriteString(line)
	}
	if !isRedis {
		return statInt(t, statsOf(t, []byte(text.String())), name)
	}
	_, rest, _ := strings.Cut(text.String(), name+":")
	n, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(rest, "\r\n", 2)[0]), 10, 64)
	if err != nil {
		t.Fatalf("INFO clients: no %s in %q", name, text.String())
	}
	return n
}
