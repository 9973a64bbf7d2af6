package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/discoh/discoh/internal/testproc"
)

const (
	ioTimeout = 5 * time.Second
)

// startEmbedded starts an embedded server, closed when the test ends.
func startEmbedded(t *testing.T) *Memcached {
	t.Helper()
	m, err := StartMemcached("127.0.0.1:0")
	if err != nil {
		t.Fatalf("StartMemcached: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

// servers returns the servers every behaviour test runs against, by name.
func servers(t *testing.T) map[string]func(*testing.T) string {
	return map[string]func(*testing.T) string{
		"embedded":  func(t *testing.T) string { return startEmbedded(t).Addr() },
		"memcached": startReal,
	}
}

// fakeClock is the store's clock in expiry tests.
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

// startWithClock starts an embedded server whose store reads the returned clock.
func startWithClock(t *testing.T) (*Memcached, *fakeClock) {
	m := startEmbedded(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	m.store.mu.Lock()
	m.store.clock = clock.Now
	m.store.mu.Unlock()
	return m, clock
}

// clientCase is one gomemcache behaviour, run against both servers.
type clientCase struct {
	name string
	run  func(t *testing.T, c *memcache.Client)
}

// clientCases run in order on one server; flush_all comes last.
var clientCases = []clientCase{
	{"set and get", func(t *testing.T, c *memcache.Client) {
		mustSet(t, c, &memcache.Item{Key: "sg", Value: []byte("hello"), Flags: 42})
		wantItem(t, c, "sg", "hello", 42)
		if _, err := c.Get("sg-missing"); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("Get of a missing key: got %v; want ErrCacheMiss", err)
		}
	}},
	{"add and replace", func(t *testing.T, c *memcache.Client) {
		wantErr(t, "Replace of a missing key", c.Replace(&memcache.Item{Key: "ar", Value: []byte("x")}), memcache.ErrNotStored)
		wantErr(t, "Add of a missing key", c.Add(&memcache.Item{Key: "ar", Value: []byte("1")}), nil)
		wantErr(t, "Add of a present key", c.Add(&memcache.Item{Key: "ar", Value: []byte("2")}), memcache.ErrNotStored)
		wantErr(t, "Replace of a present key", c.Replace(&memcache.Item{Key: "ar", Value: []byte("3")}), nil)
		wantItem(t, c, "ar", "3", 0)
	}},
	{"append and prepend", func(t *testing.T, c *memcache.Client) {
		wantErr(t, "Append to a missing key", c.Append(&memcache.Item{Key: "ap", Value: []byte("x")}), memcache.ErrNotStored)
		mustSet(t, c, &memcache.Item{Key: "ap", Value: []byte("mid"), Flags: 7})
		wantErr(t, "Append", c.Append(&memcache.Item{Key: "ap", Value: []byte(">"), Flags: 1}), nil)
		wantErr(t, "Prepend", c.Prepend(&memcache.Item{Key: "ap", Value: []byte("<")}), nil)
		wantItem(t, c, "ap", "<mid>", 7)
	}},
	{"compare and swap", func(t *testing.T, c *memcache.Client) {
		mustSet(t, c, &memcache.Item{Key: "cas", Value: []byte("v1")})
		first, err := c.Get("cas")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		stale := *first
		first.Value = []byte("v2")
		wantErr(t, "CompareAndSwap with a fresh token", c.CompareAndSwap(first), nil)
		stale.Value = []byte("v3")
		wantErr(t, "CompareAndSwap with a stale token", c.CompareAndSwap(&stale), memcache.ErrCASConflict)
		wantItem(t, c, "cas", "v2", 0)
		c.Delete("cas")
		wantErr(t, "CompareAndSwap of a deleted key", c.CompareAndSwap(first), memcache.ErrCacheMiss)
	}},
	{"delete", func(t *testing.T, c *memcache.Client) {
		mustSet(t, c, &memcache.Item{Key: "del", Value: []byte("x")})
		wantErr(t, "Delete of a present key", c.Delete("del"), nil)
		wantErr(t, "Delete of a missing key", c.Delete("del"), memcache.ErrCacheMiss)
	}},
	{"incr and decr", func(t *testing.T, c *memcache.Client) {
		mustSet(t, c, &memcache.Item{Key: "n", Value: []byte("10")})
		wantCount(t, "Increment by 5", 15)(c.Increment("n", 5))
		wantCount(t, "Decrement by 20", 0)(c.Decrement("n", 20))
		wantCount(t, "Increment to 2^63", 1<<63)(c.Increment("n", 1<<63))
		wantCount(t, "Increment past 2^64", 1)(c.Increment("n", 1<<63+1))
		if _, err := c.Increment("n-missing", 1); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("Increment of a missing key: got %v; want ErrCacheMiss", err)
		}
		mustSet(t, c, &memcache.Item{Key: "word", Value: []byte("ten")})
		_, err := c.Increment("word", 1)
		if err == nil || !strings.Contains(err.Error(), "non-numeric value") {
			t.Errorf("Increment of a word: got %v; want the non-numeric client error", err)
		}
	}},
	{"touch", func(t *testing.T, c *memcache.Client) {
		mustSet(t, c, &memcache.Item{Key: "tch", Value: []byte("x")})
		wantErr(t, "Touch of a present key", c.Touch("tch", 100), nil)
		wantErr(t, "Touch of a missing key", c.Touch("tch-missing", 100), memcache.ErrCacheMiss)
		wantErr(t, "Touch into the past", c.Touch("tch", -1), nil)
		if _, err := c.Get("tch"); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("Get after Touch(-1): got %v; want ErrCacheMiss", err)
		}
	}},
	{"get multi", func(t *testing.T, c *memcache.Client) {
		for _, k := range []string{"m1", "m2", "m3"} {
			mustSet(t, c, &memcache.Item{Key: k, Value: []byte("v-" + k)})
		}
		got, err := c.GetMulti([]string{"m1", "m-missing", "m3", "m2"})
		if err != nil {
			t.Fatalf("GetMulti: %v", err)
		}
		if len(got) != 3 || string(got["m1"].Value) != "v-m1" || string(got["m3"].Value) != "v-m3" {
			t.Errorf("GetMulti: got %d items (m1=%v m3=%v); want m1, m2, m3", len(got), got["m1"], got["m3"])
		}
	}},
	{"flush all", func(t *testing.T, c *memcache.Client) {
		mustSet(t, c, &memcache.Item{Key: "fl", Value: []byte("x")})
		wantErr(t, "FlushAll", c.FlushAll(), nil)
		if _, err := c.Get("fl"); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("Get after FlushAll: got %v; want ErrCacheMiss", err)
		}
		mustSet(t, c, &memcache.Item{Key: "fl", Value: []byte("y")})
		wantItem(t, c, "fl", "y", 0)
	}},
}

