package guard

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/discoh/discoh/coherence/internal/rawconn"
	"github.com/discoh/discoh/internal/testproc"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/resp"
)

// rig is one guard implementation over a real server, with the hooks the suite needs.
type rig struct {
	g      Guard
	window time.Duration
	pass   func(d time.Duration)             // let d go by on the guard's clock
	evict  func(t *testing.T, key []byte)    // drop key's guard state, as memory pressure would
	legacy func(t *testing.T, key, v []byte) // store v as a client talking to the server would
}

// TestRedis and TestMemcache run one behaviour suite on both implementations.
func TestRedis(t *testing.T)    { testGuard(t, redisRig(t)) }
func TestMemcache(t *testing.T) { testGuard(t, memcacheRig(t)) }

func redisRig(t *testing.T) *rig {
	do := rawconn.NewRedis(testproc.Redis(t).Addr)
	t.Cleanup(do.Close)
	return &rig{
		g: NewRedis(do), window: 400 * time.Millisecond, pass: time.Sleep, // Redis keeps time
		evict:  func(t *testing.T, key []byte) { redisCmd(t, do, "DEL", string(RedisSidecar(key))) },
		legacy: func(t *testing.T, key, v []byte) { redisCmd(t, do, "SET", string(key), string(v)) },
	}
}

func redisCmd(t *testing.T, do *rawconn.Redis, args ...string) []byte {
	t.Helper()
	var bs [][]byte
	for _, a := range args {
		bs = append(bs, []byte(a))
	}
	reply, err := do.Do(t.Context(), nil, bs...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return reply
}

// fakeClock is the memcached guard's clock in tests, moved by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func memcacheRig(t *testing.T) *rig {
	do := rawconn.NewMemcache(testproc.Memcached(t).Addr)
	t.Cleanup(do.Close)
	clock := &fakeClock{now: time.Now()}
	m := NewMemcache(do)
	m.now = clock.Now
	return &rig{
		g: m, window: 60 * time.Second, pass: clock.Advance,
		evict:  func(t *testing.T, key []byte) { mcCmd(t, do, "delete "+string(key)+"\r\n", mcproto.Delete) },
		legacy: func(t *testing.T, key, v []byte) { mcSet(t, do, key, v, 5) },
	}
}

func mcCmd(t *testing.T, do *rawconn.Memcache, req string, kind mcproto.Kind) []byte {
	t.Helper()
	reply, err := do.Do(t.Context(), nil, []byte(req), kind)
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	return reply
}

func mcSet(t *testing.T, do *rawconn.Memcache, key, v []byte, flags int) {
	t.Helper()
	req := fmt.Appendf(nil, "set %s %d 0 %d\r\n%s\r\n", key, flags, len(v), v)
	if reply, err := do.Do(t.Context(), nil, req, mcproto.Set); err != nil || string(reply) != "STORED\r\n" {
		t.Fatalf("set: %q, %v", reply, err)
	}
}

func testGuard(t *testing.T, r *rig) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, r, []byte("user:"+strings.ReplaceAll(tc.name, " ", "_"))) })
	}
}

var suite = []struct {
	name string
	run  func(t *testing.T, r *rig, key []byte)
}{
	{"cold read then fill", testColdReadThenFill},
	{"fill before any read", testFillBeforeRead},
	{"invalidate then install", testInvalidateThenInstall},
	{"invalidate drops value", testInvalidateDropsValue},
	{"stale install", testStaleInstall},
	{"fill after window needs a new lease", testFillAfterWindow},
	{"install absent", testInstallAbsent},
	{"late install", testLateInstall},
	{"evicted guard refuses fill", testEvictedGuardRefusesFill},
	{"evicted guard refuses install", testEvictedGuardRefusesInstall},
	{"versions grow across eviction", testVersionsGrowAcrossEviction},
	{"value expires", testValueExpires},
	{"legacy value", testLegacyValue},
}

func read(t *testing.T, r *rig, key []byte) Reading {
	t.Helper()
	got, err := r.g.Read(t.Context(), key, r.window)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return got
}

func wantRead(t *testing.T, r *rig, key []byte, state State, data string) Reading {
	t.Helper()
	got := read(t, r, key)
	if got.State != state || string(got.Value.Data) != data {
		t.Fatalf("Read = %v %q; want %v %q", got.State, got.Value.Data, state, data)
	}
	return got
}

func invalidate(t *testing.T, r *rig, key []byte) Version {
	t.Helper()
	v, err := r.g.Invalidate(t.Context(), key, r.window)
	if err != nil || v == 0 {
		t.Fatalf("Invalidate = %d, %v; want a version", v, err)
	}
	return v
}

func wantOutcome(t *testing.T, what string, got Outcome, err error, want Outcome) {
	t.Helper()
	if err != nil || got != want {
		t.Fatalf("%s = %v, %v; want %v", what, got, err, want)
	}
}

