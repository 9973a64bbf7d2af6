package resp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// requestCase is one input to ParseRequest and what it must return.
type requestCase struct {
	name string
	in   string
	lim  Limits
	n    int // or all
	args []string
	need int
	err  string // Error() text; "" for none
}

var multibulkCases = []requestCase{
	{name: "ping", in: "*1\r\n$4\r\nPING\r\n", n: all, args: []string{"PING"}},
	{name: "set empty value", in: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", n: all, args: []string{"SET", "k", ""}},
	{name: "binary bulk", in: "*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", n: all, args: []string{"ECHO", "a\r\nb"}},
	{name: "first of a pipeline", in: "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", n: 14, args: []string{"PING"}},
	{name: "zero count", in: "*0\r\nPING\r\n", n: 4},
	{name: "null count", in: "*-1\r\n", n: 5},
	{name: "negative count", in: "*-5\r\n", n: 5},
	{name: "bytes after data unchecked", in: "*1\r\n$4\r\nPINGXY", n: 14, args: []string{"PING"}},
	{name: "byte after header CR unchecked", in: "*1\rX$4\r\nPING\r\n", n: all, args: []string{"PING"}},

	{name: "empty", in: ""},
	{name: "star only", in: "*"},
	{name: "count without CR", in: "*1"},
	{name: "count without LF", in: "*1\r"},
	{name: "no bulk yet", in: "*3\r\n", need: 4 + 3*minBulkSize},
	{name: "bulk header partial", in: "*2\r\n$3\r\nGET\r\n$1", need: 13 + minBulkSize},
	{name: "bulk data partial", in: "*1\r\n$4\r\nPI", need: 14},
	{name: "bulk trailer partial", in: "*1\r\n$4\r\nPING\r", need: 14},
	{name: "later bulks counted", in: "*3\r\n$3\r\nSET\r\n$1\r\nk", need: 20 + minBulkSize},
	{name: "unchecked type waits for its line", in: "*1\r\nx", need: 4 + minBulkSize},

	{name: "minus zero count", in: "*-0\r\n", err: "ERR Protocol error: invalid multibulk length"},
	{name: "leading zero count", in: "*01\r\n", err: "ERR Protocol error: invalid multibulk length"},
	{name: "empty count", in: "*\r\n", err: "ERR Protocol error: invalid multibulk length"},
	{name: "space in count", in: "*1 \r\n", err: "ERR Protocol error: invalid multibulk length"},
	{name: "count over int32", in: "*2147483648\r\n", err: "ERR Protocol error: invalid multibulk length"},
	{name: "letters in count", in: "*abc\r\n", err: "ERR Protocol error: invalid multibulk length"},
	{name: "leading zero size", in: "*1\r\n$04\r\nPING\r\n", err: "ERR Protocol error: invalid bulk length"},
	{name: "null bulk in request", in: "*1\r\n$-1\r\n", err: "ERR Protocol error: invalid bulk length"},
	{name: "empty size", in: "*1\r\n$\r\n", err: "ERR Protocol error: invalid bulk length"},
	{name: "LF in size line", in: "*1\r\n$4\n\r\nPING\r\n", err: "ERR Protocol error: invalid bulk length"},
	{name: "blank bulk header", in: "*1\r\n\r\n", err: "ERR Protocol error: expected '$', got ' '"},
	{name: "data past its size", in: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", err: "ERR Protocol error: expected '$', got 'f'"},
	{name: "long count line", in: "*" + strings.Repeat("1", 70000), err: "ERR Protocol error: too big mbulk count string"},
	{name: "long size line", in: "*1\r\n" + strings.Repeat("$", 70000), err: "ERR Protocol error: too big bulk count string"},
	{
		name: "size line over MaxInline though complete",
		in:   "*1\r\n$" + strings.Repeat("1", 20) + "\r\n", lim: Limits{MaxInline: 16},
		err: "ERR Protocol error: too big bulk count string",
	},

	{name: "MaxArgs", in: "*1025\r\n", lim: Limits{MaxArgs: 1024}, err: "ERR Protocol error: invalid multibulk length (more than 1024 arguments)"},
	{name: "MaxArgs exactly", in: "*2\r\n$1\r\na\r\n$1\r\nb\r\n", lim: Limits{MaxArgs: 2}, n: all, args: []string{"a", "b"}},
	{
		name: "MaxBulk", in: "*2\r\n$3\r\nSET\r\n$600000\r\n", lim: Limits{MaxBulk: 524288},
		err: "ERR Protocol error: invalid bulk length (600000 bytes over limit 524288)",
	},
	{name: "MaxBulk exactly", in: "*1\r\n$3\r\nabc\r\n", lim: Limits{MaxBulk: 3}, n: all, args: []string{"abc"}},
}

var inlineCases = []requestCase{
	{name: "ping", in: "PING\r\n", n: all, args: []string{"PING"}},
	{name: "LF only", in: "PING\n", n: all, args: []string{"PING"}},
	{name: "first of a pipeline", in: "SET k v\r\nGET k\r\n", n: 9, args: []string{"SET", "k", "v"}},
	{name: "blanks around", in: " \t SET  k\tv \r\n", n: all, args: []string{"SET", "k", "v"}},
	{name: "LF alone", in: "\nPING\r\n", n: 1},
	{name: "CRLF alone", in: "\r\n", n: 2},
	{name: "blank line", in: "  \t \r\n", n: 6},
	{name: "CR line", in: "\r\r\n", n: 3},
	{name: "two CRs", in: "PING\r\r\n", n: all, args: []string{"PING"}},
	{name: "CR separates", in: "ECHO a\rb\r\n", n: all, args: []string{"ECHO", "a", "b"}},
	{name: "VT inside an argument", in: "ECHO a\vb\r\n", n: all, args: []string{"ECHO", "a\vb"}},
	{name: "VT and FF as leading blanks", in: "\v\fECHO\fa\r\n", n: all, args: []string{"ECHO\fa"}},
	{name: "NUL is ordinary", in: "ECHO a\x00b\r\n", n: all, args: []string{"ECHO", "a\x00b"}},
	{name: "hex escapes", in: `ECHO "a\x41\x4g" ` + "\r\n", n: all, args: []string{"ECHO", "aAx4g"}},
	{name: "hex both cases", in: `ECHO "\xAb\xcD\x0"` + "\r\n", n: all, args: []string{"ECHO", "\xab\xcdx0"}},
	{name: "C escapes", in: `ECHO "\n\r\t\b\a\q\\\""` + "\r\n", n: all, args: []string{"ECHO", "\n\r\t\b\aq\\\""}},
	{name: "quote mid argument", in: `ECHO a"b c"` + "\r\n", n: all, args: []string{"ECHO", "ab c"}},
	{name: "single quotes", in: `ECHO 'a\'b' 'c\nd'` + "\r\n", n: all, args: []string{"ECHO", "a'b", `c\nd`}},
	{name: "empty quotes", in: `ECHO "" ''` + "\r\n", n: all, args: []string{"ECHO", "", ""}},
	{name: "quote then VT", in: "ECHO \"a\"\vb\r\n", n: all, args: []string{"ECHO", "a", "b"}},
	{
		name: "many quoted arguments", in: `SET "k 1" "v\x00 2" plain 'x y' "\x41"` + "\r\n", n: all,
		args: []string{"SET", "k 1", "v\x00 2", "plain", "x y", "A"},
	},

	{name: "no LF", in: "PING"},
	{name: "no LF after CR", in: "PING\r"},
	{name: "line at MaxInline", in: strings.Repeat("a", 65536)},

	{name: "text after closing quote", in: `ECHO "a"b` + "\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
	{name: "unclosed double", in: `ECHO "abc` + "\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
	{name: "escaped closing quote", in: `ECHO "a\"` + "\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
	{name: "unclosed single", in: `ECHO 'abc` + "\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
	{name: "adjacent quotes", in: `ECHO "a""b"` + "\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
	{name: "line over MaxInline", in: strings.Repeat("a", 65537), err: "ERR Protocol error: too big inline request"},
	{
		name: "line over MaxInline though complete", in: strings.Repeat("a", 17) + "\n", lim: Limits{MaxInline: 16},
		err: "ERR Protocol error: too big inline request",
	},
	{name: "MaxArgs", in: "a b c\n", lim: Limits{MaxArgs: 2}, err: "ERR Protocol error: invalid multibulk length (more than 2 arguments)"},
}

// all, as requestCase.n, stands for len(in).
const all = -1

func TestParseRequestMultibulk(t *testing.T) { runRequestCases(t, multibulkCases) }

func TestParseRequestInline(t *testing.T) { runRequestCases(t, inlineCases) }

func runRequestCases(t *testing.T, cases []requestCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.n = tc.consumed()
			n, args, need, err := ParseRequest([]byte(tc.in), nil, tc.lim)
			checkRequest(t, "ParseRequest", tc, n, args, need, err)
			var p Parser
			n, args, need, err = p.Parse([]byte(tc.in), tc.lim)
			checkRequest(t, "Parser.Parse", tc, n, args, need, err)
		})
	}
}

func (tc requestCase) consumed() int {
	if tc.n == all {
		return len(tc.in)
	}
	return tc.n
}

func checkRequest(t *testing.T, fn string, tc requestCase, n int, args [][]byte, need int, err error) {
	t.Helper()
	if got := errText(err); got != tc.err {
		t.Fatalf("%s error: got %q; want %q", fn, got, tc.err)
	}
	if n != tc.n || need != tc.need {
		t.Errorf("%s: got n=%d need=%d; want n=%d need=%d", fn, n, need, tc.n, tc.need)
	}
	if got := strs(args); !slices.Equal(got, tc.args) {
		t.Errorf("%s args: got %q; want %q", fn, got, tc.args)
	}
}

// TestParseRequestSplit feeds every proper prefix of each complete request: none may complete or
// fail, and any need reported must lie beyond the prefix and within the request.
func TestParseRequestSplit(t *testing.T) {
	for _, tc := range slices.Concat(multibulkCases, inlineCases) {
		tc.n = tc.consumed()
		if tc.n == 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			for k := range tc.n {
				n, _, need, err := ParseRequest([]byte(tc.in[:k]), nil, tc.lim)
				if n != 0 || err != nil {
					t.Fatalf("prefix %d: got n=%d err=%v; want 0, nil", k, n, err)
				}
				if need != 0 && (need <= k || need > tc.n) {
					t.Fatalf("prefix %d: got need %d; want 0 or in (%d, %d]", k, need, k, tc.n)
				}
			}
		})
	}
}

func TestProtocolErrorKinds(t *testing.T) {
	tests := []struct {
		in        string
		lim       Limits
		sentinel  error
		overLimit bool
	}{
		{in: "*x\r\n", sentinel: ErrInvalidMultibulkLength},
		{in: "*1\r\n$x\r\n", sentinel: ErrInvalidBulkLength},
		{in: "\"\n", sentinel: ErrUnbalancedQuotes},
		{in: "aaaa", lim: Limits{MaxInline: 3}, sentinel: ErrTooBigInline},
		{in: "*1111", lim: Limits{MaxInline: 3}, sentinel: ErrTooBigMultibulkCount},
		{in: "*1\r\n$111", lim: Limits{MaxInline: 3}, sentinel: ErrTooBigBulkCount},
		{in: "*3\r\n", lim: Limits{MaxArgs: 2}, overLimit: true},
		{in: "*1\r\n$3\r\n", lim: Limits{MaxBulk: 2}, overLimit: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			_, _, _, err := ParseRequest([]byte(tc.in), nil, tc.lim)
			var perr *ProtocolError
			if !errors.As(err, &perr) {
				t.Fatalf("got %v; want a *ProtocolError", err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("got %v; want %v", err, tc.sentinel)
			}
			if got := errors.Is(err, ErrOverLimit); got != tc.overLimit {
				t.Errorf("errors.Is(%v, ErrOverLimit): got %v; want %v", err, got, tc.overLimit)
			}
		})
	}
}

// TestParserReuse checks that a Parser returns correct arguments when its storage is reused.
func TestParserReuse(t *testing.T) {
	var p Parser
	inputs := []string{
		`SET "a b" "c d"` + "\n",
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
		`SET 'x' "\x41\x42" z` + "\n",
	}
	want := [][]string{{"SET", "a b", "c d"}, {"GET", "k"}, {"SET", "x", "AB", "z"}}
	for i, in := range inputs {
		_, args, _, err := p.Parse([]byte(in), Limits{})
		if got := strs(args); err != nil || !slices.Equal(got, want[i]) {
			t.Errorf("input %d: got %q, %v; want %q", i, got, err, want[i])
		}
	}
}

func TestParseAllocations(t *testing.T) {
	tests := []struct{ name, in string }{
		{"multibulk", "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"},
		{"inline", "SET key value\r\n"},
		{"quoted inline", `SET "key 1" "\x41 value"` + "\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Parser
			buf := []byte(tc.in)
			p.Parse(buf, Limits{})
			allocs := testing.AllocsPerRun(100, func() { p.Parse(buf, Limits{}) })
			if allocs != 0 {
				t.Errorf("got %v allocs per Parse; want 0", allocs)
			}
		})
	}
}

func strs(args [][]byte) []string {
	if len(args) == 0 {
		return nil
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
