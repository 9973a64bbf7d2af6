package resp

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// fuzzLimits are small enough for the fuzzer to reach every limit.
var fuzzLimits = Limits{MaxArgs: 64, MaxBulk: 4096, MaxInline: 512}

// requestSeeds is client traffic: redis-benchmark pipelines, redis-cli inline lines, edge cases.
var requestSeeds = []string{
	strings.Repeat("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$3\r\nxxx\r\n", 4),
	"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000042\r\n*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n",
	"*3\r\n$5\r\nLPUSH\r\n$6\r\nmylist\r\n$3\r\nxxx\r\n*4\r\n$6\r\nLRANGE\r\n$6\r\nmylist\r\n$1\r\n0\r\n$2\r\n99\r\n",
	"*7\r\n$4\r\nMSET\r\n$5\r\nkey:1\r\n$3\r\nxxx\r\n$5\r\nkey:2\r\n$3\r\nxxx\r\n$5\r\nkey:3\r\n$3\r\nxxx\r\n",
	"PING\r\nPING\r\nPING\r\n",
	"*1\r\n$4\r\nPING\r\n*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n",
	`SET "my key" "hello\x20world\n"` + "\r\nGET 'my key'\r\n",
	`HSET h 'f \'1\'' "v\"2\"" plain` + "\n",
	"*0\r\n*-1\r\n\n\r\n  \r\nPING\r\n",
	"*1\r\n$4\r\nPINGXY*1\rX$4\r\nPING\r\n",
	"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$600000\r\n",
	"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
	`ECHO "a"b` + "\r\n",
	"*100\r\n",
	strings.Repeat("a", 600),
}

func FuzzParseRequest(f *testing.F) {
	for _, seed := range requestSeeds {
		for _, split := range []int{0, 1, len(seed) / 2, len(seed) - 1} {
			f.Add([]byte(seed), split)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		split = clampSplit(split, len(data))
		whole := drainRequests(t, data)
		first := drainRequests(t, data[:split])
		got := first
		if first.err == "" {
			rest := drainRequests(t, data[first.consumed:])
			got = parsedRequests{
				cmds:     slices.Concat(first.cmds, rest.cmds),
				consumed: first.consumed + rest.consumed,
				err:      rest.err,
			}
		}
		if !slices.EqualFunc(got.cmds, whole.cmds, slices.Equal) || got.consumed != whole.consumed || got.err != whole.err {
			t.Fatalf("split at %d: got %+v; want %+v", split, got, whole)
		}
		checkNeed(t, data, split)
		checkParseRequestAgrees(t, data)
		checkResume(t, data, split)
	})
}

// checkResume checks that a Parser given a prefix of data, then data, parses data as a fresh
// one does: a request not whole at the first call is taken up where it stopped.
func checkResume(t *testing.T, data []byte, split int) {
	var p Parser
	if n, _, _, err := p.Parse(data[:split], fuzzLimits); n != 0 || err != nil {
		return
	}
	moved := bytes.Clone(data) // the caller's buffer may move between calls
	n1, args1, need1, err1 := p.Parse(moved, fuzzLimits)
	var fresh Parser
	n2, args2, need2, err2 := fresh.Parse(data, fuzzLimits)
	if n1 != n2 || need1 != need2 || errText(err1) != errText(err2) || !slices.Equal(strs(args1), strs(args2)) {
		t.Fatalf("resumed at %d: got n=%d need=%d err=%v %q; want n=%d need=%d err=%v %q",
			split, n1, need1, err1, strs(args1), n2, need2, err2, strs(args2))
	}
}

// parsedRequests is every request parsed from one buffer.
type parsedRequests struct {
	cmds     [][]string
	consumed int
	err      string
}

// drainRequests parses requests from buf until it runs out or fails, checking the bounds of what
// each call returns.
func drainRequests(t *testing.T, buf []byte) parsedRequests {
	var p Parser
	var out parsedRequests
	for {
		rest := buf[out.consumed:]
		n, args, need, err := p.Parse(rest, fuzzLimits)
		if n < 0 || n > len(rest) || (need != 0 && need <= len(rest)) || (err != nil && n != 0) {
			t.Fatalf("Parse(%q): got n=%d need=%d err=%v", rest, n, need, err)
		}
		if err != nil {
			out.err = err.Error()
			return out
		}
		if n == 0 {
			return out
		}
		out.cmds = append(out.cmds, strs(args))
		out.consumed += n
	}
}

