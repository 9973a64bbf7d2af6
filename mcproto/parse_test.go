package mcproto

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// outcome is everything one Parse call decides, copied out of the input.
type outcome struct {
	N       int
	Err     *Error
	Kind    Kind
	Keys    []string
	Flags   uint32
	Exptime int64
	Cas     uint64
	Delta   uint64
	Noreply bool
	Data    string
	Line    string
	Args    []string
}

func parseOutcome(t testing.TB, p *Parser, input []byte, lim Limits) outcome {
	t.Helper()
	var req Request
	n, err := p.Parse(input, lim, &req)
	o := outcome{N: n}
	if err != nil {
		if !errors.As(err, &o.Err) {
			t.Fatalf("Parse(%q) error %v is no *Error", input, err)
		}
		if n != 0 {
			t.Fatalf("Parse(%q) = %d with error %v; want 0 with an error", input, n, err)
		}
		if !o.Err.Delete {
			return o // the request is only meaningful for Delete
		}
	}
	o.Kind, o.Flags, o.Exptime, o.Cas, o.Delta, o.Noreply = req.Kind, req.Flags, req.Exptime, req.Cas, req.Delta, req.Noreply
	o.Keys, o.Args = strs(req.Keys), strs(req.Args)
	o.Data, o.Line = string(req.Data), string(req.Line)
	return o
}

