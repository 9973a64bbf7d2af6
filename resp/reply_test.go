package resp

import (
	"errors"
	"strings"
	"testing"
)

// Replies captured from redis-server 7.0.15. The stream fields are pipelines of several replies.
const (
	helloReply = "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n" +
		"$2\r\nid\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
	hgetallReply3 = "%2\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n"
	mgetReply3    = "*10\r\n$1\r\nv\r\n_\r\n$1\r\n1\r\n$1\r\n2\r\n_\r\n_\r\n_\r\n_\r\n_\r\n_\r\n"
	attribReply   = "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n" +
		"$39\r\nSome real reply following the attribute\r\n"
	trackingPush = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
	nestedReply  = "*3\r\n:1\r\n*2\r\n:2\r\n*2\r\n:3\r\n$1\r\nx\r\n-ERR E\r\n"
)

var realReplyStreams = []struct {
	name   string
	frames []string
}{
	{"RESP2 writes", []string{":2\r\n", ":2\r\n", ":2\r\n", "+OK\r\n", "+OK\r\n"}},
	{"HELLO 3", []string{helloReply}},
	{"RESP3 reads", []string{
		hgetallReply3, "~2\r\n$1\r\na\r\n$1\r\nb\r\n", mgetReply3, "_\r\n", attribReply,
		"(1234567999999999999999999999999999999\r\n", ",3.141\r\n", "#t\r\n",
		"=29\r\ntxt:This is a verbatim\nstring\r\n", "_\r\n", "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
		"+OK\r\n", "$1\r\nv\r\n",
	}},
	{"client tracking", []string{"+OK\r\n", trackingPush}},
	{"mixed", []string{
		"%5\r\n$17\r\nmaxmemory-samples\r\n$1\r\n5\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n" +
			"$9\r\nmaxmemory\r\n$1\r\n0\r\n$17\r\nmaxmemory-clients\r\n$1\r\n0\r\n" +
			"$27\r\nmaxmemory-eviction-tenacity\r\n$2\r\n10\r\n",
		"$15\r\n1795226341932-0\r\n", nestedReply,
		"-ERR unknown command 'WRONGCMD', with args beginning with: \r\n",
	}},
	{"RESP2 nulls", []string{"$-1\r\n", "*-1\r\n", "*0\r\n", "$0\r\n\r\n"}},
}

// scanReplyCases are single complete replies.
var scanReplyCases = []struct{ name, in string }{
	{"simple string", "+OK\r\n"},
	{"error", "-ERR x\r\n"},
	{"integer", ":-12\r\n"},
	{"bulk", "$3\r\nfoo\r\n"},
	{"bulk with CRLF inside", "$4\r\na\r\nb\r\n"},
	{"empty bulk", "$0\r\n\r\n"},
	{"null bulk", "$-1\r\n"},
	{"null array", "*-1\r\n"},
	{"empty array", "*0\r\n"},
	{"array", "*2\r\n$1\r\na\r\n:1\r\n"},
	{"nested", "*1\r\n*1\r\n*1\r\n:1\r\n"},
	{"null", "_\r\n"},
	{"double", ",3.14\r\n"},
	{"boolean", "#f\r\n"},
	{"blob error", "!3\r\nerr\r\n"},
	{"verbatim", "=8\r\ntxt:abcd\r\n"},
	{"big number", "(123\r\n"},
	{"map", "%1\r\n+a\r\n:1\r\n"},
	{"set", "~2\r\n+a\r\n+b\r\n"},
	{"push", ">2\r\n+a\r\n+b\r\n"},
	{"attribute and its value", "|1\r\n+k\r\n+v\r\n+OK\r\n"},
	{"empty attribute", "|0\r\n:1\r\n"},
	{"attribute on an element", "*2\r\n|1\r\n+k\r\n+v\r\n:1\r\n:2\r\n"},
	{"attribute on an attribute", "|1\r\n+k\r\n|1\r\n+a\r\n+b\r\n+v\r\n+OK\r\n"},
	{"512 deep", strings.Repeat("*1\r\n", 512) + ":1\r\n"},
	{"HELLO 3", helloReply},
	{"tracking push", trackingPush},
	{"attribute from DEBUG PROTOCOL attrib", attribReply},
}

func TestScanReply(t *testing.T) {
	for _, tc := range scanReplyCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ScanReply([]byte(tc.in + "+next\r\n"))
			if n != len(tc.in) || err != nil {
				t.Errorf("got %d, %v; want %d, nil", n, err, len(tc.in))
			}
		})
	}
}

// TestScanReplySplit checks that no proper prefix of a reply is complete or an error, and that a
// ReplyScanner fed one more byte at a time finds the same frame.
// A Lua script returning a table that contains itself comes back from Redis about 8,000 deep.
func TestScanReplyMaxDepth(t *testing.T) {
	in := strings.Repeat("*1\r\n", maxReplyDepth) + ":1\r\n"
	if n, err := ScanReply([]byte(in)); n != len(in) || err != nil {
		t.Fatalf("ScanReply %d deep: %d, %v; want %d, nil", maxReplyDepth, n, err, len(in))
	}
}

