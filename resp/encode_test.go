package resp

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"array len", AppendArrayLen(nil, 3), "*3\r\n"},
		{"empty array", AppendArrayLen(nil, 0), "*0\r\n"},
		{"map RESP3", AppendMapLen(nil, 2, true), "%2\r\n"},
		{"map RESP2", AppendMapLen(nil, 2, false), "*4\r\n"},
		{"bulk", AppendBulk(nil, []byte("a\r\nb")), "$4\r\na\r\nb\r\n"},
		{"empty bulk", AppendBulk(nil, nil), "$0\r\n\r\n"},
		{"bulk string", AppendBulkString(nil, "foo"), "$3\r\nfoo\r\n"},
		{"int", AppendInt(nil, -42), ":-42\r\n"},
		{"min int", AppendInt(nil, math.MinInt64), ":-9223372036854775808\r\n"},
		{"error", AppendError(nil, "ERR unknown command"), "-ERR unknown command\r\n"},
		{"error trailing CRLF", AppendError(nil, "ERR x\r\n"), "-ERR x\r\n"},
		{"error inner line breaks", AppendError(nil, "ERR a\r\nb\nc"), "-ERR a  b c\r\n"},
		{"empty error", AppendError(nil, ""), "-ERR\r\n"},
		{"simple", AppendSimple(nil, "OK"), "+OK\r\n"},
		{"simple line break", AppendSimple(nil, "a\nb\r\n"), "+a b\r\n"},
		{"null RESP2", AppendNull(nil, false), "$-1\r\n"},
		{"null RESP3", AppendNull(nil, true), "_\r\n"},
		{"null array RESP2", AppendNullArray(nil, false), "*-1\r\n"},
		{"null array RESP3", AppendNullArray(nil, true), "_\r\n"},
		{"command", AppendCommand(nil, []byte("GET"), []byte("k")), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"},
		{"appends", AppendInt([]byte("+OK\r\n"), 1), "+OK\r\n:1\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.got) != tc.want {
				t.Errorf("got %q; want %q", tc.got, tc.want)
			}
		})
	}
}

// TestAppendedRepliesScan checks that every encoded value is one frame to ScanReply.
func TestAppendedRepliesScan(t *testing.T) {
	var buf []byte
	buf = AppendMapLen(buf, 1, true)
	buf = AppendBulkString(buf, "k")
	buf = AppendNullArray(buf, true)
	buf = AppendError(buf, "ERR x\ny")
	buf = AppendMapLen(buf, 1, false)
	buf = AppendSimple(buf, "a")
	buf = AppendNull(buf, false)
	want := []string{"%1\r\n$1\r\nk\r\n_\r\n", "-ERR x y\r\n", "*2\r\n+a\r\n$-1\r\n"}
	if got := splitFrames(t, buf); !slices.Equal(got, want) {
		t.Errorf("got frames %q; want %q", got, want)
	}
}

func TestCommandRoundTrip(t *testing.T) {
	tests := [][]string{
		{"PING"},
		{"SET", "key", strings.Repeat("v", 64)},
		{"SET", "k", ""},
		{"ECHO", "a\r\nb\x00\xff"},
		{"MSET", "a", "1", "b", "2", "c", "3"},
	}
	for _, args := range tests {
		t.Run(args[0], func(t *testing.T) {
			raw := make([][]byte, len(args))
			for i, a := range args {
				raw[i] = []byte(a)
			}
			buf := AppendCommand(nil, raw...)
			n, got, need, err := ParseRequest(buf, nil, Limits{})
			if n != len(buf) || need != 0 || err != nil {
				t.Fatalf("got n=%d need=%d err=%v; want %d, 0, nil", n, need, err, len(buf))
			}
			if !slices.Equal(strs(got), args) {
				t.Errorf("got %q; want %q", strs(got), args)
			}
		})
	}
}

func TestAppendAllocations(t *testing.T) {
	dst := make([]byte, 0, 512)
	key, value := []byte("key"), []byte("value")
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendArrayLen(dst[:0], 2)
		b = AppendBulk(b, key)
		b = AppendBulkString(b, "s")
		b = AppendInt(b, 12345)
		b = AppendError(b, "ERR x\ny")
		b = AppendSimple(b, "OK")
		b = AppendNull(b, false)
		b = AppendNullArray(b, true)
		b = AppendMapLen(b, 1, false)
		AppendCommand(b, key, value)
	})
	if allocs != 0 {
		t.Errorf("got %v allocs; want 0", allocs)
	}
}