// checkNeed checks that the need reported for a prefix is not an overestimate: one byte short of
// it, the request is still incomplete.
func checkNeed(t *testing.T, data []byte, split int) {
	n, _, need, err := ParseRequest(data[:split], nil, fuzzLimits)
	if n != 0 || err != nil || need == 0 || need-1 > len(data) {
		return
	}
	if n, _, _, _ := ParseRequest(data[:need-1], nil, fuzzLimits); n != 0 {
		t.Fatalf("prefix %d reported need %d, but %d bytes completed a request of %d", split, need, need-1, n)
	}
}

func checkParseRequestAgrees(t *testing.T, data []byte) {
	var p Parser
	n1, args1, need1, err1 := p.Parse(data, fuzzLimits)
	n2, args2, need2, err2 := ParseRequest(data, nil, fuzzLimits)
	if n1 != n2 || need1 != need2 || errText(err1) != errText(err2) || !slices.Equal(strs(args1), strs(args2)) {
		t.Fatalf("Parser.Parse and ParseRequest differ on %q", data)
	}
}

func FuzzScanReply(f *testing.F) {
	var seeds []string
	for _, s := range realReplyStreams {
		seeds = append(seeds, strings.Join(s.frames, ""))
	}
	for _, c := range scanReplyCases {
		seeds = append(seeds, c.in)
	}
	seeds = append(seeds, "*2\r\n$1\r\na\r\n$-1\r\n+OK\r\n", "$3\r\nfooXY", strings.Repeat("*1\r\n", 600))
	for _, seed := range seeds {
		for _, split := range []int{0, 1, len(seed) / 2, len(seed) - 1} {
			f.Add([]byte(seed), split)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		split = clampSplit(split, len(data))
		whole := drainReplies(t, data, len(data))
		if got := drainReplies(t, data, split); !slices.Equal(got.frames, whole.frames) || got.err != whole.err {
			t.Fatalf("split at %d: got %+v; want %+v", split, got, whole)
		}
		for _, frame := range whole.frames {
			checkFrameHelpers(t, []byte(frame))
		}
	})
}

// scannedReplies is every reply framed from one buffer.
type scannedReplies struct {
	frames []string
	err    string
}

// drainReplies frames replies from data as a connection would that has received only the first
// avail bytes, then the rest. It uses ScanReply, and checks that a ReplyScanner agrees.
func drainReplies(t *testing.T, data []byte, avail int) scannedReplies {
	var out scannedReplies
	var s ReplyScanner
	for off := 0; ; {
		n, err := ScanReply(data[off:avail])
		if sn, serr := s.Scan(data[off:avail]); sn != n || errText(serr) != errText(err) {
			t.Fatalf("Scan(%q): got %d, %v; ScanReply got %d, %v", data[off:avail], sn, serr, n, err)
		}
		if n < 0 || n > avail-off || (err != nil && n != 0) {
			t.Fatalf("ScanReply(%q): got %d, %v", data[off:avail], n, err)
		}
		switch {
		case err != nil:
			out.err = err.Error()
			return out
		case n == 0 && avail == len(data):
			return out
		case n == 0:
			avail = len(data)
			continue
		}
		out.frames = append(out.frames, string(data[off:off+n]))
		off += n
	}
}

// checkFrameHelpers checks that the decoding helpers accept what ScanReply framed: an array's
// header and elements make up the whole frame.
func checkFrameHelpers(t *testing.T, frame []byte) {
	IsError(frame)
	ParseInt(frame)
	ParseBulk(frame)
	elems, err := SplitArray(frame, nil)
	if err != nil || frame[0] == '|' {
		return
	}
	header := frame[:bytes.IndexByte(frame, '\n')+1]
	if joined := slices.Concat(append([][]byte{header}, elems...)...); !bytes.Equal(joined, frame) {
		t.Fatalf("SplitArray(%q): elements %q do not make up the frame", frame, elems)
	}
}

// clampSplit maps the fuzzer's split to an offset in [0, n].
func clampSplit(split, n int) int {
	split %= n + 1
	if split < 0 {
		split += n + 1
	}
	return split
}
