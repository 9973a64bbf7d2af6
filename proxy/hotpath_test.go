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

// The steady-state request path, one request per batch as a frontend connection serves it:
// parse the request from the client's bytes, Dispatch it, Flush the reply. Backends are real
// servers, two per protocol so multi-key requests are split; the backend connections' reader
// and writer goroutines run as in production.

const hotKeys = 8

var hotValue = bytes.Repeat([]byte("v"), 64)

// hotCase is one request type: the requests for each key and the reply each gets.
type hotCase struct {
	name      string
	reqs      [hotKeys][]byte
	wants     [hotKeys][]byte
	memcached bool
	resp3     bool // the client said HELLO 3 and named itself: state its sessions keep
}

// hotMulti is how many keys a multi-key request names: MGET, MSET, a memcached multi-get.
const hotMulti = 4

func hotKey(i int) string { return strconv.Itoa(i%hotKeys) + ":key" }

func hotCases() []hotCase {
	cases := []hotCase{{name: "RedisGET"}, {name: "RedisSET"},
		{name: "MemcacheGet", memcached: true}, {name: "MemcacheSet", memcached: true},
		{name: "RedisMGET"}, {name: "RedisMSET"}, {name: "MemcacheMultiGet", memcached: true}}
	val := string(hotValue)
	for i := range hotKeys {
		key := hotKey(i)
		cases[0].reqs[i] = resp.AppendCommand(nil, []byte("GET"), []byte(key))
		cases[0].wants[i] = resp.AppendBulk(nil, hotValue)
		cases[1].reqs[i] = resp.AppendCommand(nil, []byte("SET"), []byte(key), hotValue)
		cases[1].wants[i] = []byte("+OK\r\n")
		cases[2].reqs[i] = []byte("get " + key + "\r\n")
		cases[2].wants[i] = []byte("VALUE " + key + " 0 64\r\n" + val + "\r\nEND\r\n")
		cases[3].reqs[i] = []byte("set " + key + " 0 0 64\r\n" + val + "\r\n")
		cases[3].wants[i] = []byte("STORED\r\n")

		mget, mset, mcget := [][]byte{[]byte("MGET")}, [][]byte{[]byte("MSET")}, "get"
		cases[4].wants[i] = resp.AppendArrayLen(nil, hotMulti)
		for j := range hotMulti {
			k := hotKey(i + j)
			mget, mset, mcget = append(mget, []byte(k)), append(mset, []byte(k), hotValue), mcget+" "+k
			cases[4].wants[i] = resp.AppendBulk(cases[4].wants[i], hotValue)
			cases[6].wants[i] = append(cases[6].wants[i], "VALUE "+k+" 0 64\r\n"+val+"\r\n"...)
		}
		cases[4].reqs[i] = resp.AppendCommand(nil, mget...)
		cases[5].reqs[i] = resp.AppendCommand(nil, mset...)
		cases[5].wants[i] = []byte("+OK\r\n")
		cases[6].reqs[i] = []byte(mcget + "\r\n")
		cases[6].wants[i] = append(cases[6].wants[i], "END\r\n"...)
	}
	resp3 := cases[0]
	resp3.name, resp3.resp3 = "RedisGETResp3", true
	return append(cases, resp3)
}