func fill(t *testing.T, r *rig, key []byte, data string, want Outcome) {
	t.Helper()
	out, err := r.g.Fill(t.Context(), key, Value{Data: []byte(data), Flags: 3})
	wantOutcome(t, "Fill "+data, out, err, want)
}

func install(t *testing.T, r *rig, key []byte, v Version, data string, want Outcome) {
	t.Helper()
	out, err := r.g.Install(t.Context(), key, v, Value{Data: []byte(data), Flags: 3})
	wantOutcome(t, "Install "+data, out, err, want)
}

func testColdReadThenFill(t *testing.T, r *rig, key []byte) {
	wantRead(t, r, key, Miss, "")
	fill(t, r, key, "v1", Stored)
	got := wantRead(t, r, key, Hit, "v1")
	if _, isMemcache := r.g.(*Memcache); isMemcache && got.Value.Flags != 3 {
		t.Errorf("flags = %d; want 3", got.Value.Flags)
	}
	fill(t, r, key, "v2", RefusedNoLease) // a second fill without a new miss
	wantRead(t, r, key, Hit, "v1")
}

func testFillBeforeRead(t *testing.T, r *rig, key []byte) {
	fill(t, r, key, "blind", GuardMissing)
	wantRead(t, r, key, Miss, "")
}

func testInvalidateThenInstall(t *testing.T, r *rig, key []byte) {
	v := invalidate(t, r, key)
	if got := wantRead(t, r, key, Pending, ""); got.Version != v {
		t.Fatalf("pending version %d; want %d", got.Version, v)
	}
	fill(t, r, key, "racing fill", RefusedWindow)
	install(t, r, key, v, "pulled", Stored)
	wantRead(t, r, key, Hit, "pulled")
	fill(t, r, key, "later fill", RefusedWindow)
}

func testInvalidateDropsValue(t *testing.T, r *rig, key []byte) {
	wantRead(t, r, key, Miss, "")
	fill(t, r, key, "old", Stored)
	invalidate(t, r, key)
	wantRead(t, r, key, Pending, "")
}

func testStaleInstall(t *testing.T, r *rig, key []byte) {
	v1 := invalidate(t, r, key)
	v2 := invalidate(t, r, key)
	if v2 <= v1 {
		t.Fatalf("versions %d then %d; want growing", v1, v2)
	}
	install(t, r, key, v1, "old pull", RefusedStale)
	wantRead(t, r, key, Pending, "")
	install(t, r, key, v2, "new pull", Stored)
	install(t, r, key, v1, "old pull again", RefusedStale)
	wantRead(t, r, key, Hit, "new pull")
}

// testFillAfterWindow is the stale-set race with a fill that arrives after the window: the
// invalidation took the lease the earlier read miss granted.
func testFillAfterWindow(t *testing.T, r *rig, key []byte) {
	wantRead(t, r, key, Miss, "") // the app misses and reads the database...
	invalidate(t, r, key)         // ...a writer changes the row and deletes the key...
	r.pass(r.window + 50*time.Millisecond)
	fill(t, r, key, "read before the write", RefusedNoLease) // ...the app's late set
	wantRead(t, r, key, Miss, "")                            // no pull installed: a new miss
	fill(t, r, key, "read after the miss", Stored)
	wantRead(t, r, key, Hit, "read after the miss")
}

func testInstallAbsent(t *testing.T, r *rig, key []byte) {
	v := invalidate(t, r, key)
	out, err := r.g.InstallAbsent(t.Context(), key, v)
	wantOutcome(t, "InstallAbsent", out, err, Stored)
	wantRead(t, r, key, Miss, "")
	fill(t, r, key, "inside window", RefusedWindow)
	out, err = r.g.InstallAbsent(t.Context(), key, v-1)
	wantOutcome(t, "InstallAbsent old version", out, err, RefusedStale)
}

// testLateInstall: a pull that ends after the window still installs if no newer
// invalidation came.
func testLateInstall(t *testing.T, r *rig, key []byte) {
	v := invalidate(t, r, key)
	r.pass(r.window + 50*time.Millisecond)
	wantRead(t, r, key, Miss, "")
	install(t, r, key, v, "slow pull", Stored)
	wantRead(t, r, key, Hit, "slow pull")
}

func testEvictedGuardRefusesFill(t *testing.T, r *rig, key []byte) {
	wantRead(t, r, key, Miss, "")
	r.evict(t, key)
	fill(t, r, key, "after eviction", GuardMissing)
	wantRead(t, r, key, Miss, "")
}

func testEvictedGuardRefusesInstall(t *testing.T, r *rig, key []byte) {
	v := invalidate(t, r, key)
	r.evict(t, key)
	install(t, r, key, v, "pulled", GuardMissing)
	out, err := r.g.InstallAbsent(t.Context(), key, v)
	wantOutcome(t, "InstallAbsent", out, err, GuardMissing)
	wantRead(t, r, key, Miss, "")
}

