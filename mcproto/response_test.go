package mcproto

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Replies as memcached 1.6.18 writes them (captured from the server).
const (
	twoValues   = "VALUE a 0 1\r\nx\r\nVALUE bb 7 3 42\r\nyyy\r\nEND\r\n"
	statsReply  = "STAT pid 1\r\nSTAT uptime 2\r\nSTAT version 1.6.18\r\nEND\r\n"
	metaValue   = "VA 2 s2 f0 t-1 c20 km O123\r\nhi\r\n"
	metaArith   = "VA 1\r\n7\r\n"
	metaDebug   = "ME m exp=-1 la=8 cas=20 fetch=yes cls=1 size=62\r\n"
	oomMidway   = "VALUE a 0 1\r\nx\r\nSERVER_ERROR out of memory writing get response\r\n"
	nextReplies = "STORED\r\n"
)

func TestScanResponse(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		in      string
		want    int
		wantErr error
	}{
		{"miss", Get, "END\r\n", 5, nil},
		{"values", Gets, twoValues, len(twoValues), nil},
		{"values then more", Get, twoValues + nextReplies, len(twoValues), nil},
		{"value holding END", Get, "VALUE a 0 5\r\nEND\r\n\r\nEND\r\n", 25, nil},
		{"error midway", Get, oomMidway, len(oomMidway), nil},
		{"error instead", Gat, "CLIENT_ERROR bad command line format\r\n", 38, nil},
		{"ERROR", Set, "ERROR\r\n", 7, nil},
		{"incomplete line", Get, "VALUE a 0 1\r", 0, nil},
		{"incomplete data", Get, "VALUE a 0 10\r\nabc", 0, nil},
		{"no END yet", Get, "VALUE a 0 1\r\nx\r\n", 0, nil},
		{"bad VALUE size", Get, "VALUE a 0 x\r\nx\r\nEND\r\n", 0, ErrBadResponse},
		{"VALUE without key", Get, "VALUE  0 1\r\nx\r\nEND\r\n", 0, ErrBadResponse},
		{"data not ended by CRLF", Get, "VALUE a 0 1\r\nxyz\r\nEND\r\n", 0, ErrBadResponse},
		{"stored is no get reply", Get, "STORED\r\n", 0, ErrBadResponse},
		{"line ended by LF", Get, "END\n", 0, ErrBadResponse},
		{"endless line", Get, strings.Repeat("x", maxResponseLine), 0, ErrBadResponse},
		{"long line under the bound", Get, strings.Repeat("x", maxResponseLine-1), 0, nil},
		{"stored", Set, "STORED\r\n", 8, nil},
		{"not stored", Add, "NOT_STORED\r\n", 12, nil},
		{"exists", Cas, "EXISTS\r\n", 8, nil},
		{"not found", Cas, "NOT_FOUND\r\n", 11, nil},
		{"END is no set reply", Set, "END\r\n", 0, ErrBadResponse},
		{"deleted", Delete, "DELETED\r\n", 9, nil},
		{"touched", Touch, "TOUCHED\r\n", 9, nil},
		{"incr", Incr, "15\r\n", 4, nil},
		{"decr miss", Decr, "NOT_FOUND\r\n", 11, nil},
		{"incr non-numeric", Incr, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", 62, nil},
		{"incr reply not a number", Incr, "1x\r\n", 0, ErrBadResponse},
		{"flush_all", FlushAll, "OK\r\n", 4, nil},
		{"verbosity", Verbosity, "OK\r\n", 4, nil},
		{"version", Version, "VERSION 1.6.18\r\n", 16, nil},
		{"stats", Stats, statsReply + nextReplies, len(statsReply), nil},
		{"stats reset", Stats, "RESET\r\n", 7, nil},
		{"stats detail on", Stats, "OK\r\n", 4, nil},
		{"stats detail dump, empty", Stats, "END\r\n", 5, nil},
		{"stats error", Stats, "ERROR\r\n", 7, nil},
		{"stats incomplete", Stats, "STAT pid 1\r\n", 0, nil},
		{"mg value", MetaGet, metaValue + nextReplies, len(metaValue), nil},
		{"mg miss", MetaGet, "EN\r\n", 4, nil},
		{"mg hit without value", MetaGet, "HD f0\r\n", 7, nil},
		{"mg value incomplete", MetaGet, "VA 2\r\nh", 0, nil},
		{"mg bad size", MetaGet, "VA x\r\nhi\r\n", 0, ErrBadResponse},
		{"ms", MetaSet, "NS\r\n", 4, nil},
		{"md", MetaDelete, "NF\r\n", 4, nil},
		{"ma value", MetaArithmetic, metaArith, len(metaArith), nil},
		{"mn", MetaNoop, "MN\r\n", 4, nil},
		{"me", MetaDebug, metaDebug, len(metaDebug), nil},
		{"not a meta code", MetaGet, "HDX\r\n", 0, ErrBadResponse},
		{"quit", Quit, "", 0, ErrNoResponse},
		{"unknown", Unknown, "END\r\n", 0, ErrNoResponse},
		{"out of range", Kind(200), "END\r\n", 0, ErrNoResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ScanResponse([]byte(tc.in), tc.kind)
			if got != tc.want || !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Errorf("ScanResponse(%q, %v) = %d, %v; want %d, %v", trim([]byte(tc.in)), tc.kind, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestScanResponseSplit scans every prefix of complete replies: 0 until the reply is all
// there.
func TestScanResponseSplit(t *testing.T) {
	tests := []struct {
		kind Kind
		in   string
	}{
		{Gets, twoValues},
		{Get, oomMidway},
		{Stats, statsReply},
		{MetaGet, metaValue},
		{MetaArithmetic, metaArith},
		{Incr, "18446744073709551615\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			for i := range len(tc.in) {
				if n, err := ScanResponse([]byte(tc.in[:i]), tc.kind); n != 0 || err != nil {
					t.Fatalf("ScanResponse(%q, %v) = %d, %v; want 0, nil", tc.in[:i], tc.kind, n, err)
				}
			}
			if n, err := ScanResponse([]byte(tc.in), tc.kind); n != len(tc.in) || err != nil {
				t.Errorf("ScanResponse(%q, %v) = %d, %v; want %d, nil", tc.in, tc.kind, n, err, len(tc.in))
			}
		})
	}
}

func TestNextValue(t *testing.T) {
	rest := []byte(twoValues + nextReplies)
	want := []Value{
		{Key: []byte("a"), Data: []byte("x"), Raw: []byte("VALUE a 0 1\r\nx\r\n")},
		{Key: []byte("bb"), Flags: 7, Cas: 42, Data: []byte("yyy"), Raw: []byte("VALUE bb 7 3 42\r\nyyy\r\n")},
	}
	for i, w := range want {
		v, next, ok, err := NextValue(rest)
		if !ok || err != nil {
			t.Fatalf("NextValue #%d = ok %v, %v; want a value", i, ok, err)
		}
		if string(v.Key) != string(w.Key) || v.Flags != w.Flags || v.Cas != w.Cas ||
			string(v.Data) != string(w.Data) || string(v.Raw) != string(w.Raw) {
			t.Errorf("NextValue #%d = %s; want %s", i, showValue(v), showValue(w))
		}
		rest = next
	}
	v, next, ok, err := NextValue(rest)
	if ok || err != nil || string(next) != nextReplies {
		t.Errorf("NextValue at END = %s, rest %q, ok %v, %v; want no value, rest %q", showValue(v), next, ok, err, nextReplies)
	}
}

func showValue(v Value) string {
	return fmt.Sprintf("{Key:%q Flags:%d Cas:%d Data:%q Raw:%q}", v.Key, v.Flags, v.Cas, v.Data, v.Raw)
}

func TestNextValueErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"error reply", "SERVER_ERROR out of memory writing get response\r\n", ErrErrorReply},
		{"cut short", "VALUE a 0 5\r\nab", ErrBadResponse},
		{"no line", "VALUE a 0 5", ErrBadResponse},
		{"bad flags", "VALUE a -1 1\r\nx\r\nEND\r\n", ErrBadResponse},
		{"flags over 32 bits", "VALUE a 4294967296 1\r\nx\r\nEND\r\n", ErrBadResponse},
		{"bad cas", "VALUE a 0 1 x\r\nx\r\nEND\r\n", ErrBadResponse},
		{"not a VALUE", "STORED\r\n", ErrBadResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, ok, err := NextValue([]byte(tc.in))
			if ok || !errors.Is(err, tc.wantErr) {
				t.Errorf("NextValue(%q) = ok %v, %v; want %v", tc.in, ok, err, tc.wantErr)
			}
		})
	}
}