func TestGomemcache(t *testing.T) {
	for name, start := range servers(t) {
		t.Run(name, func(t *testing.T) {
			c := memcache.New(start(t))
			c.Timeout = ioTimeout
			for _, tc := range clientCases {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, c) })
			}
		})
	}
}

func mustSet(t *testing.T, c *memcache.Client, it *memcache.Item) {
	t.Helper()
	if err := c.Set(it); err != nil {
		t.Fatalf("Set(%q): %v", it.Key, err)
	}
}

func wantItem(t *testing.T, c *memcache.Client, key, value string, flags uint32) {
	t.Helper()
	it, err := c.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if string(it.Value) != value || it.Flags != flags {
		t.Errorf("Get(%q): got %q flags %d; want %q flags %d", key, it.Value, it.Flags, value, flags)
	}
}

func wantErr(t *testing.T, what string, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Errorf("%s: got error %v; want %v", what, got, want)
	}
}

func wantCount(t *testing.T, what string, want uint64) func(uint64, error) {
	return func(got uint64, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s: got %d, %v; want %d", what, got, err, want)
		}
	}
}

func TestConcurrentIncrements(t *testing.T) {
	c := memcache.New(startEmbedded(t).Addr())
	c.Timeout = ioTimeout
	mustSet(t, c, &memcache.Item{Key: "hits", Value: []byte("0")})
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := c.Increment("hits", 1); err != nil {
					t.Errorf("Increment: %v", err)
				}
			}
		})
	}
	wg.Wait()
	wantItem(t, c, "hits", strconv.Itoa(workers*each), 0)
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name       string
		expiration int32 // gomemcache's Item.Expiration
		after      time.Duration
		wantHit    bool
	}{
		{"never", 0, 365 * 24 * time.Hour, true},
		{"relative, before", 10, 9 * time.Second, true},
		{"relative, at", 10, 10 * time.Second, false},
		{"thirty days is still relative", 30 * 24 * 3600, 30*24*time.Hour - time.Second, true},
		{"absolute, before", 1_700_000_100, 99 * time.Second, true},
		{"absolute, at", 1_700_000_100, 100 * time.Second, false},
		{"absolute in the past", 1_600_000_000, 0, false},
		{"negative", -1, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, clock := startWithClock(t)
			c := memcache.New(m.Addr())
			mustSet(t, c, &memcache.Item{Key: "k", Value: []byte("v"), Expiration: tc.expiration})
			clock.Advance(tc.after)
			_, err := c.Get("k")
			if gotHit := err == nil; gotHit != tc.wantHit {
				t.Errorf("Get %v after set with exptime %d: got hit %v (%v); want %v",
					tc.after, tc.expiration, gotHit, err, tc.wantHit)
			}
		})
	}
}

