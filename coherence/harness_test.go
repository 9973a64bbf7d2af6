package coherence

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/discoh/discoh/coherence/db"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/coherence/internal/rawconn"
	"github.com/discoh/discoh/coherence/source"
	"github.com/discoh/discoh/internal/testdb"
	"github.com/discoh/discoh/internal/testproc"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/resp"
)

// cache is a real cache server and what the tests do to it behind the directories' backs.
type cache struct {
	name     string
	newGuard func() guard.Guard // a guard over a connection of its own
	evict    func(t *testing.T, key string)
	kill     func()
	plain    plainClient // a client talking to the server with no directory in between
}

// plainClient is the look-aside API of an application that talks to the cache directly.
type plainClient interface {
	get(t *testing.T, key string) (string, bool)
	set(t *testing.T, key, value string)
	del(t *testing.T, key string)
}

func redisCache(t *testing.T) *cache {
	p := testproc.Redis(t)
	plain := &plainRedis{do: rawconn.NewRedis(p.Addr)}
	t.Cleanup(plain.do.Close)
	return &cache{
		name: "redis",
		newGuard: func() guard.Guard {
			do := rawconn.NewRedis(p.Addr)
			t.Cleanup(do.Close)
			return guard.NewRedis(do)
		},
		evict: func(t *testing.T, key string) { plain.cmd(t, "DEL", string(guard.RedisSidecar([]byte(key)))) },
		kill:  p.Kill,
		plain: plain,
	}
}

func memcacheCache(t *testing.T) *cache {
	p := testproc.Memcached(t)
	plain := &plainMemcache{do: rawconn.NewMemcache(p.Addr)}
	t.Cleanup(plain.do.Close)
	return &cache{
		name: "memcache",
		newGuard: func() guard.Guard {
			do := rawconn.NewMemcache(p.Addr)
			t.Cleanup(do.Close)
			return guard.NewMemcache(do)
		},
		evict: plain.del, // the guard state and the value are one item
		kill:  p.Kill,
		plain: plain,
	}
}

// caches are the servers every guarantee is tested on.
var caches = []func(t *testing.T) *cache{redisCache, memcacheCache}

// forEachCache runs test once per kind of cache server.
func forEachCache(t *testing.T, test func(t *testing.T, c *cache)) {
	for _, newCache := range caches {
		c := newCache(t)
		t.Run(c.name, func(t *testing.T) { test(t, c) })
	}
}

type plainRedis struct{ do *rawconn.Redis }

func (r *plainRedis) cmd(t *testing.T, args ...string) []byte {
	t.Helper()
	var bs [][]byte
	for _, a := range args {
		bs = append(bs, []byte(a))
	}
	reply, err := r.do.Do(context.Background(), nil, bs...)
	if err != nil || resp.IsError(reply) {
		t.Fatalf("%v: %q, %v", args, reply, err)
	}
	return reply
}

func (r *plainRedis) get(t *testing.T, key string) (string, bool) {
	b, isNull, err := resp.ParseBulk(r.cmd(t, "GET", key))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), !isNull
}

func (r *plainRedis) set(t *testing.T, key, value string) { r.cmd(t, "SET", key, value) }
func (r *plainRedis) del(t *testing.T, key string)        { r.cmd(t, "DEL", key) }

type plainMemcache struct{ do *rawconn.Memcache }

func (m *plainMemcache) req(t *testing.T, req string, kind mcproto.Kind) []byte {
	t.Helper()
	reply, err := m.do.Do(context.Background(), nil, []byte(req), kind)
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	return reply
}

func (m *plainMemcache) get(t *testing.T, key string) (string, bool) {
	v, _, ok, err := mcproto.NextValue(m.req(t, "get "+key+"\r\n", mcproto.Get))
	if err != nil {
		t.Fatal(err)
	}
	return string(v.Data), ok
}

func (m *plainMemcache) set(t *testing.T, key, value string) {
	m.req(t, "set "+key+" 0 0 "+strconv.Itoa(len(value))+"\r\n"+value+"\r\n", mcproto.Set)
}

func (m *plainMemcache) del(t *testing.T, key string) { m.req(t, "delete "+key+"\r\n", mcproto.Delete) }

// world is the setting of every guarantee test: a users table in PostgreSQL, one cache server,
// and two discoh instances (directories with their own cache connections and database pools)
// in front of it.
type world struct {
	*cache
	admin  *sql.DB
	table  string
	a, b   *Directory
	probes [2]*probe // the pullers of a and b
}

// options of a world, for tests that need short windows or many pulls.
type options struct {
	cfg   Config
	query string // the source's query; {t} is the table
}

const defaultQuery = "SELECT body, version FROM {t} WHERE id = $1 AND nextval('{t}_pulls') > 0"

func newWorld(t *testing.T, c *cache, opts options) *world {
	t.Helper()
	w := &world{cache: c, admin: testdb.Open(t, "pgx", testdb.PostgresDSN)}
	w.table = testdb.Table(t, w.admin, "CREATE TABLE {t} (id int PRIMARY KEY, body text NOT NULL, version bigint NOT NULL)")
	testdb.Exec(t, w.admin, w.table, "CREATE SEQUENCE {t}_pulls")
	t.Cleanup(func() { w.admin.Exec("DROP SEQUENCE IF EXISTS " + w.table + "_pulls") })
	if opts.query == "" {
		opts.query = defaultQuery
	}
	if opts.cfg.Revalidate == 0 {
		opts.cfg.Revalidate = time.Hour // the tests of first pulls see no recheck; see TestRevalidate
	}
	// Worlds share cache servers: each names its keys after its own table.
	src := source.Source{Pattern: w.table + ":{id}", Database: "main", Query: strings.ReplaceAll(opts.query, "{t}", w.table),
		TTL: time.Minute, Flags: 7}
	w.a, w.probes[0] = w.instance(t, src, opts.cfg)
	w.b, w.probes[1] = w.instance(t, src, opts.cfg)
	return w
}

