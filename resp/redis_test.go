package resp

import (
	"bytes"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startRedis runs a redis-server of its own on a free loopback port until the test ends and
// returns its address.
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	args = append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir()}, args...)
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitListening(t, addr)
	return addr
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("redis-server at %s did not start", addr)
}

// exchange sends input on a new connection, closes the sending side, and returns everything the
// server replies before it closes the connection.
func exchange(t *testing.T, addr string, input []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(input); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading replies: %v", err)
	}
	return out
}

// TestParseRequestMatchesRedis sends each input to redis-server as is, and again as the requests
// ParseRequest found in it, re-encoded, followed by the error line ParseRequest reported. The
// replies must be the same byte for byte: Redis split the input into the same arguments and
// failed at the same point with the same error. Commands are ECHO, PING and unknown ones, whose
// replies show their arguments.
func TestParseRequestMatchesRedis(t *testing.T) {
	addr := startRedis(t)
	inputs := map[string]string{
		"pipeline":                  "*2\r\n$4\r\nECHO\r\n$3\r\na\r\nb\r\n*1\r\n$4\r\nPING\r\nPING\r\n",
		"empty requests":            "*0\r\n*-1\r\n*-5\r\n\n\r\n  \t \r\n\r\r\nPING\r\n",
		"unchecked bytes":           "*1\r\n$4\r\nPINGXY*1\rX$4\r\nPING\r\n",
		"empty argument":            "*1\r\n$0\r\n\r\n",
		"incomplete at the end":     "PING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nab",
		"incomplete inline":         "PING\r\nECHO x",
		"minus zero count":          "PING\r\n*-0\r\n",
		"leading zero count":        "*01\r\n$4\r\nPING\r\n",
		"count over int32":          "*2147483648\r\n",
		"space in count":            "*1 \r\n$4\r\nPING\r\n",
		"leading zero size":         "*1\r\n$04\r\nPING\r\n",
		"negative size":             "*1\r\n$-1\r\n",
		"empty size":                "*1\r\n$\r\n",
		"LF in size line":           "*1\r\n$4\n\r\nPING\r\n",
		"blank bulk header":         "*1\r\n\r\n",
		"data past its size":        "*3\r\n$4\r\nECHO\r\n$1\r\nx\r\nfooz\r\n",
		"long count line":           "*" + strings.Repeat("1", 70000),
		"long size line":            "*1\r\n" + strings.Repeat("$", 70000),
		"long inline line":          strings.Repeat("a", 65537),
		"hex escapes":               `ECHO "a\x41\x4g\xAb\x0" ` + "\r\n",
		"C escapes":                 `ECHO "\n\r\t\b\a\q\\\""` + "\r\n",
		"quote mid argument":        `ECHO a"b c"` + "\r\n",
		"single quotes":             `ECHO 'a\'b\n'` + "\r\n",
		"empty quotes":              `X "" ''` + "\r\n",
		"blanks":                    "\v\fX\fa b\vc\rd\te  f\r\r\n",
		"quote then VT":             "X \"a\"\vb\r\n",
		"text after closing quote":  `ECHO "a"b` + "\r\n",
		"unclosed double quote":     `ECHO "abc` + "\r\n",
		"escaped closing quote":     `ECHO "a\"` + "\r\n",
		"unclosed single quote":     `ECHO 'abc` + "\r\n",
		"adjacent quotes":           `ECHO "a""b"` + "\r\n",
		"inline after multibulk":    "*1\r\n$4\r\nPING\r\nX 'y'\r\n",
		"multibulk in inline line":  "X *1\r\n",
		"CR inside unquoted inline": "X a\rb\r\n",
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			got := exchange(t, addr, []byte(in))
			want := exchange(t, addr, reencode(t, []byte(in)))
			if _, _, _, err := parseAll([]byte(in)); err != nil {
				want = AppendError(want, err.Error())
			}
			if !bytes.Equal(got, want) {
				t.Errorf("redis replied %q; ParseRequest implies %q", got, want)
			}
		})
	}
}

// reencode returns the requests ParseRequest finds in input, as multibulk requests.
func reencode(t *testing.T, input []byte) []byte {
	t.Helper()
	cmds, _, _, _ := parseAll(input)
	var out []byte
	for _, args := range cmds {
		out = AppendCommand(out, args...)
	}
	return out
}