func TestExpiryByTouchGatAndMeta(t *testing.T) {
	m, clock := startWithClock(t)
	conn := dialRaw(t, m.Addr())
	steps := []struct {
		advance    time.Duration
		send, want string
	}{
		{0, "set a 0 10 1\r\nx\r\ntouch a 100\r\n", "STORED\r\nTOUCHED\r\n"},
		{50 * time.Second, "mg a t\r\ngat 20 a\r\n", "HD t50\r\nVALUE a 0 1\r\nx\r\nEND\r\n"},
		{19 * time.Second, "mg a t v\r\n", "VA 1 t1\r\nx\r\n"},
		{time.Second, "mg a t v\r\n", "EN\r\n"},
		{0, "ms b 1 T5\r\ny\r\nmg b t T0\r\nmg b T9 t\r\nmg b t T-1 v\r\nmg b v\r\n",
			"HD\r\nHD t5\r\nHD t9\r\nVA 1 t9\r\ny\r\nEN\r\n"},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		if got := roundTrip(t, conn, st.send); got != st.want {
			t.Errorf("after %v, %q: got %q; want %q", st.advance, st.send, got, st.want)
		}
	}
}

func TestDelayedFlush(t *testing.T) {
	m, clock := startWithClock(t)
	conn := dialRaw(t, m.Addr())
	steps := []struct {
		advance    time.Duration
		send, want string
	}{
		{0, "set old 0 0 1\r\nx\r\nflush_all 10\r\nget old\r\n", "STORED\r\nOK\r\nVALUE old 0 1\r\nx\r\nEND\r\n"},
		{9 * time.Second, "get old\r\n", "VALUE old 0 1\r\nx\r\nEND\r\n"},
		{time.Second, "get old\r\nset new 0 0 1\r\ny\r\n", "END\r\nSTORED\r\n"},
		{time.Hour, "get new\r\n", "VALUE new 0 1\r\ny\r\nEND\r\n"},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		if got := roundTrip(t, conn, st.send); got != st.want {
			t.Errorf("after %v, %q: got %q; want %q", st.advance, st.send, got, st.want)
		}
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	m := startEmbedded(t)
	m.store.mu.Lock()
	m.store.maxBytes = 1000 // six items of 2-byte keys and 100-byte values (166 bytes each)
	m.store.mu.Unlock()
	c := memcache.New(m.Addr())
	value := bytes.Repeat([]byte("v"), 100)
	for i := range 6 {
		mustSet(t, c, &memcache.Item{Key: fmt.Sprint("k", i), Value: value})
	}
	wantItem(t, c, "k0", string(value), 0) // k0 is now the most recently used
	mustSet(t, c, &memcache.Item{Key: "k6", Value: value})
	if _, err := c.Get("k1"); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Errorf("Get(k1), the least recently used: got %v; want ErrCacheMiss", err)
	}
	for _, k := range []string{"k0", "k2", "k6"} {
		wantItem(t, c, k, string(value), 0)
	}
	if st := m.store.stats(); st.evictions != 1 || st.items != 6 || st.bytes > 1000 {
		t.Errorf("stats: got %d evictions, %d items, %d bytes; want 1, 6, <= 1000", st.evictions, st.items, st.bytes)
	}
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends input followed by mn, and returns everything the server replies before
// mn's MN: the replies to input, however many (none, for noreply).
func roundTrip(t *testing.T, c net.Conn, input string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c, input+"mn\r\n"); err != nil {
		t.Fatalf("writing %q: %v", input, err)
	}
	var got []byte
	buf := make([]byte, 64<<10)
	for !bytes.HasSuffix(got, []byte("MN\r\n")) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("reading the replies to %q: %v (got %q)", input, err, got)
		}
	}
	return string(got[:len(got)-len("MN\r\n")])
}