// hotPool builds a pool of servers as cmd/discoh's startPool does for a pool with default
// settings: default timeout and connections, the protocol's framer, failover with health
// tracking and a replay queue. Every multi-key request of hotCases spans both servers.
func hotPool(tb testing.TB, memcached bool, addrs [2]string) *backends.Pool {
	tb.Helper()
	pc := config.DefaultPool("hot")
	opts := backends.Options{Timeout: pc.Timeout, Conns: pc.ServerConnections}
	proto := RedisProtocol()
	if memcached {
		opts.Framer, proto = MemcacheFramer, MemcacheProtocol()
	} else {
		opts.Framer, opts.Handshake = RedisFramer, RedisHandshake(pc.RedisAuth)
	}
	h := health.DefaultConfig()
	h.FailureLimit, h.RetryTimeout = pc.ServerFailureLimit, pc.ServerRetryTimeout
	h.MaxBackoff = max(h.MaxBackoff, h.RetryTimeout)
	pool, err := backends.NewPool(backends.PoolConfig{
		Name: pc.Name, Servers: []backends.ServerSpec{{Addr: addrs[0], Name: "s1", Weight: 1}, {Addr: addrs[1], Name: "s2", Weight: 1}}, Hash: pc.Hash,
		Distribution: pc.Distribution, HashTag: pc.HashTag, Replicas: pc.Replicas,
		AutoEject: pc.AutoEjectHosts, Options: opts,
		Failover: &backends.Failover{Health: h, DataDir: tb.TempDir(),
			ReplayLimit: backends.DefaultReplayLimit, Protocol: proto},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	for i := range hotKeys {
		keys := make([][]byte, hotMulti)
		for j := range keys {
			keys[j] = []byte(hotKey(i + j))
		}
		if pool.SameCopies(keys) {
			tb.Fatalf("keys %q all live on one server: the multi-key cases would not be split", keys)
		}
	}
	return pool
}

// hotSession is one client's session and the state its connection keeps between requests.
type hotSession struct {
	tb    testing.TB
	tc    *hotCase
	next  int
	out   []byte
	spill func([]byte) error

	r        *Redis
	redis    *Session
	rparser  resp.Parser
	rlimits  resp.Limits
	m        *Memcache
	mc       *MemcacheSession
	mparser  mcproto.Parser
	mreq     mcproto.Request
	mclimits mcproto.Limits

	looped bool      // as an event loop serves it: Await, then Flush once Ready, then Shed
	ready  chan bool // Ready's calls
	client *hotClient
}

func newHotSession(tb testing.TB, tc *hotCase, pool *backends.Pool) *hotSession {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := config.DefaultClientLimits()
	h := &hotSession{tb: tb, tc: tc, spill: func([]byte) error { return nil }, ready: make(chan bool, 1),
		client: new(hotClient)}
	if tc.memcached {
		h.m = NewMemcache("hot", "", pool, log)
		h.mc = h.m.NewSession(h.client).(*MemcacheSession)
		h.mclimits = mcproto.Limits{ItemSizeMax: l.ItemSizeMax}
	} else {
		h.r = NewRedis("hot", "", pool, log)
		h.r.MaxReplyBytes = l.MaxPendingOutputBytes
		h.redis = h.r.NewSession(h.client).(*Session)
		if tc.resp3 {
			h.redis.lane, h.redis.name = backends.LaneRESP3, "hot"
		}
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
		if h.looped {
			h.shed()
		}
	} else {
		n, perr := h.mparser.Parse(req, h.mclimits, &h.mreq)
		if perr != nil || n != len(req) {
			h.tb.Fatalf("parse %q: n=%d err=%v", req, n, perr)
		}
		h.mc.Dispatch(&h.mreq)
		h.await(h.mc)
		h.out, err = h.mc.Flush(h.out[:0], h.spill)
		if h.looped {
			h.shed()
		}
	}
	if err != nil || !bytes.Equal(h.out, h.tc.wants[i]) {
		h.tb.Fatalf("reply to %q: got %q, %v; want %q", req, h.out, err, h.tc.wants[i])
	}
}

// shed gives the session up and takes the next, as an event loop does between batches, and
// checks that what the client set survived.
func (h *hotSession) shed() {
	if h.redis != nil {
		if keep, shed := h.redis.Shed(); shed {
			h.client.kept = keep
			h.redis = h.r.NewSession(h.client).(*Session)
		}
		if h.tc.resp3 && (h.redis.lane != backends.LaneRESP3 || h.redis.name != "hot") {
			h.tb.Fatalf("HELLO 3 and the name were lost across a shed: lane %d, name %q", h.redis.lane, h.redis.name)
		}
		return
	}
	if keep, shed := h.mc.Shed(); shed {
		h.client.kept = keep
		h.mc = h.m.NewSession(h.client).(*MemcacheSession)
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
type hotClient struct{ kept any }

func (hotClient) RemoteAddr() string         { return "127.0.0.1:1" }
func (hotClient) Watch(func()) (stop func()) { return func() {} }
func (hotClient) Looped() bool               { return false }
func (hotClient) ID() uint64                 { return 1 }
func (c *hotClient) Kept() any               { return c.kept }

// hotServers starts two redis-servers and two memcached, and fills every key, so the GETs hit.
func hotServers(tb testing.TB) *hotAddrs {
	tb.Helper()
	a := &hotAddrs{
		redis:     [2]string{testproc.Redis(tb).Addr, testproc.Redis(tb).Addr},
		memcached: [2]string{testproc.Memcached(tb).Addr, testproc.Memcached(tb).Addr},
	}
	cases := hotCases()
	for _, tc := range []*hotCase{&cases[1], &cases[3]} {
		h := newHotSession(tb, tc, hotPool(tb, tc.memcached, a.of(tc)))
		for range hotKeys {
			h.do()
		}
	}
	return a
}

type hotAddrs struct{ redis, memcached [2]string }

func (a *hotAddrs) of(tc *hotCase) [2]string {
	if tc.memcached {
		return a.memcached
	}
	return a.redis
}

// warmUp is how many requests run before counting: buffers grow and pools fill first.
const warmUp = 500

func benchHot(b *testing.B, name string) {
	addrs := hotServers(b)
	for _, tc := range hotCases() {
		if tc.name != name {
			continue
		}
		h := newHotSession(b, &tc, hotPool(b, tc.memcached, addrs.of(&tc)))
		for range warmUp {
			h.do()
		}
		b.ReportAllocs()
		for b.Loop() {
			h.do()
		}
	}
}

func BenchmarkRedisGET(b *testing.B)         { benchHot(b, "RedisGET") }
func BenchmarkRedisSET(b *testing.B)         { benchHot(b, "RedisSET") }
func BenchmarkMemcacheGet(b *testing.B)      { benchHot(b, "MemcacheGet") }
func BenchmarkMemcacheSet(b *testing.B)      { benchHot(b, "MemcacheSet") }
func BenchmarkRedisMGET(b *testing.B)        { benchHot(b, "RedisMGET") }
func BenchmarkRedisMSET(b *testing.B)        { benchHot(b, "RedisMSET") }
func BenchmarkMemcacheMultiGet(b *testing.B) { benchHot(b, "MemcacheMultiGet") }

// TestHotPathAllocs checks that a steady-state GET, SET or multi-key request split across
// servers allocates nothing anywhere in the process: parsing, dispatch, the backend
// connection's writer and reader, the merge, the flush.
func TestHotPathAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random, so calls allocate")
	}
	addrs := hotServers(t)
	for _, tc := range hotCases() {
		for _, looped := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/goroutine", true: "/event_loop"}[looped]
			t.Run(name, func(t *testing.T) {
				h := newHotSession(t, &tc, hotPool(t, tc.memcached, addrs.of(&tc)))
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