func TestScanResponseAllocs(t *testing.T) {
	resp := []byte(tenValues())
	allocs := testing.AllocsPerRun(100, func() {
		if n, err := ScanResponse(resp, Get); n != len(resp) || err != nil {
			t.Fatalf("ScanResponse = %d, %v; want %d, nil", n, err, len(resp))
		}
		for rest, ok := resp, true; ok; {
			_, rest, ok, _ = NextValue(rest)
		}
	})
	if allocs != 0 {
		t.Errorf("ScanResponse and NextValue allocate %v times per reply; want 0", allocs)
	}
}

// tenValues is a get reply with ten 64-byte values.
func tenValues() string {
	var b []byte
	for i := range 10 {
		b = AppendValue(b, []byte("key:"+string(rune('0'+i))), uint32(i), []byte(strings.Repeat("v", 64)), 0, false)
	}
	return string(AppendEnd(b))
}

func TestAnswers(t *testing.T) {
	for _, c := range []struct {
		req, reply string
		k          Kind
		want       bool
	}{
		{"get a\r\n", "VALUE a 0 1\r\nx\r\nEND\r\n", Get, true},
		{"get a\r\n", "END\r\n", Get, true},
		{"get a\r\n", "VALUE b 0 1\r\nx\r\nEND\r\n", Get, false},
		{"get a b c\r\n", "VALUE a 0 1\r\nx\r\nVALUE c 0 2\r\nyy\r\nEND\r\n", Get, true},
		{"get a b c\r\n", "VALUE c 0 1\r\nx\r\nVALUE a 0 1\r\ny\r\nEND\r\n", Get, false},
		{"gets a b\r\n", "VALUE b 0 1 7\r\nx\r\nEND\r\n", Gets, true},
		{"gat 60 a b\r\n", "VALUE b 0 1\r\nx\r\nEND\r\n", Gat, true},
		{"gat 60 a\r\n", "VALUE 60 0 1\r\nx\r\nEND\r\n", Gat, false},
		{"get a\r\n", "SERVER_ERROR out of memory\r\n", Get, true},
		{"set a 0 0 1\r\nx\r\n", "STORED\r\n", Set, true},
	} {
		if got := Answers([]byte(c.reply), []byte(c.req), c.k); got != c.want {
			t.Errorf("Answers(%q, %q) = %v; want %v", c.reply, c.req, got, c.want)
		}
	}
}
