package mcserver

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
	"github.com/discoh/discoh/mcproto"
)

// The steady-state request path, one request per batch as a frontend connection serves it:
// parse the request from the client's bytes, Dispatch it, Flush the reply. Backends are two
// real servers, so multi-gets are split; the backend connections' reader and writer
// goroutines run as in production. (respserver has the same for Redis.)

const hotKeys = 8

var hotValue = bytes.Repeat([]byte("v"), 64)

// hotCase is one request type: the requests for each key and the reply each gets.
type hotCase struct {
	name  string
	reqs  [][]byte
	wants [][]byte
}

// hotMulti is how many keys a multi-get names.
const hotMulti = 4

func hotKey(i int) string { return strconv.Itoa(i%hotKeys) + ":key" }

func hotCases() []hotCase {
	cases := []hotCase{{name: "Get"}, {name: "Set"}, {name: "MultiGet"}}
	add := func(c int, req, want string) {
		cases[c].reqs, cases[c].wants = append(cases[c].reqs, []byte(req)), append(cases[c].wants, []byte(want))
	}
	val := string(hotValue)
	for i := range hotKeys {
		key := hotKey(i)
		add(0, "get "+key+"\r\n", "VALUE "+key+" 0 64\r\n"+val+"\r\nEND\r\n")
		add(1, "set "+key+" 0 0 64\r\n"+val+"\r\n", "STORED\r\n")
		get, values := "get", ""
		for j := range hotMulti {
			k := hotKey(i + j)
			get, values = get+" "+k, values+"VALUE "+k+" 0 64\r\n"+val+"\r\n"
		}
		add(2, get+"\r\n", values+"END\r\n")
	}
	return cases
}

// hotPool is a pool of the servers at addrs with default settings, on which every multi-get
// of hotCases spans both servers.
func hotPool(tb testing.TB, addrs []string) *backends.Pool {
	tb.Helper()
	pool := backendstest.Pool(tb, addrs, Framer, nil, Protocol())
	for i := range hotKeys {
		keys := make([][]byte, hotMulti)
		for j := range keys {
			keys[j] = []byte(hotKey(i + j))
		}
		if pool.SameCopies(keys) {
			tb.Fatalf("keys %q all live on one server: the multi-get case would not be split", keys)
		}
	}
	return pool
}

// newHot is one client of a pool of the servers at addrs sending tc's requests.
func newHot(tb testing.TB, tc *hotCase, addrs []string, looped bool) *frontendtest.Hot {
	m := NewMemcache("hot", "", hotPool(tb, addrs), slog.New(slog.NewTextHandler(io.Discard, nil)))
	limits := Limits{Request: mcproto.Limits{ItemSizeMax: config.DefaultClientLimits().ItemSizeMax}}
	return &frontendtest.Hot{TB: tb, Looped: looped, Reqs: tc.reqs, Wants: tc.wants,
		NewSession: sessions{func(c frontend.Client) requests { return m.NewSession(c) }, limits, new(sync.Pool)}.NewSession}
}

// hotServers starts two memcached and fills every key, so the gets hit.
func hotServers(tb testing.TB) []string {
	tb.Helper()
	addrs := []string{testproc.Memcached(tb).Addr, testproc.Memcached(tb).Addr}
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

func BenchmarkMemcacheGet(b *testing.B)      { benchHot(b, "Get") }
func BenchmarkMemcacheSet(b *testing.B)      { benchHot(b, "Set") }
func BenchmarkMemcacheMultiGet(b *testing.B) { benchHot(b, "MultiGet") }

// TestHotPathAllocs checks that a steady-state get, set or multi-get split across servers
// allocates nothing anywhere in the process: parsing, dispatch, the backend connection's writer
// and reader, the merge, the flush.
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