func testVersionsGrowAcrossEviction(t *testing.T, r *rig, key []byte) {
	v1 := invalidate(t, r, key)
	v2 := invalidate(t, r, key)
	r.pass(time.Millisecond) // versions count microseconds: the clock moves between requests
	r.evict(t, key)
	wantRead(t, r, key, Miss, "")
	v3 := invalidate(t, r, key)
	if !(v1 < v2 && v2 < v3) {
		t.Errorf("versions %d, %d, %d; want growing", v1, v2, v3)
	}
	install(t, r, key, v2, "pull for a lost version", RefusedStale)
}

func testValueExpires(t *testing.T, r *rig, key []byte) {
	wantRead(t, r, key, Miss, "")
	out, err := r.g.Fill(t.Context(), key, Value{Data: []byte("short"), TTL: 100 * time.Millisecond})
	wantOutcome(t, "Fill", out, err, Stored)
	wantRead(t, r, key, Hit, "short")
	r.pass(150 * time.Millisecond)
	wantRead(t, r, key, Miss, "")
	fill(t, r, key, "refill", Stored)
}

func testLegacyValue(t *testing.T, r *rig, key []byte) {
	r.legacy(t, key, []byte("stored directly"))
	wantRead(t, r, key, Hit, "stored directly")
	fill(t, r, key, "fill", GuardMissing)
	v := invalidate(t, r, key)
	wantRead(t, r, key, Pending, "")
	install(t, r, key, v, "pulled", Stored)
	wantRead(t, r, key, Hit, "pulled")
}

// TestConcurrentInvalidations: invalidations racing on one key, from separate connections,
// each get their own version.
func TestConcurrentInvalidations(t *testing.T) {
	servers := map[string]func(t *testing.T) func() Guard{
		"redis": func(t *testing.T) func() Guard {
			addr := testproc.Redis(t).Addr
			return func() Guard { return NewRedis(rawconn.NewRedis(addr)) }
		},
		"memcache": func(t *testing.T) func() Guard {
			addr := testproc.Memcached(t).Addr
			return func() Guard { return NewMemcache(rawconn.NewMemcache(addr)) }
		},
	}
	for name, newGuard := range servers {
		t.Run(name, func(t *testing.T) {
			versions := invalidateConcurrently(t, newGuard(t), 8, 10)
			seen := make(map[Version]bool)
			for _, v := range versions {
				if seen[v] {
					t.Fatalf("version %d handed out twice", v)
				}
				seen[v] = true
			}
		})
	}
}