func (w *world) instance(t *testing.T, src source.Source, cfg Config) (*Directory, *probe) {
	t.Helper()
	sources, err := source.NewSet([]source.Source{src})
	if err != nil {
		t.Fatal(err)
	}
	dbs, err := db.Open(t.Context(), []db.Config{{Name: "main", Driver: "postgres", DSN: testdb.PostgresDSN}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dbs.Close() })
	p := &probe{inner: dbs}
	d, err := New(sources, p, w.newGuard(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, p
}

// write commits body as user id's row, as the application's write path does before its DEL.
func (w *world) write(t *testing.T, id int, body string) {
	t.Helper()
	testdb.Exec(t, w.admin, w.table, `INSERT INTO {t} (id, body, version) VALUES ($1, $2, 1)
		ON CONFLICT (id) DO UPDATE SET body = $2, version = {t}.version + 1`, id, body)
}

// readDB is the application's own read of the row, on a miss.
func (w *world) readDB(t *testing.T, id int) string {
	t.Helper()
	var body string
	if err := w.admin.QueryRow("SELECT body FROM "+w.table+" WHERE id = $1", id).Scan(&body); err != nil {
		t.Fatal(err)
	}
	return body
}

// dbPulls counts the pulls PostgreSQL ran, from the sequence the query advances.
func (w *world) dbPulls(t *testing.T) int64 {
	t.Helper()
	var n int64
	var called bool
	err := w.admin.QueryRow("SELECT last_value, is_called FROM "+w.table+"_pulls").Scan(&n, &called)
	if err != nil {
		t.Fatal(err)
	}
	if !called {
		return 0
	}
	return n
}

// key is the cache key of user id.
func (w *world) key(id int) []byte { return []byte(w.table + ":" + strconv.Itoa(id)) }

// read reads through d and fails the test on error.
func (w *world) read(t *testing.T, d *Directory, id int) (string, bool) {
	t.Helper()
	v, hit, err := d.Read(t.Context(), w.key(id))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return string(v.Data), hit
}

func (w *world) invalidate(t *testing.T, d *Directory, id int) {
	t.Helper()
	if err := d.Invalidate(t.Context(), w.key(id)); err != nil {
		t.Fatalf("Invalidate: %v", err)
	}
}

func (w *world) fill(t *testing.T, d *Directory, id int, body string) guard.Outcome {
	t.Helper()
	out, err := d.Fill(t.Context(), w.key(id), guard.Value{Data: []byte(body)})
	if err != nil {
		t.Fatalf("Fill: %v", err)
	}
	return out
}

// cached puts body in the cache as the application's look-aside read does: a miss, then a
// fill, which must be stored.
func (w *world) cached(t *testing.T, d *Directory, id int, body string) {
	t.Helper()
	if got, hit := w.read(t, d, id); hit {
		t.Fatalf("Read = %q; want a miss before the fill", got)
	}
	if out := w.fill(t, d, id, body); out != guard.Stored {
		t.Fatalf("Fill = %v; want stored", out)
	}
}

// wantFresh reads through both instances and fails if either returns anything but want
// (or, when missOK, a miss).
func (w *world) wantFresh(t *testing.T, id int, want string, missOK bool) {
	t.Helper()
	for i, d := range []*Directory{w.a, w.b} {
		got, hit := w.read(t, d, id)
		if hit && got != want || !hit && !missOK {
			t.Errorf("instance %c: Read = %q, hit %v; want %q", 'A'+i, got, hit, want)
		}
	}
}

// eventually polls cond for up to two seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// probe wraps a directory's puller: it counts queries, and can hold the next query before
// or after it reads the database, to stage races.
type probe struct {
	inner   Puller
	queries atomic.Int64
	next    atomic.Pointer[hold]
}

// hold stops one query: reached is closed when the query gets there, and it waits for
// release.
type hold struct {
	afterQuery bool
	reached    chan struct{}
	release    chan struct{}
	once       sync.Once
}

// holdNext makes the next query wait, before it reads the database or after.
func (p *probe) holdNext(afterQuery bool) *hold {
	h := &hold{afterQuery: afterQuery, reached: make(chan struct{}), release: make(chan struct{})}
	p.next.Store(h)
	return h
}

// Release lets the held query go on; it is safe to call twice.
func (h *hold) Release() { h.once.Do(func() { close(h.release) }) }

func (p *probe) Pull(ctx context.Context, src *source.Source, params []any) (db.Row, error) {
	h := p.next.Swap(nil)
	if h != nil && !h.afterQuery {
		h.wait(ctx)
	}
	p.queries.Add(1)
	row, err := p.inner.Pull(ctx, src, params)
	if h != nil && h.afterQuery {
		h.wait(ctx)
	}
	return row, err
}

func (h *hold) wait(ctx context.Context) {
	close(h.reached)
	select {
	case <-h.release:
	case <-ctx.Done():
	}
}

// settle waits until the background pulls of both instances have ended.
func (w *world) settle() {
	w.a.background.Wait()
	w.b.background.Wait()
}