// readAll returns what the server sends until it closes the connection.
func readAll(t *testing.T, c net.Conn, input string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c, input); err != nil {
		t.Fatalf("writing %q: %v", input, err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading until the server closes: %v (got %q)", err, got)
	}
	return string(got)
}

// scriptStep is a batch of requests and the replies memcached 1.6.18 sends, with cas
// uniques written as <cas>. "{cas}" in send stands for the last cas unique received.
type scriptStep struct {
	name, send, want string
}

var bigValue = strings.Repeat("z", 2_000_000)

var script = []scriptStep{
	{"storage commands",
		"set a 5 0 3\r\nabc\r\nadd a 0 0 1\r\nx\r\nadd b 0 0 1\r\nx\r\nreplace c 0 0 1\r\nx\r\n" +
			"replace b 7 0 2\r\nyz\r\nappend a 9 0 2\r\nde\r\nprepend a 0 0 2\r\n01\r\n" +
			"append zz 0 0 1\r\nx\r\nget a b zz\r\n",
		"STORED\r\nNOT_STORED\r\nSTORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nNOT_STORED\r\n" +
			"VALUE a 5 7\r\n01abcde\r\nVALUE b 7 2\r\nyz\r\nEND\r\n"},
	{"gets", "gets a zz\r\n", "VALUE a 5 7 <cas>\r\n01abcde\r\nEND\r\n"},
	{"cas", "cas a 1 0 1 {cas}\r\nX\r\ncas a 1 0 1 {cas}\r\nY\r\ncas zz 0 0 1 1\r\nZ\r\nget a\r\n",
		"STORED\r\nEXISTS\r\nNOT_FOUND\r\nVALUE a 1 1\r\nX\r\nEND\r\n"},
	{"delete", "delete a\r\ndelete a\r\ndelete b 0\r\nget a b\r\n", "DELETED\r\nNOT_FOUND\r\nDELETED\r\nEND\r\n"},
	{"incr and decr",
		"set n 3 0 3\r\n100\r\nincr n 5\r\ndecr n 6\r\nget n\r\ndecr n 1000\r\n" +
			"incr n 18446744073709551615\r\nincr n 2\r\nget n\r\nincr zz 1\r\n",
		"STORED\r\n105\r\n99\r\nVALUE n 3 3\r\n99 \r\nEND\r\n0\r\n18446744073709551615\r\n1\r\n" +
			"VALUE n 3 20\r\n1                   \r\nEND\r\nNOT_FOUND\r\n"},
	{"non-numeric incr",
		"set w 0 0 2\r\nhi\r\nincr w 1\r\nset w 0 0 2\r\n-5\r\ndecr w 1\r\nset w 0 0 0\r\n\r\nincr w 1\r\n" +
			"set w 0 0 5\r\n 7 ab\r\nincr w 1\r\n",
		"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n" +
			"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n" +
			"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\n8\r\n"},
	{"touch and gat",
		"set t 4 0 1\r\nx\r\ntouch t 100\r\ntouch zz 100\r\ngat 100 t zz\r\ngats 0 t\r\n",
		"STORED\r\nTOUCHED\r\nNOT_FOUND\r\nVALUE t 4 1\r\nx\r\nEND\r\nVALUE t 4 1 <cas>\r\nx\r\nEND\r\n"},
	{"expired at once", "set x 0 -1 1\r\na\r\nget x\r\nadd x 0 0 1\r\nb\r\nget x\r\n",
		"STORED\r\nEND\r\nSTORED\r\nVALUE x 0 1\r\nb\r\nEND\r\n"},
	{"noreply",
		"set q 0 0 1 noreply\r\na\r\nadd q 0 0 1 noreply\r\nb\r\nappend q 0 0 1 noreply\r\nc\r\n" +
			"set r 0 0 1 noreply\r\n5\r\nincr r 1 noreply\r\ndelete zz noreply\r\ntouch q 10 noreply\r\n" +
			"verbosity 1 noreply\r\nflush_all 0 noreply\r\nget q r\r\n",
		"END\r\n"},
	{"after flush_all noreply",
		"set q 0 0 2 noreply\r\nac\r\nset r 0 0 1\r\n5\r\nincr r 1 noreply\r\nget q r\r\n",
		"STORED\r\nVALUE q 0 2\r\nac\r\nVALUE r 0 1\r\n6\r\nEND\r\n"},
	{"client errors",
		"bogus\r\nget\r\nincr r x\r\nset k 0 0 2\r\nabc\r\ntouch r\r\ndelete r 5\r\nverbosity\r\n",
		"ERROR\r\nERROR\r\nCLIENT_ERROR invalid numeric delta argument\r\nCLIENT_ERROR bad data chunk\r\n" +
			"ERROR\r\nERROR\r\nCLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nERROR\r\n"},
	{"value too large, dropping the old one",
		"set big 0 0 1\r\nx\r\nset big 0 0 2000000\r\n" + bigValue + "\r\nget big\r\n",
		"STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n"},
	{"verbosity and flush_all", "verbosity 1\r\nset f 0 0 1\r\nx\r\nflush_all\r\nget f r\r\n",
		"OK\r\nSTORED\r\nOK\r\nEND\r\n"},
	{"meta set and get",
		"ms m 2 F3 T0 c k O9\r\nhi\r\nmg m v f s t k c\r\nmg m\r\nmg zz v k O1\r\nmg zz v q\r\nmg m q k\r\n",
		"HD c<cas> km O9\r\nVA 2 f3 s2 t-1 km c<cas>\r\nhi\r\nHD\r\nEN kzz O1\r\nHD km\r\n"},
	{"meta modes",
		"ms m 2 ME\r\nhi\r\nms m 1 MA\r\n!\r\nms m 1 MP\r\n<\r\nms zz 1 MR\r\nx\r\nms zz 1 MA\r\nx\r\n" +
			"ms zz 1 MS q\r\nx\r\nmg m v\r\nmg zz v\r\n",
		"NS\r\nHD\r\nHD\r\nNS\r\nNS\r\nVA 4\r\n<hi!\r\nVA 1\r\nx\r\n"},
	{"meta delete", "md zz q\r\nmd zz\r\nmd m k O5\r\nmg m v\r\n", "NF\r\nHD km O5\r\nEN\r\n"},
	{"meta cas token", "ms c 1 c\r\nx\r\n", "HD c<cas>\r\n"},
	{"meta cas",
		"ms c 1 C{cas} c\r\ny\r\nms c 1 C{cas}\r\nz\r\nmd c C1\r\nms zz2 1 C5\r\nw\r\nmg c v\r\n",
		"HD c<cas>\r\nEX\r\nEX\r\nNF\r\nVA 1\r\ny\r\n"},
	{"meta errors",
		"mg c zz\r\nmg c v v\r\nmd c q q\r\nms c 1 MX\r\nx\r\nmg c T\r\nms c 1 MEE\r\nx\r\nms c 1 F-1\r\nx\r\n" +
			"mg c O" + strings.Repeat("o", 32) + "\r\nmg c v\r\n",
		"CLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n" +
			"CLIENT_ERROR invalid mode for ms M token\r\nCLIENT_ERROR bad token in command line format\r\n" +
			"CLIENT_ERROR incorrect length for M token\r\nCLIENT_ERROR bad command line format\r\n" +
			"CLIENT_ERROR opaque token too long\r\nVA 1\r\ny\r\n"},
}

