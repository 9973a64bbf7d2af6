package respserver

import (
	"bytes"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/backends/backendstest"
	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/frontend/frontendtest"
	"github.com/discoh/discoh/internal/testproc"
	"github.com/discoh/discoh/resp"
)

// The steady-state request path, one request per batch as a frontend connection serves it:
// parse the request from the client's bytes, Dispatch it, Flush the reply. Backends are two
// real servers, so multi-key requests are split; the backend connections' reader and writer
// goroutines run as in production. (mcserver has the same for memcached.)

const hotKeys = 8

var hotValue = bytes.Repeat([]byte("v"), 64)

// hotCase is one request type: the requests for each key and the reply each gets.
type hotCase struct {
	name  string
	reqs  [][]byte
	wants [][]byte
	resp3 bool // the client said HELLO 3 and named itself: state its sessions keep
}

// hotMulti is how many keys a multi-key request names: MGET, MSET.
const hotMulti = 4

func hotKey(i int) string { return strconv.Itoa(i%hotKeys) + ":key" }

func hotCases() []hotCase {
	cases := []hotCase{{name: "GET"}, {name: "SET"}, {name: "MGET"}, {name: "MSET"}}
	add := func(c int, req, want []byte) {
		cases[c].reqs, cases[c].wants = append(cases[c].reqs, req), append(cases[c].wants, want)
	}
	for i := range hotKeys {
		key := []byte(hotKey(i))
		add(0, resp.AppendCommand(nil, []byte("GET"), key), resp.AppendBulk(nil, hotValue))
		add(1, resp.AppendCommand(nil, []byte("SET"), key, hotValue), []byte("+OK\r\n"))
		mget, mset := [][]byte{[]byte("MGET")}, [][]byte{[]byte("MSET")}
		values := resp.AppendArrayLen(nil, hotMulti)
		for j := range hotMulti {
			k := []byte(hotKey(i + j))
			mget, mset = append(mget, k), append(mset, k, hotValue)
			values = resp.AppendBulk(values, hotValue)
		}
		add(2, resp.AppendCommand(nil, mget...), values)
		add(3, resp.AppendCommand(nil, mset...), []byte("+OK\r\n"))
	}
	resp3 := cases[0]
	resp3.name, resp3.resp3 = "GETResp3", true
	return append(cases, resp3)
}

// hotPool is a pool of the servers at addrs with default settings, on which every multi-key
// request of hotCases spans both servers.
func hotPool(tb testing.TB, addrs []string) *backends.Pool {
	tb.Helper()
	pool := backendstest.Pool(tb, addrs, Framer, Handshake(""), Protocol())
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

// newHot is one client of a pool of the servers at addrs sending tc's requests.
func newHot(tb testing.TB, tc *hotCase, addrs []string, looped bool) *frontendtest.Hot {
	r := NewRedis("hot", "", hotPool(tb, addrs), slog.New(slog.NewTextHandler(io.Discard, nil)))
	l := config.DefaultClientLimits()
	r.MaxReplyBytes = l.MaxPendingOutputBytes
	limits := Limits{Request: resp.Limits{MaxArgs: l.MaxArgs, MaxBulk: l.MaxBulkBytes, MaxInline: l.MaxInlineBytes}}
	h := &frontendtest.Hot{TB: tb, Looped: looped, Reqs: tc.reqs, Wants: tc.wants,
		NewSession: sessions{func(c frontend.Client) requests { return r.NewSession(c) }, &limits, new(sync.Pool)}.NewSession}
	if tc.resp3 {
		h.Client.Keep = &clientState{lane: backends.LaneRESP3, name: "hot"} // as a shed session keeps
		h.Check = func(sess frontend.Session) {
			if s := sess.(*awaitSession).requests.(*Session); s.lane != backends.LaneRESP3 || s.name != "hot" {
				tb.Fatalf("HELLO 3 and the name were lost across a shed: lane %d, name %q", s.lane, s.name)
			}
		}
	}
	return h
}

// hotServers starts two redis-servers and fills every key, so the GETs hit.
func hotServers(tb testing.TB) []string {
	tb.Helper()
	addrs := []string{testproc.Redis(tb).Addr, testproc.Redis(tb).Addr}
	set := hotCases()[1]
	h := newHot(tb, &set, addrs, false)
	for range hotKeys {
		h.Do()
	}
	return addrs
}

func benchHot(b *testing.B, name string) {
	addrs := hotServers(b)
	for _, tc := range hotCases() {
		if tc.name == name {
			newHot(b, &tc, addrs, false).Bench(b)
		}
	}
}

func BenchmarkRedisGET(b *testing.B)  { benchHot(b, "GET") }
func BenchmarkRedisSET(b *testing.B)  { benchHot(b, "SET") }
func BenchmarkRedisMGET(b *testing.B) { benchHot(b, "MGET") }
func BenchmarkRedisMSET(b *testing.B) { benchHot(b, "MSET") }

// TestHotPathAllocs checks that a steady-state GET, SET or multi-key request split across
// servers allocates nothing anywhere in the process: parsing, dispatch, the backend
// connection's writer and reader, the merge, the flush.
func TestHotPathAllocs(t *testing.T) {
	if frontendtest.RaceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random, so calls allocate")
	}
	addrs := hotServers(t)
	for _, tc := range hotCases() {
		for _, looped := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/goroutine", true: "/event_loop"}[looped]
			t.Run(name, func(t *testing.T) {
				newHot(t, &tc, addrs, looped).NoAllocs(t)
			})
		}
	}
}
