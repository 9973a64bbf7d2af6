package resp

import (
	"fmt"
	"slices"
	"testing"
)

// largeRequest is MSET of n keys, as a client sends it.
func largeRequest(n int) []byte {
	args := [][]byte{[]byte("MSET")}
	for i := range n {
		args = append(args, fmt.Appendf(nil, "key:%d", i), fmt.Appendf(nil, "value-%d", i))
	}
	return AppendCommand(nil, args...)
}

// A request that arrives in many reads, into a buffer that moves as it grows, parses as it
// would in one piece; each call parses only what arrived since the last (see resume.go).
func TestParserResumesALargeRequest(t *testing.T) {
	req := append(largeRequest(50_000), "*1\r\n$4\r\nPING\r\n"...)
	_, want, _, _ := ParseRequest(req, nil, Limits{})
	var p Parser
	var buf []byte
	for arrived, i := 0, 0; ; i++ {
		arrived = min(arrived+1+i*7919%65_536, len(req))         // reads of all sizes
		buf = append(make([]byte, 0, arrived), req[:arrived]...) // moved, as a growing buffer is
		n, args, need, err := p.Parse(buf, Limits{})
		if err != nil {
			t.Fatalf("at %d bytes: %v", arrived, err)
		}
		if n == 0 {
			if need != 0 && need <= arrived {
				t.Fatalf("at %d bytes: need %d", arrived, need)
			}
			continue
		}
		if n != len(req)-len("*1\r\n$4\r\nPING\r\n") || !slices.EqualFunc(args, want, slices.Equal) {
			t.Fatalf("parsed %d bytes, %d arguments; want %d bytes, %d arguments", n, len(args), len(req), len(want))
		}
		break
	}
	if n, args, _, err := p.Parse(req[len(req)-len("*1\r\n$4\r\nPING\r\n"):], Limits{}); n == 0 || err != nil || string(args[0]) != "PING" {
		t.Fatalf("the request after: n=%d args=%q err=%v", n, args, err)
	}
	if cap(p.args) > keptArgs || len(p.part.offs) > 1 {
		t.Errorf("after the request: %d arguments and %d chunks of offsets kept; want at most %d and 1",
			cap(p.args), len(p.part.offs), keptArgs)
	}
}

// A malformed argument in a partial request is refused as in one piece, and the Parser then
// parses a fresh request from its start.
func TestParserResumeRefusesMalformed(t *testing.T) {
	var p Parser
	if n, _, _, err := p.Parse([]byte("*3\r\n$3\r\nSET\r\n"), Limits{}); n != 0 || err != nil {
		t.Fatalf("partial: n=%d err=%v", n, err)
	}
	_, _, _, err := p.Parse([]byte("*3\r\n$3\r\nSET\r\nxyz\r\n"), Limits{})
	_, _, _, want := ParseRequest([]byte("*3\r\n$3\r\nSET\r\nxyz\r\n"), nil, Limits{})
	if err == nil || err.Error() != want.Error() {
		t.Fatalf("got %v; want %v", err, want)
	}
	if n, args, _, err := p.Parse([]byte("*1\r\n$4\r\nPING\r\n"), Limits{}); n == 0 || err != nil || string(args[0]) != "PING" {
		t.Fatalf("after the error: n=%d args=%q err=%v", n, args, err)
	}
}

// Parsing a 100,000-argument request that arrives 16 KB at a time.
func BenchmarkParseArriving(b *testing.B) {
	req := largeRequest(50_000)
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		var p Parser
		for arrived := 16 << 10; ; arrived += 16 << 10 {
			if n, _, _, _ := p.Parse(req[:min(arrived, len(req))], Limits{}); n > 0 {
				break
			}
		}
	}
}
