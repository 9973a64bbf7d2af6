package resp

import (
	"strings"
	"testing"
)

// setRequest is a SET of a 64-byte value, as redis-benchmark -d 64 sends it.
var setRequest = []byte("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$64\r\n" + strings.Repeat("x", 64) + "\r\n")

func BenchmarkParseRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(setRequest)))
	var args [][]byte
	for b.Loop() {
		n, out, _, err := ParseRequest(setRequest, args, Limits{})
		if n != len(setRequest) || err != nil {
			b.Fatalf("got %d, %v", n, err)
		}
		args = out
	}
}

func BenchmarkParserInline(b *testing.B) {
	line := []byte(`SET "key 42" "` + strings.Repeat(`\x41`, 16) + "\"\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	var p Parser
	for b.Loop() {
		if n, _, _, err := p.Parse(line, Limits{}); n != len(line) || err != nil {
			b.Fatalf("got %d, %v", n, err)
		}
	}
}

// mgetReply is the RESP2 reply to an MGET of 10 keys, 8 of them 64-byte values.
var mgetReply = func() []byte {
	value := strings.Repeat("v", 64)
	out := AppendArrayLen(nil, 10)
	for i := range 10 {
		if i%5 == 4 {
			out = AppendNull(out, false)
		} else {
			out = AppendBulkString(out, value)
		}
	}
	return out
}()

func BenchmarkScanReply(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(mgetReply)))
	for b.Loop() {
		if n, err := ScanReply(mgetReply); n != len(mgetReply) || err != nil {
			b.Fatalf("got %d, %v", n, err)
		}
	}
}

func BenchmarkSplitArray(b *testing.B) {
	b.ReportAllocs()
	elems := make([][]byte, 0, 10)
	for b.Loop() {
		var err error
		if elems, err = SplitArray(mgetReply, elems); len(elems) != 10 || err != nil {
			b.Fatalf("got %d elements, %v", len(elems), err)
		}
	}
}