func strs(bs [][]byte) []string {
	if len(bs) == 0 {
		return nil
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func decided(o outcome) bool { return o.N > 0 || o.Err != nil }

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  outcome
	}{
		{"get", "get a b a\r\n", outcome{Kind: Get, Keys: []string{"a", "b", "a"}, Line: "get a b a"}},
		{"gets", "gets a\r\n", outcome{Kind: Gets, Keys: []string{"a"}, Line: "gets a"}},
		{"gat", "gat 10 a b\r\n", outcome{Kind: Gat, Exptime: 10, Keys: []string{"a", "b"}, Line: "gat 10 a b"}},
		{"gats", "gats -1 a\r\n", outcome{Kind: Gats, Exptime: -1, Keys: []string{"a"}, Line: "gats -1 a"}},
		{"gat without keys", "gat 0\r\n", outcome{Kind: Gat, Line: "gat 0"}},
		{"bget", "bget a\r\n", outcome{Kind: Get, Keys: []string{"a"}, Line: "bget a"}},
		{"set", "set k 5 100 3 noreply\r\nabc\r\n",
			outcome{Kind: Set, Keys: []string{"k"}, Flags: 5, Exptime: 100, Noreply: true, Data: "abc", Line: "set k 5 100 3 noreply"}},
		{"add", "add k 0 0 1\r\nx\r\n", outcome{Kind: Add, Keys: []string{"k"}, Data: "x", Line: "add k 0 0 1"}},
		{"replace", "replace k 0 0 1\r\nx\r\n", outcome{Kind: Replace, Keys: []string{"k"}, Data: "x", Line: "replace k 0 0 1"}},
		{"append", "append k 0 0 1\r\nx\r\n", outcome{Kind: Append, Keys: []string{"k"}, Data: "x", Line: "append k 0 0 1"}},
		{"prepend", "prepend k 0 0 1\r\nx\r\n", outcome{Kind: Prepend, Keys: []string{"k"}, Data: "x", Line: "prepend k 0 0 1"}},
		{"cas", "cas k 1 2 3 99\r\nabc\r\n", outcome{Kind: Cas, Keys: []string{"k"}, Flags: 1, Exptime: 2, Cas: 99, Data: "abc", Line: "cas k 1 2 3 99"}},
		{"value holding CRLF", "set k 0 0 4\r\n\r\n\r\n\r\n", outcome{Kind: Set, Keys: []string{"k"}, Data: "\r\n\r\n", Line: "set k 0 0 4"}},
		{"delete", "delete k\r\n", outcome{Kind: Delete, Keys: []string{"k"}, Line: "delete k"}},
		{"delete 0 noreply", "delete k 0 noreply\r\n", outcome{Kind: Delete, Keys: []string{"k"}, Noreply: true, Line: "delete k 0 noreply"}},
		{"incr", "incr k 5\r\n", outcome{Kind: Incr, Keys: []string{"k"}, Delta: 5, Line: "incr k 5"}},
		{"decr", "decr k 18446744073709551615 noreply\r\n",
			outcome{Kind: Decr, Keys: []string{"k"}, Delta: 1<<64 - 1, Noreply: true, Line: "decr k 18446744073709551615 noreply"}},
		{"touch", "touch k 60 noreply\r\n", outcome{Kind: Touch, Keys: []string{"k"}, Exptime: 60, Noreply: true, Line: "touch k 60 noreply"}},
		{"flush_all", "flush_all\r\n", outcome{Kind: FlushAll, Line: "flush_all"}},
		{"flush_all delay", "flush_all 30 noreply\r\n",
			outcome{Kind: FlushAll, Exptime: 30, Noreply: true, Args: []string{"30", "noreply"}, Line: "flush_all 30 noreply"}},
		{"version", "version\r\n", outcome{Kind: Version, Line: "version"}},
		{"verbosity", "verbosity 1 noreply\r\n", outcome{Kind: Verbosity, Noreply: true, Args: []string{"1", "noreply"}, Line: "verbosity 1 noreply"}},
		{"stats", "stats slabs\r\n", outcome{Kind: Stats, Args: []string{"slabs"}, Line: "stats slabs"}},
		{"quit", "quit\r\n", outcome{Kind: Quit, Line: "quit"}},
		{"discoh", "discoh pull user:1\r\n", outcome{Kind: Discoh, Keys: []string{"user:1"}, Args: []string{"pull"}, Line: "discoh pull user:1"}},
		{"mg", "mg k v q O1\r\n", outcome{Kind: MetaGet, Keys: []string{"k"}, Noreply: true, Args: []string{"v", "q", "O1"}, Line: "mg k v q O1"}},
		{"ms", "ms k 2 T10 F5\r\nhi\r\n", outcome{Kind: MetaSet, Keys: []string{"k"}, Data: "hi", Args: []string{"T10", "F5"}, Line: "ms k 2 T10 F5"}},
		{"ms base64 key", "ms Zm9v 1 b\r\nx\r\n", outcome{Kind: MetaSet, Keys: []string{"foo"}, Data: "x", Args: []string{"b"}, Line: "ms Zm9v 1 b"}},
		{"ms undecodable key", "ms Zm9 1 b\r\nx\r\n", outcome{Kind: MetaSet, Keys: []string{"Zm9"}, Data: "x", Args: []string{"b"}, Line: "ms Zm9 1 b"}},
		{"md", "md k q\r\n", outcome{Kind: MetaDelete, Keys: []string{"k"}, Noreply: true, Args: []string{"q"}, Line: "md k q"}},
		{"ma", "ma k D5 MD\r\n", outcome{Kind: MetaArithmetic, Keys: []string{"k"}, Args: []string{"D5", "MD"}, Line: "ma k D5 MD"}},
		{"mn", "mn\r\n", outcome{Kind: MetaNoop, Line: "mn"}},
		{"me", "me k\r\n", outcome{Kind: MetaDebug, Keys: []string{"k"}, Line: "me k"}},
		{"me base64 key", "me Zm9v b\r\n", outcome{Kind: MetaDebug, Keys: []string{"foo"}, Args: []string{"b"}, Line: "me Zm9v b"}},
		{"LF-only line", "set k 0 0 1\na\r\n", outcome{Kind: Set, Keys: []string{"k"}, Data: "a", Line: "set k 0 0 1"}},
		{"numbers as C reads them", "set k 4294967297 -9223372036854775808 +1\r\na\r\n",
			outcome{Kind: Set, Keys: []string{"k"}, Flags: 1, Data: "a", Line: "set k 4294967297 -9223372036854775808 +1"}},
		{"spaces", "  get   a  \r\n", outcome{Kind: Get, Keys: []string{"a"}, Line: "  get   a  "}},
		{"NUL cuts the line", "get a\x00b c\r\n", outcome{Kind: Get, Keys: []string{"a"}, Line: "get a"}},
		{"CR inside the line", "get a\r\r\n", outcome{Kind: Get, Keys: []string{"a\r"}, Line: "get a\r"}},
		{"line of MaxLine bytes, CR included", "flush_all" + strings.Repeat(" ", 2038) + "\r\n",
			outcome{Kind: FlushAll, Line: "flush_all" + strings.Repeat(" ", 2038)}},
		{"get of 1022 keys", "get " + strings.Repeat("k ", 1022) + "\r\n",
			outcome{Kind: Get, Keys: strings.Fields(strings.Repeat("k ", 1022)), Line: "get " + strings.Repeat("k ", 1022)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Parser
			tc.want.N = len(tc.input)
			got := parseOutcome(t, &p, []byte(tc.input+"get next\r\n"), Limits{})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q):\n got %+v;\nwant %+v", tc.input, got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	small := Limits{MaxKeys: 3, ItemSizeMax: 100, MaxLine: 300}
	line := func(s string) int { return len(s) }
	tests := []struct {
		name  string
		input string
		lim   Limits
		want  Error
	}{
		{"unknown command", "foo\r\n", small, Error{Reply: "ERROR", Skip: 5}},
		{"bad number keeps the data for the next command", "set k x 0 1\r\na\r\n", small,
			Error{Reply: replyBadFormat, Skip: line("set k x 0 1\r\n")}},
		{"bad number noreply", "set k x 0 1 noreply\r\na\r\n", small, Error{Skip: line("set k x 0 1 noreply\r\n")}},
		{"bad data chunk", "set k 0 0 1\r\nabc", small, Error{Reply: replyBadChunk, Skip: line("set k 0 0 1\r\nab\r")}},
		{"bad data chunk noreply", "set k 0 0 1 noreply\r\nabc", small, Error{Skip: line("set k 0 0 1 noreply\r\nab\r")}},
		{"too large set", "set k 0 0 101\r\n", small, Error{Reply: replyTooLarge, Skip: line("set k 0 0 101\r\n") + 103, Delete: true}},
		{"too large set noreply", "set k 0 0 101 noreply\r\n", small, Error{Skip: line("set k 0 0 101 noreply\r\n") + 103, Delete: true}},
		{"too large add", "add k 0 0 101\r\n", small, Error{Reply: replyTooLarge, Skip: line("add k 0 0 101\r\n") + 103}},
		{"huge bytes wrap to int32", "set k 0 0 99999999999\r\n", small,
			Error{Reply: replyTooLarge, Skip: line("set k 0 0 99999999999\r\n") + 1215752191 + 2, Delete: true}},
		{"too large ms, quiet or not", "ms k 101 q\r\n", small, Error{Reply: replyTooLarge, Skip: line("ms k 101 q\r\n") + 103, Delete: true}},
		{"ms bad chunk, quiet or not", "ms k 1 q\r\nabc", small, Error{Reply: replyBadChunk, Skip: line("ms k 1 q\r\nab\r")}},
		{"key too long", "get " + key251 + "\r\n", Limits{}, Error{Reply: replyBadFormat, Skip: 257}},
		{"key too long noreply", "touch " + key251 + " 0 noreply\r\n", Limits{}, Error{Skip: line("touch " + key251 + " 0 noreply\r\n")}},
		{"incr bad delta", "incr k -1\r\n", small, Error{Reply: replyBadDelta, Skip: 11}},
		{"incr bad delta noreply", "incr k x noreply\r\n", small, Error{Skip: 18}},
		{"touch bad exptime", "touch k x\r\n", small, Error{Reply: replyBadExptime, Skip: 11}},
		{"gat bad exptime", "gat k k\r\n", small, Error{Reply: replyBadExptime, Skip: 9}},
		{"delete usage", "delete k 5\r\n", small, Error{Reply: replyDeleteUsage, Skip: 12}},
		{"flush_all bad delay", "flush_all soon\r\n", small, Error{Reply: replyBadExptime, Skip: 16}},
		{"verbosity bad level", "verbosity loud\r\n", small, Error{Reply: replyBadFormat, Skip: 16}},
		{"discoh without key", "discoh read\r\n", small, Error{Reply: replyBadFormat, Skip: 13}},
		{"ms without key", "ms\r\n", small, Error{Reply: "ERROR", Skip: 4}},
		{"ms without length", "ms k\r\n", small, Error{Reply: replyBadFormat, Skip: 6}},
		{"ms flags too long", "ms k 1 " + manyFlags + "\r\na\r\n", small, Error{Reply: replyFlagsLong, Skip: line("ms k 1 " + manyFlags + "\r\n")}},
		{"me without key", "me\r\n", small, Error{Reply: replyBadFormat, Skip: 4}},
		{"too many keys", "get a b c d\r\n", small, Error{Reply: replyTooManyKeys, Skip: 13}},
		{"line over MaxLine", "set " + strings.Repeat("k", 297), small, Error{Close: true}},
		{"line over MaxLine with its newline", "set " + strings.Repeat("k", 297) + "\r\n", small, Error{Close: true}},
		{"get line over its limit", "get " + strings.Repeat("k", 300+3*251-3), small, Error{Reply: replyLineTooLong, Close: true}},
		{"get after 101 spaces is cut like any line", strings.Repeat(" ", 101) + "get " + strings.Repeat("k", 200), small, Error{Close: true}},
		{"default line limit", strings.Repeat("x", 2049), Limits{}, Error{Close: true}},
		{"line limit below the minimum", strings.Repeat("x", 257), Limits{MaxLine: 10}, Error{Close: true}},
		{"binary magic alone", "\x80", small, Error{Close: true}},
		{"binary get", "\x80\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x03" + strings.Repeat("\x00", 12) + "foo", small, Error{Close: true}},
		{"binary magic before a newline", "\x80\r\n", small, Error{Close: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Parser
			got := parseOutcome(t, &p, []byte(tc.input), tc.lim)
			if got.Err == nil {
				t.Fatalf("Parse(%q) = %+v; want error %+v", tc.input, got, tc.want)
			}
			e := *got.Err
			if e.Reply != tc.want.Reply || e.Skip != tc.want.Skip || e.Close != tc.want.Close || e.Delete != tc.want.Delete {
				t.Errorf("Parse error = {Reply:%q Skip:%d Close:%v Delete:%v}; want {Reply:%q Skip:%d Close:%v Delete:%v}",
					e.Reply, e.Skip, e.Close, e.Delete, tc.want.Reply, tc.want.Skip, tc.want.Close, tc.want.Delete)
			}
			if e.Delete && (got.Kind == Unknown || len(got.Keys) != 1) {
				t.Errorf("Delete error with Kind %v Keys %q; want the request's kind and key", got.Kind, got.Keys)
			}
		})
	}
}

func TestParseWaitsUnderTheLimits(t *testing.T) {
	small := Limits{MaxKeys: 3, ItemSizeMax: 100, MaxLine: 300}
	tests := []struct{ name, input string }{
		{"line of MaxLine bytes without newline", strings.Repeat("k", 300)},
		{"get line past MaxLine", "get " + strings.Repeat("k", 400)},
		{"get after 100 spaces", strings.Repeat(" ", 100) + "gets " + strings.Repeat("k", 400)},
		{"value up to ItemSizeMax", "set k 0 0 100\r\n" + strings.Repeat("v", 60)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Parser
			if got := parseOutcome(t, &p, []byte(tc.input), small); decided(got) {
				t.Errorf("Parse(%q) = %+v; want 0 and no error, waiting for more", tc.input, got)
			}
		})
	}
}

// TestParseAbsurdLimits checks that limits too large to add up are capped rather than
// overflowing into a panic.
func TestParseAbsurdLimits(t *testing.T) {
	var p Parser
	lim := Limits{MaxKeys: math.MaxInt, ItemSizeMax: math.MaxInt, MaxLine: math.MaxInt}
	tests := []struct {
		input string
		want  int
	}{
		{"get a\r\n", 7},
		{"get " + strings.Repeat("a", 5000), 0},
		{"set k 0 0 2147483645\r\n", 0},
	}
	for _, tc := range tests {
		got := parseOutcome(t, &p, []byte(tc.input), lim)
		if got.N != tc.want || got.Err != nil {
			t.Errorf("Parse(%q) = %+v; want %d and no error", trim([]byte(tc.input)), got, tc.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name      string
		err       *Error
		wantReply string
		wantText  string
	}{
		{"reply", reject(replyBadChunk, 10, false), "CLIENT_ERROR bad data chunk\r\n", "mcproto: CLIENT_ERROR bad data chunk"},
		{"noreply keeps the reason", reject(replyBadChunk, 10, true), "", "mcproto: CLIENT_ERROR bad data chunk"},
		{"silent close", closeConn("", "line too long"), "", "mcproto: line too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.err.AppendReply([]byte("x"))); got != "x"+tc.wantReply {
				t.Errorf("AppendReply = %q; want %q", got, "x"+tc.wantReply)
			}
			if got := tc.err.Error(); got != tc.wantText {
				t.Errorf("Error() = %q; want %q", got, tc.wantText)
			}
		})
	}
}

// TestParseSplit parses every prefix of every request in the traffic and the tables: no
// verdict until the request is complete, then always the one the whole input gets.
func TestParseSplit(t *testing.T) {
	var inputs []string
	for _, tc := range trafficCases {
		inputs = append(inputs, tc.input)
	}
	inputs = append(inputs, "get a b\r\nset k 0 0 1\r\nx\r\nms k 2 q\r\nhi\r\n", "set k 0 0 1\r\nabc")
	for i, input := range inputs {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			for rest := []byte(input); len(rest) > 0; {
				n := checkPrefixes(t, rest, relayLimits)
				if n == 0 {
					break
				}
				rest = rest[min(n, len(rest)):]
			}
		})
	}
}