// casTokens match the cas unique in a gets reply's VALUE line and a meta reply's c flag.
var casTokens = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^(VALUE \S+ \d+ \d+ )(\d+)(\r)$`),
	regexp.MustCompile(`(?m)^((?:HD|VA|EN|NS|EX|NF)\b.*? c)(\d+)()`),
}

// normalizeCas replaces cas uniques by <cas> and returns the last one seen.
func normalizeCas(reply string) (normalized, lastCas string) {
	for _, re := range casTokens {
		for _, m := range re.FindAllStringSubmatch(reply, -1) {
			lastCas = m[2]
		}
		reply = re.ReplaceAllString(reply, "${1}<cas>$3")
	}
	return reply, lastCas
}

// runScript runs the script on one connection and returns each step's normalized reply.
func runScript(t *testing.T, addr string) []string {
	c := dialRaw(t, addr)
	var transcript []string
	lastCas := "0"
	for _, st := range script {
		raw := roundTrip(t, c, strings.ReplaceAll(st.send, "{cas}", lastCas))
		got, cas := normalizeCas(raw)
		if cas != "" {
			lastCas = cas
		}
		if got != st.want {
			t.Errorf("%s: got %q; want %q", st.name, got, st.want)
		}
		transcript = append(transcript, got)
	}
	return transcript
}

func TestScriptMatchesMemcached(t *testing.T) {
	embedded := runScript(t, startEmbedded(t).Addr())
	real := runScript(t, startReal(t))
	for i, st := range script {
		if embedded[i] != real[i] {
			t.Errorf("%s: embedded replied %q; memcached %q", st.name, embedded[i], real[i])
		}
	}
}

func TestClosingMatchesMemcached(t *testing.T) {
	tests := []struct {
		name, send, want string
	}{
		{"quit after a pipeline", "set a 0 0 1\r\nx\r\nget a\r\nquit\r\nget a\r\n",
			"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"},
		{"line too long", "set a 0 0 1" + strings.Repeat(" ", 3000), ""},
	}
	for name, start := range servers(t) {
		t.Run(name, func(t *testing.T) {
			addr := start(t)
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					if got := readAll(t, dialRaw(t, addr), tc.send); got != tc.want {
						t.Errorf("got %q; want %q", got, tc.want)
					}
				})
			}
		})
	}
}

func TestPipelineAndSplitWrites(t *testing.T) {
	var batch, want strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&batch, "set k%d 0 0 %d\r\n%d\r\nget k%d\r\n", i, len(strconv.Itoa(i)), i, i)
		fmt.Fprintf(&want, "STORED\r\nVALUE k%d 0 %d\r\n%d\r\nEND\r\n", i, len(strconv.Itoa(i)), i)
	}
	for name, start := range servers(t) {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, start(t))
			if got := roundTrip(t, c, batch.String()); got != want.String() {
				t.Errorf("pipelined batch: got %d bytes; want %d bytes", len(got), want.Len())
			}
			split := "set s 1 0 10\r\n0123456789\r\nget s\r\n"
			for i := 0; i < len(split); i += 5 {
				io.WriteString(c, split[i:min(i+5, len(split))])
				time.Sleep(2 * time.Millisecond) // let the server read each piece alone
			}
			want := "STORED\r\nVALUE s 1 10\r\n0123456789\r\nEND\r\n"
			if got := roundTrip(t, c, ""); got != want {
				t.Errorf("request written in pieces: got %q; want %q", got, want)
			}
		})
	}
}

func TestEmbeddedOnlyReplies(t *testing.T) {
	c := dialRaw(t, startEmbedded(t).Addr())
	notSupported := "SERVER_ERROR not supported by the embedded server\r\n"
	tests := []struct {
		name, send, want string
	}{
		{"version", "version\r\n", "VERSION " + memcachedVersion + "\r\n"},
		{"ma", "ma n\r\n", notSupported},
		{"me", "me n\r\n", notSupported},
		{"mg with a flag memcached knows", "mg n N30 v\r\n", notSupported},
		{"ms with a flag memcached knows", "ms n 1 I\r\nx\r\nmg n\r\n", notSupported + "EN\r\n"},
		{"md with a flag memcached knows", "md n x\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n"},
		{"append past the item size limit",
			"set big 0 0 600000\r\n" + bigValue[:600_000] + "\r\nappend big 0 0 600000\r\n" + bigValue[:600_000] + "\r\n",
			"STORED\r\nSERVER_ERROR out of memory storing object\r\n"},
		{"stats subcommands", "stats reset\r\nstats items\r\nstats nonsense\r\n", "RESET\r\nEND\r\nERROR\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := roundTrip(t, c, tc.send); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestStats(t *testing.T) {
	m := startEmbedded(t)
	c := dialRaw(t, m.Addr())
	got := roundTrip(t, c, "set a 0 0 3\r\nabc\r\nstats\r\n")
	for _, want := range []string{"STORED\r\nSTAT pid ", "\r\nSTAT version " + memcachedVersion + "\r\n",
		"\r\nSTAT curr_items 1\r\n", "\r\nSTAT curr_connections 1\r\n",
		"\r\nSTAT limit_maxbytes 67108864\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("stats: got %q; want it to contain %q", got, want)
		}
	}
	if !strings.HasSuffix(got, "\r\nEND\r\n") {
		t.Errorf("stats: got %q; want it to end with END", got)
	}
}

func TestClose(t *testing.T) {
	m, err := StartMemcached("127.0.0.1:0")
	if err != nil {
		t.Fatalf("StartMemcached: %v", err)
	}
	idle := dialRaw(t, m.Addr())
	roundTrip(t, idle, "") // the server has accepted it
	closed := make(chan struct{})
	go func() {
		m.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(ioTimeout):
		t.Fatal("Close with an idle client connected: still waiting after 5s")
	}
	if got := readAll(t, idle, ""); got != "" {
		t.Errorf("idle client after Close: got %q; want the connection closed", got)
	}
	if c, err := net.DialTimeout("tcp", m.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("dialing after Close: got a connection; want an error")
	}
}

func TestStartMemcachedError(t *testing.T) {
	m := startEmbedded(t)
	if _, err := StartMemcached(m.Addr()); err == nil || !strings.HasPrefix(err.Error(), "embedded: memcached on ") {
		t.Errorf("StartMemcached on a busy port: got %v; want an embedded: error", err)
	}
}

// startReal starts a real memcached for the comparison and returns its address.
func startReal(t *testing.T) string {
	t.Helper()
	return testproc.Memcached(t, "-m", "16").Addr
}
