package proxy

import (
	"bytes"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/backends/health"
	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/internal/testproc"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/resp"
)

// The steady-state GET/SET path, one request per batch as a frontend connection serves it:
// parse the request from the client's bytes, Dispatch it, Flush the reply. Backends are real
// servers; the backend connections' reader and writer goroutines run as in production.

const hotKeys = 8

var hotValue = bytes.Repeat([]byte("v"), 64)

// hotCase is one request type: the requests for each key and the reply each gets.
type hotCase struct {
	name      string
	reqs      [hotKeys][]byte
	wants     [hotKeys][]byte
	memcached bool
}

func hotCases() []hotCase {
	cases := []hotCase{{name: "RedisGET"}, {name: "RedisSET"},
		{name: "MemcacheGet", memcached: true}, {name: "MemcacheSet", memcached: true}}
	for i := range hotKeys {
		key := "key:" + strconv.Itoa(i)
		val := string(hotValue)
		cases[0].reqs[i] = resp.AppendCommand(nil, []byte("GET"), []byte(key))
		cases[0].wants[i] = resp.AppendBulk(nil, hotValue)
		cases[1].reqs[i] = resp.AppendCommand(nil, []byte("SET"), []byte(key), hotValue)
		cases[1].wants[i] = []byte("+OK\r\n")
		cases[2].reqs[i] = []byte("get " + key + "\r\n")
		cases[2].wants[i] = []byte("VALUE " + key + " 0 64\r\n" + val + "\r\nEND\r\n")
		cases[3].reqs[i] = []byte("set " + key + " 0 0 64\r\n" + val + "\r\n")
		cases[3].wants[i] = []byte("STORED\r\n")
	}
	return cases
}