// checkPrefixes requires every prefix of input that Parse decides on to get the verdict
// input itself gets, and returns how far that verdict lets a caller advance (0 to stop).
// Past the first few KB it samples the prefixes around the verdict.
func checkPrefixes(t testing.TB, input []byte, lim Limits) int {
	t.Helper()
	var p Parser
	whole := parseOutcome(t, &p, input, lim)
	advance := whole.N
	if whole.Err != nil && !whole.Err.Close {
		advance = whole.Err.Skip
	}
	for i := 0; i < len(input); i++ {
		if i > 4096 && (i < advance-2 || i > advance+2) {
			continue
		}
		part := parseOutcome(t, &p, input[:i], lim)
		if decided(part) && !reflect.DeepEqual(part, whole) {
			t.Fatalf("Parse of the first %d bytes of %q = %+v; the whole input gets %+v", i, trim(input), part, whole)
		}
	}
	return advance
}

func trim(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

func TestParseAllocs(t *testing.T) {
	tests := []struct{ name, input string }{
		{"get", "get k\r\n"},
		{"multi-get", "get a b c d e f g h i j\r\n"},
		{"set", "set k 0 0 64\r\n" + strings.Repeat("v", 64) + "\r\n"},
		{"mg", "mg k v f q\r\n"},
		{"ms base64", "ms Zm9v 2 b\r\nhi\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Parser
			var req Request
			input := []byte(tc.input)
			allocs := testing.AllocsPerRun(100, func() {
				if n, err := p.Parse(input, Limits{}, &req); n != len(input) || err != nil {
					t.Fatalf("Parse(%q) = %d, %v; want %d, nil", input, n, err, len(input))
				}
			})
			if allocs != 0 {
				t.Errorf("Parse(%q) allocates %v times per call; want 0", input, allocs)
			}
		})
	}
}