func TestScanReplySplit(t *testing.T) {
	for _, tc := range scanReplyCases {
		t.Run(tc.name, func(t *testing.T) {
			var s ReplyScanner
			for k := range len(tc.in) {
				if n, err := ScanReply([]byte(tc.in[:k])); n != 0 || err != nil {
					t.Fatalf("ScanReply of prefix %d: got %d, %v; want 0, nil", k, n, err)
				}
				if n, err := s.Scan([]byte(tc.in[:k])); n != 0 || err != nil {
					t.Fatalf("Scan of prefix %d: got %d, %v; want 0, nil", k, n, err)
				}
			}
			if n, err := s.Scan([]byte(tc.in)); n != len(tc.in) || err != nil {
				t.Fatalf("Scan of the whole: got %d, %v; want %d, nil", n, err, len(tc.in))
			}
		})
	}
}

func TestScanReplyRealStreams(t *testing.T) {
	for _, tc := range realReplyStreams {
		t.Run(tc.name, func(t *testing.T) {
			stream := []byte(strings.Join(tc.frames, ""))
			got := splitFrames(t, stream)
			if len(got) != len(tc.frames) {
				t.Fatalf("got %d frames; want %d", len(got), len(tc.frames))
			}
			for i := range got {
				if got[i] != tc.frames[i] {
					t.Errorf("frame %d: got %q; want %q", i, got[i], tc.frames[i])
				}
			}
		})
	}
}

// splitFrames frames a stream of complete replies.
func splitFrames(t *testing.T, stream []byte) []string {
	t.Helper()
	var frames []string
	for len(stream) > 0 {
		n, err := ScanReply(stream)
		if n == 0 || err != nil {
			t.Fatalf("ScanReply(%q): got %d, %v; want a frame", stream, n, err)
		}
		frames = append(frames, string(stream[:n]))
		stream = stream[n:]
	}
	return frames
}

func TestScanReplyMalformed(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"unknown type", "?x\r\n", ErrMalformedReply},
		{"CR without LF", "+OK\rX", ErrMalformedReply},
		{"bulk without CRLF", "$3\r\nfooXY", ErrMalformedReply},
		{"bulk length -2", "$-2\r\n", ErrMalformedReply},
		{"array length -2", "*-2\r\n", ErrMalformedReply},
		{"null map", "%-1\r\n", ErrMalformedReply},
		{"null blob error", "!-1\r\n", ErrMalformedReply},
		{"letters in length", "$abc\r\n", ErrMalformedReply},
		{"streamed string", "$?\r\n;4\r\nHell\r\n;0\r\n", ErrMalformedReply},
		{"huge aggregate", "*99999999999\r\n", ErrMalformedReply},
		{"element malformed", "*2\r\n:1\r\n?\r\n", ErrMalformedReply},
		{"16385 deep", strings.Repeat("*1\r\n", 16385) + ":1\r\n", ErrReplyTooDeep},
		{"16385 deep attributes", strings.Repeat("|1\r\n", 16385) + ":1\r\n", ErrReplyTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ScanReply([]byte(tc.in))
			if n != 0 || !errors.Is(err, tc.want) {
				t.Errorf("got %d, %v; want 0, %v", n, err, tc.want)
			}
		})
	}
}

// TestReplyScannerReuse checks that a ReplyScanner starts afresh after each frame and error.
func TestReplyScannerReuse(t *testing.T) {
	var s ReplyScanner
	steps := []struct {
		in   string
		n    int
		fail bool
	}{
		{in: "*2\r\n:1\r\n", n: 0},
		{in: "*2\r\n:1\r\n:2\r\n", n: 12},
		{in: "?", fail: true},
		{in: "+OK\r\n", n: 5},
		{in: "*1\r\n", n: 0},
	}
	for i, step := range steps {
		n, err := s.Scan([]byte(step.in))
		if n != step.n || (err != nil) != step.fail {
			t.Errorf("step %d: got %d, %v; want %d, failure %v", i, n, err, step.n, step.fail)
		}
	}
	s.Reset()
	if n, err := s.Scan([]byte(":1\r\n")); n != 4 || err != nil {
		t.Errorf("after Reset: got %d, %v; want 4, nil", n, err)
	}
}

func TestScanReplyAllocations(t *testing.T) {
	for _, in := range []string{mgetReply3, helloReply, strings.Repeat("*1\r\n", 15) + ":1\r\n"} {
		buf := []byte(in)
		allocs := testing.AllocsPerRun(100, func() { ScanReply(buf) })
		if allocs != 0 {
			t.Errorf("ScanReply(%.20q...): got %v allocs; want 0", in, allocs)
		}
	}
}