// hotPool builds a one-server pool as cmd/discoh's startPool does for a pool with default
// settings: default timeout and connections, the protocol's framer, failover with health
// tracking and a replay queue.
func hotPool(tb testing.TB, memcached bool, addr string) *backends.Pool {
	tb.Helper()
	pc := config.DefaultPool("hot")
	opts := backends.Options{Timeout: pc.Timeout, Conns: pc.ServerConnections}
	proto := RedisProtocol()
	if memcached {
		opts.Framer, proto = MemcacheFramer, MemcacheProtocol()
	} else {
		opts.Framer, opts.Handshake = backends.RedisFramer, backends.RedisHandshake(pc.RedisAuth)
	}
	h := health.DefaultConfig()
	h.FailureLimit, h.RetryTimeout = pc.ServerFailureLimit, pc.ServerRetryTimeout
	h.MaxBackoff = max(h.MaxBackoff, h.RetryTimeout)
	pool, err := backends.NewPool(backends.PoolConfig{
		Name: pc.Name, Servers: []backends.ServerSpec{{Addr: addr, Weight: 1}}, Hash: pc.Hash,
		Distribution: pc.Distribution, HashTag: pc.HashTag, Replicas: pc.Replicas,
		AutoEject: pc.AutoEjectHosts, Options: opts,
		Failover: &backends.Failover{Health: h, DataDir: tb.TempDir(),
			ReplayLimit: backends.DefaultReplayLimit, Protocol: proto},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// hotSession is one client's session and the state its connection keeps between requests.
type hotSession struct {
	tb    testing.TB
	tc    *hotCase
	next  int
	out   []byte
	spill func([]byte) error

	redis    *Session
	rparser  resp.Parser
	rlimits  resp.Limits
	mc       *MemcacheSession
	mparser  mcproto.Parser
	mreq     mcproto.Request
	mclimits mcproto.Limits

	looped bool      // as an event loop serves it: Await, then Flush once Ready
	ready  chan bool // Ready's calls
}

func newHotSession(tb testing.TB, tc *hotCase, pool *backends.Pool) *hotSession {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := config.DefaultClientLimits()
	h := &hotSession{tb: tb, tc: tc, spill: func([]byte) error { return nil }, ready: make(chan bool, 1)}
	if tc.memcached {
		h.mc = NewMemcache("hot", "", pool, log).NewSession(hotClient{}).(*MemcacheSession)
		h.mclimits = mcproto.Limits{ItemSizeMax: l.ItemSizeMax}
	} else {
		r := NewRedis("hot", "", pool, log)
		r.MaxReplyBytes = l.MaxPendingOutputBytes
		h.redis = r.NewSession(hotClient{}).(*Session)
		h.rlimits = resp.Limits{MaxArgs: l.MaxArgs, MaxBulk: l.MaxBulkBytes, MaxInline: l.MaxInlineBytes}
	}
	tb.Cleanup(h.close)
	return h
}

// do serves the next key's request and checks its reply.
func (h *hotSession) do() {
	i := h.next
	h.next = (h.next + 1) % hotKeys
	req := h.tc.reqs[i]
	var err error
	if h.redis != nil {
		n, args, _, perr := h.rparser.Parse(req, h.rlimits)
		if perr != nil || n != len(req) {
			h.tb.Fatalf("parse %q: n=%d err=%v", req, n, perr)
		}
		h.redis.Dispatch(args, req[:n])
		h.await(h.redis)
		h.out, err = h.redis.Flush(h.out[:0], h.spill)
	} else {
		n, perr := h.mparser.Parse(req, h.mclimits, &h.mreq)
		if perr != nil || n != len(req) {
			h.tb.Fatalf("parse %q: n=%d err=%v", req, n, perr)
		}
		h.mc.Dispatch(&h.mreq)
		h.await(h.mc)
		h.out, err = h.mc.Flush(h.out[:0], h.spill)
	}
	if err != nil || !bytes.Equal(h.out, h.tc.wants[i]) {
		h.tb.Fatalf("reply to %q: got %q, %v; want %q", req, h.out, err, h.tc.wants[i])
	}
}

// await waits as an event loop does: Await, then Ready from the goroutine completing the call.
func (h *hotSession) await(a interface {
	Await(frontend.Waker) (pending, ok bool)
}) {
	if !h.looped {
		return
	}
	pending, ok := a.Await(h)
	if !ok {
		h.tb.Fatalf("Await refused a plain request")
	}
	if pending {
		<-h.ready
	}
}

// Ready implements frontend.Waker.
func (h *hotSession) Ready(slow bool) { h.ready <- slow }

func (h *hotSession) close() {
	if h.redis != nil {
		h.redis.Close()
	} else {
		h.mc.Close()
	}
}

// hotClient is a client connection that never hangs up.
type hotClient struct{}

func (hotClient) RemoteAddr() string         { return "127.0.0.1:1" }
func (hotClient) Watch(func()) (stop func()) { return func() {} }
func (hotClient) Looped() bool               { return false }

// hotServers starts one redis-server and one memcached, and fills every key on both, so the
// GETs hit.
func hotServers(tb testing.TB) (redisAddr, memcachedAddr string) {
	tb.Helper()
	redisAddr, memcachedAddr = testproc.Redis(tb).Addr, testproc.Memcached(tb).Addr
	cases := hotCases()
	for _, tc := range []*hotCase{&cases[1], &cases[3]} {
		h := newHotSession(tb, tc, hotPool(tb, tc.memcached, hotAddr(tc, redisAddr, memcachedAddr)))
		for range hotKeys {
			h.do()
		}
	}
	return redisAddr, memcachedAddr
}

func hotAddr(tc *hotCase, redisAddr, memcachedAddr string) string {
	if tc.memcached {
		return memcachedAddr
	}
	return redisAddr
}

// warmUp is how many requests run before counting: buffers grow and pools fill first.
const warmUp = 500

func benchHot(b *testing.B, name string) {
	redisAddr, memcachedAddr := hotServers(b)
	for _, tc := range hotCases() {
		if tc.name != name {
			continue
		}
		h := newHotSession(b, &tc, hotPool(b, tc.memcached, hotAddr(&tc, redisAddr, memcachedAddr)))
		for range warmUp {
			h.do()
		}
		b.ReportAllocs()
		for b.Loop() {
			h.do()
		}
	}
}

func BenchmarkRedisGET(b *testing.B)    { benchHot(b, "RedisGET") }
func BenchmarkRedisSET(b *testing.B)    { benchHot(b, "RedisSET") }
func BenchmarkMemcacheGet(b *testing.B) { benchHot(b, "MemcacheGet") }
func BenchmarkMemcacheSet(b *testing.B) { benchHot(b, "MemcacheSet") }

// TestHotPathAllocs checks that a steady-state GET or SET allocates nothing anywhere in the
// process: parsing, dispatch, the backend connection's writer and reader, the flush.
func TestHotPathAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random, so calls allocate")
	}
	redisAddr, memcachedAddr := hotServers(t)
	for _, tc := range hotCases() {
		for _, looped := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/goroutine", true: "/event_loop"}[looped]
			t.Run(name, func(t *testing.T) {
				h := newHotSession(t, &tc, hotPool(t, tc.memcached, hotAddr(&tc, redisAddr, memcachedAddr)))
				h.looped = looped
				for range warmUp {
					h.do()
				}
				if allocs := testing.AllocsPerRun(1000, h.do); allocs != 0 {
					t.Errorf("got %v allocations per request; want 0", allocs)
				}
			})
		}
	}
}

func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