func invalidateConcurrently(t *testing.T, newGuard func() Guard, workers, each int) []Version {
	var mu sync.Mutex
	var versions []Version
	var wg sync.WaitGroup
	for range workers {
		g := newGuard()
		wg.Go(func() {
			for range each {
				v, err := g.Invalidate(context.Background(), []byte("hot"), time.Second)
				if err != nil {
					t.Errorf("Invalidate: %v", err)
					return
				}
				mu.Lock()
				versions = append(versions, v)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return versions
}

func TestRedisScriptReloadedAfterFlush(t *testing.T) {
	do := rawconn.NewRedis(testproc.Redis(t).Addr)
	g := NewRedis(do)
	key := []byte("k")
	invalidate(t, &rig{g: g, window: time.Second}, key)
	redisCmd(t, do, "SCRIPT", "FLUSH")
	if v, err := g.Invalidate(t.Context(), key, time.Second); err != nil || v == 0 {
		t.Fatalf("Invalidate after SCRIPT FLUSH = %d, %v; want the EVAL fallback to work", v, err)
	}
}

// TestRedisSidecarLifetime: the sidecar lives through the window, and as long as the value.
func TestRedisSidecarLifetime(t *testing.T) {
	do := rawconn.NewRedis(testproc.Redis(t).Addr)
	g := NewRedis(do)
	key := []byte("k")
	pttl := func(key string) int64 {
		n, err := resp.ParseInt(redisCmd(t, do, "PTTL", string(RedisSidecar([]byte(key)))))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	v, _ := g.Invalidate(t.Context(), key, 5*time.Second)
	if got := pttl("k"); got < 9000 || got > 10000 {
		t.Errorf("sidecar PTTL after invalidate = %d; want about twice the 5s window", got)
	}
	g.Install(t.Context(), key, v, Value{Data: []byte("x"), TTL: 20 * time.Second})
	if got := pttl("k"); got < 19000 || got > 20000 {
		t.Errorf("sidecar PTTL with a 20s value = %d; want about 20s", got)
	}
	g.Invalidate(t.Context(), key, time.Second)
	v, _ = g.Invalidate(t.Context(), key, 5*time.Second)
	g.Install(t.Context(), key, v, Value{Data: []byte("x")})
	if got := pttl("k"); got != -1 {
		t.Errorf("sidecar PTTL with a value that never expires = %d; want -1", got)
	}
	g.Read(t.Context(), []byte("fresh"), 3*time.Second)
	if got := pttl("fresh"); got < 2000 || got > 3000 {
		t.Errorf("sidecar PTTL after a first miss = %d; want about the 3s lease", got)
	}
}

func TestRedisErrorReply(t *testing.T) {
	do := rawconn.NewRedis(testproc.Redis(t).Addr)
	redisCmd(t, do, "RPUSH", "list", "a")
	_, err := NewRedis(do).Read(t.Context(), []byte("list"), time.Second)
	if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Errorf("Read of a list = %v; want ErrBackend with WRONGTYPE", err)
	}
}

// TestMemcacheHeaderHidden: the item carries the header; Read returns the value alone.
func TestMemcacheHeaderHidden(t *testing.T) {
	do := rawconn.NewMemcache(testproc.Memcached(t).Addr)
	g := NewMemcache(do)
	key := []byte("k")
	v, _ := g.Invalidate(t.Context(), key, time.Minute)
	g.Install(t.Context(), key, v, Value{Data: []byte("body"), Flags: 9})
	raw := mcCmd(t, do, "gets k\r\n", mcproto.Gets)
	if !bytes.Contains(raw, []byte(headerMagic)) || !bytes.HasPrefix(raw, []byte("VALUE k 9 ")) {
		t.Errorf("raw item %q; want flags 9 and the header", raw)
	}
	got, err := g.Read(t.Context(), key, time.Minute)
	if err != nil || string(got.Value.Data) != "body" || got.Value.Flags != 9 {
		t.Errorf("Read = %+v, %v; want body with flags 9", got, err)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := header{version: 1<<60 + 5, windowEnd: 1700000000123, expires: 42, lease: 7, state: stateStored}
	data := append(h.append(nil), "value"...)
	got, value, ok := parseHeader(data)
	if !ok || got != h || string(value) != "value" {
		t.Errorf("parseHeader = %+v %q %v; want %+v \"value\"", got, value, ok, h)
	}
	for _, legacy := range []string{"", "plain", headerMagic} {
		if _, value, ok := parseHeader([]byte(legacy)); ok || string(value) != legacy {
			t.Errorf("parseHeader(%q) = %q, %v; want the data as it is", legacy, value, ok)
		}
	}
}

func TestExptime(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		until time.Time
		want  int64
	}{
		{time.Time{}, 0},
		{now.Add(1500 * time.Millisecond), 2},
		{now.Add(time.Second), 1},
		{now.Add(-time.Second), 1},
		{now.Add(30 * 24 * time.Hour), 30 * 24 * 3600},
		{now.Add(31 * 24 * time.Hour), now.Unix() + 31*24*3600},
	}
	for _, tt := range tests {
		if got := exptime(now, tt.until); got != tt.want {
			t.Errorf("exptime(now+%v) = %d; want %d", tt.until.Sub(now), got, tt.want)
		}
	}
}

// losingCas is a memcached whose every cas finds the item changed, as under writers racing on
// one hot key.
type losingCas struct{ *rawconn.Memcache }

func (l losingCas) Do(ctx context.Context, key, req []byte, kind mcproto.Kind) ([]byte, error) {
	if kind == mcproto.Cas {
		return []byte("EXISTS\r\n"), nil
	}
	return l.Memcache.Do(ctx, key, req, kind)
}

// TestMemcacheInvalidateUnderContention: an invalidation whose every cas loses still takes
// effect, leaving its tombstone (not a deleted item, which would let the next miss grant a
// lease to a fill read before the write): it is acknowledged, reads see the key pending, and
// a fill is refused.
func TestMemcacheInvalidateUnderContention(t *testing.T) {
	do := rawconn.NewMemcache(testproc.Memcached(t).Addr)
	t.Cleanup(do.Close)
	key := []byte("user:hot")
	mcSet(t, do, key, []byte("old"), 0) // a value cached before any guard state
	g := NewMemcache(losingCas{do})
	v, err := g.Invalidate(t.Context(), key, time.Minute)
	if err != nil || v == 0 {
		t.Fatalf("Invalidate under contention = %d, %v; want it to take effect", v, err)
	}
	r, err := NewMemcache(do).Read(t.Context(), key, time.Second)
	if err != nil || r.State != Pending || r.Version != v {
		t.Fatalf("Read after = %+v, %v; want pending at version %d", r, err, v)
	}
	if out, err := NewMemcache(do).Fill(t.Context(), key, Value{Data: []byte("stale")}); err != nil || out == Stored {
		t.Errorf("Fill after = %v, %v; want it refused", out, err)
	}
}