// parseAll parses every request in input until it runs out or fails. Empty requests are dropped.
func parseAll(input []byte) (cmds [][][]byte, consumed, need int, err error) {
	for {
		n, args, need, err := ParseRequest(input[consumed:], nil, Limits{})
		if n == 0 || err != nil {
			return cmds, consumed, need, err
		}
		if len(args) > 0 {
			cmds = append(cmds, args)
		}
		consumed += n
	}
}

// TestScanReplyLiveRedis frames the replies of a real server to a pipeline of commands, reading
// them in small pieces with a ReplyScanner, in RESP2 and RESP3.
func TestScanReplyLiveRedis(t *testing.T) {
	addr := startRedis(t, "--enable-debug-command", "yes")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	cmds := pipelineForReplies()
	var out []byte
	for _, args := range cmds {
		out = AppendCommand(out, stringArgs(args)...)
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	frames := readFrames(t, c, len(cmds), 7)
	for i, frame := range frames {
		if IsError(frame) {
			t.Errorf("%q: got error reply %q", cmds[i], frame)
		}
	}
	if elems, err := SplitArray(frames[len(frames)-1], nil); err != nil || len(elems) != 10 {
		t.Errorf("MGET reply: got %d elements, %v; want 10", len(elems), err)
	}
}

func pipelineForReplies() [][]string {
	var cmds [][]string
	for _, proto := range []string{"2", "3"} {
		cmds = append(cmds,
			[]string{"HELLO", proto},
			[]string{"HSET", "h", "f1", "v1", "f2", "v2"},
			[]string{"HGETALL", "h"},
			[]string{"SADD", "s", "a", "b"},
			[]string{"SMEMBERS", "s"},
			[]string{"SET", "big", strings.Repeat("x", 100000)},
			[]string{"GET", "big"},
			[]string{"EVAL", "return {1,{2,{3,'x'}},redis.error_reply('E')}", "0"},
			[]string{"DEBUG", "PROTOCOL", "attrib"},
			[]string{"DEBUG", "PROTOCOL", "verbatim"},
			[]string{"DEBUG", "PROTOCOL", "double"},
			[]string{"DEBUG", "PROTOCOL", "bignum"},
			[]string{"DEBUG", "PROTOCOL", "null"},
			[]string{"XADD", "st", "*", "f", "v"},
			[]string{"XRANGE", "st", "-", "+"},
		)
	}
	return append(cmds, []string{"MGET", "h", "s", "big", "n1", "n2", "n3", "n4", "n5", "n6", "n7"})
}

// readFrames reads count replies from c, step bytes per read, and returns their frames.
func readFrames(t *testing.T, c net.Conn, count, step int) [][]byte {
	t.Helper()
	var s ReplyScanner
	var buf []byte
	var frames [][]byte
	for len(frames) < count {
		n, err := s.Scan(buf)
		if err != nil {
			t.Fatalf("after %d frames: %v", len(frames), err)
		}
		if n > 0 {
			frames = append(frames, bytes.Clone(buf[:n]))
			buf = buf[n:]
			continue
		}
		chunk := make([]byte, step)
		m, err := c.Read(chunk)
		if err != nil {
			t.Fatalf("after %d frames: %v", len(frames), err)
		}
		buf = append(buf, chunk[:m]...)
	}
	if len(buf) != 0 {
		t.Errorf("got %d bytes after the last reply; want 0", len(buf))
	}
	return frames
}

func stringArgs(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// TestDefaultLimitsMatchRedis checks that Redis rejects a bulk argument one byte longer than
// DefaultMaxBulk, as ParseRequest does, and accepts the header of one at the limit.
func TestDefaultLimitsMatchRedis(t *testing.T) {
	addr := startRedis(t)
	over := "*1\r\n$" + strconv.Itoa(DefaultMaxBulk+1) + "\r\n"
	if got := exchange(t, addr, []byte(over)); string(got) != "-ERR Protocol error: invalid bulk length\r\n" {
		t.Errorf("redis replied %q to a bulk over the limit", got)
	}
	if _, _, _, err := ParseRequest([]byte(over), nil, Limits{}); err == nil {
		t.Error("ParseRequest accepted a bulk over DefaultMaxBulk")
	}
	at := "*1\r\n$" + strconv.Itoa(DefaultMaxBulk) + "\r\n"
	if got := exchange(t, addr, []byte(at)); len(got) != 0 {
		t.Errorf("redis replied %q to a bulk at the limit; want it to wait", got)
	}
}
