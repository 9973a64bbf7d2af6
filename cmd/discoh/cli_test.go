package main

import (
	"bufio"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/discoh/discoh/internal/testproc"
)

func TestRedisCLI(t *testing.T) {
	st := startRedisStack(t, 3, "")
	host, port, _ := net.SplitHostPort(st.addr)
	cli := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"set", "a", "1"}, "OK"},
		{[]string{"get", "a"}, "1"},
		{[]string{"incr", "a"}, "2"},
		{[]string{"mset", "x", "1", "y", "2", "z", "3"}, "OK"},
		{[]string{"mget", "x", "y", "z", "nope"}, "1\n2\n3\n"},
		{[]string{"del", "x", "y", "z"}, "3"},
		{[]string{"ping"}, "PONG"},
		{[]string{"hello", "3"}, ""},
		{[]string{"nosuch"}, "ERR unknown command 'nosuch', with args beginning with:"},
	}
	for _, tc := range cases {
		got := cli(tc.args...)
		if tc.want != "" && got != strings.TrimSpace(tc.want) {
			t.Errorf("redis-cli %v = %q; want %q", tc.args, got, tc.want)
		}
	}
	if got := cli("info", "server"); !strings.Contains(got, "discoh_version") {
		t.Errorf("redis-cli info server = %q; want discoh's server section", got)
	}
}

// rawConn talks RESP by hand, for what no client library would send.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// expect reads len(want) bytes and compares.
func (c *rawConn) expect(want string) {
	c.t.Helper()
	buf := make([]byte, len(want))
	n, err := ioReadFull(c.r, buf)
	if string(buf[:n]) != want {
		c.t.Fatalf("read %q (%v); want %q", buf[:n], err, want)
	}
}

func ioReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// expectClosed checks that the server closed the connection.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	if b, err := c.r.ReadByte(); err == nil {
		c.t.Fatalf("connection still open, read %q; want it closed", b)
	}
}

func TestInlineAndSplitRequests(t *testing.T) {
	st := startRedisStack(t, 2, "")
	c := dialRaw(t, st.addr)
	c.send("PING\r\n")
	c.expect("+PONG\r\n")
	c.send("SET greeting \"hello world\"\r\nGET greeting\r\n")
	c.expect("+OK\r\n$11\r\nhello world\r\n")
	c.send("\r\n   \r\nECHO 'it''s'\r\n")
	c.expect("-ERR Protocol error: unbalanced quotes in request\r\n")
	c.expectClosed()

	c = dialRaw(t, st.addr)
	pipeline := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"
	for i := range len(pipeline) {
		c.send(pipeline[i : i+1])
		time.Sleep(time.Millisecond)
	}
	c.expect("+OK\r\n$5\r\nvalue\r\n+PONG\r\n")
}

func TestProtocolErrorsAndLimits(t *testing.T) {
	st := startRedisStack(t, 2, "    max_bulk_bytes: 1kb\n    max_args: 8\n    max_inline_bytes: 1kb")
	cases := []struct {
		name, send, want string
	}{
		{"bad bulk length", "*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bad multibulk length", "*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"not a bulk", "*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
		{"bulk over limit", "*2\r\n$3\r\nGET\r\n$2000\r\n", "-ERR Protocol error: "},
		{"too many args", "*9\r\n", "-ERR Protocol error: "},
		{"inline too long", strings.Repeat("x", 3000), "-ERR Protocol error: too big inline request\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, st.addr)
			c.send("PING\r\n" + tc.send)
			c.expect("+PONG\r\n" + tc.want)
			line, _ := c.r.ReadString('\n')
			t.Logf("error: %s%s", tc.want, strings.TrimSpace(line))
			c.expectClosed()
		})
	}
	c := dialRaw(t, st.addr)
	c.send("*2\r\n$4\r\nECHO\r\n$1000\r\n" + strings.Repeat("v", 1000) + "\r\n")
	c.expect("$1000\r\n" + strings.Repeat("v", 1000) + "\r\n")
}

func TestClientHangsUpMidRequest(t *testing.T) {
	st := startRedisStack(t, 2, "")
	for range 20 {
		nc, err := net.Dial("tcp", st.addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\npartial"))
		nc.Close()
	}
	c := st.client(t, 2)
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING after clients hung up mid-request: %v", err)
	}
}

func TestIdleClientsAreClosed(t *testing.T) {
	st := startRedisStack(t, 2, "    client_idle_timeout: 300ms")
	c := dialRaw(t, st.addr)
	c.send("PING\r\n")
	c.expect("+PONG\r\n")
	time.Sleep(600 * time.Millisecond)
	c.expectClosed()
}

// TestRedisBenchmark runs the redis-benchmark line, with and without pipelining, and
// requires every test to complete without an error.
func TestRedisBenchmark(t *testing.T) {
	st := startRedisStack(t, 3, "")
	host, port, _ := net.SplitHostPort(st.addr)
	for _, pipeline := range []int{1, 16} {
		cmd := exec.Command("redis-benchmark", "-h", host, "-p", port, "-n", "2000", "-c", "10",
			"-P", strconv.Itoa(pipeline), "-q",
			"-t", "ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange,mset")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("redis-benchmark -P %d: %v\n%s", pipeline, err, out)
		}
		text := string(out)
		if strings.Contains(text, "ERR") || strings.Contains(strings.ToLower(text), "error") {
			t.Errorf("redis-benchmark -P %d reported errors:\n%s", pipeline, text)
		}
		for _, test := range []string{"PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP", "SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN", "LRANGE_100", "LRANGE_600", "MSET"} {
			if !strings.Contains(text, test+": ") && !strings.Contains(text, test+" (") {
				t.Errorf("redis-benchmark -P %d: no result for %s:\n%s", pipeline, test, text)
			}
		}
	}
}

func TestReplyOverOutputLimit(t *testing.T) {
	st := startRedisStack(t, 2, "    max_pending_output_bytes: 1kb")
	c := st.client(t, 2)
	ctx := t.Context()
	c.Set(ctx, "big", strings.Repeat("x", 2000), 0)
	err := c.Get(ctx, "big").Err()
	if err == nil || !strings.Contains(err.Error(), "over max_pending_output_bytes") {
		t.Errorf("GET of a 2000-byte value with a 1kb limit: err = %v; want the limit named", err)
	}
	c.Set(ctx, "small", "ok", 0)
	if got := c.Get(ctx, "small").Val(); got != "ok" {
		t.Errorf("GET small after the refused reply = %q; want ok", got)
	}
}

// TestRedisCLIOnTheEmbeddedDefault runs redis-cli as a user of the shipped configuration does,
// with commands on its standard input (it then asks COMMAND DOCS first), against a pool of
// in-process servers.
func TestRedisCLIOnTheEmbeddedDefault(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testproc.FreePort(t)))
	startDiscoh(t, "pools:\n  main:\n    listen: "+addr+"\n    redis: true\n    embedded: true\n"+
		"    servers:\n      - 127.0.0.1:0:1 r1\n      - 127.0.0.1:0:1 r2\n", addr)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-cli", "-h", host, "-p", port)
	cmd.Stdin = strings.NewReader("set a 1\nmulti\nincr a\nincr a\nexec\nget a\nmset x 1 y 2\nmget x y\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli with commands on stdin: %v\n%s", err, out)
	}
	if want := "OK\nOK\nQUEUED\nQUEUED\n2\n3\n3\nOK\n1\n2"; strings.TrimSpace(string(out)) != want {
		t.Errorf("redis-cli printed\n%s\nwant\n%s", out, want)
	}
}
