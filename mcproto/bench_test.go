package mcproto

import (
	"strings"
	"testing"
)

func benchmarkParse(b *testing.B, input string) {
	var p Parser
	var req Request
	buf := []byte(input)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := p.Parse(buf, Limits{}, &req); n != len(buf) || err != nil {
			b.Fatalf("Parse = %d, %v", n, err)
		}
	}
}

func BenchmarkParseGet(b *testing.B) { benchmarkParse(b, "get k\r\n") }

func BenchmarkParseSet64(b *testing.B) {
	benchmarkParse(b, "set k 0 0 64\r\n"+strings.Repeat("v", 64)+"\r\n")
}

func BenchmarkParseMultiGet10(b *testing.B) {
	benchmarkParse(b, "get key:0 key:1 key:2 key:3 key:4 key:5 key:6 key:7 key:8 key:9\r\n")
}

func BenchmarkScanResponse10Values(b *testing.B) {
	resp := []byte(tenValues())
	b.SetBytes(int64(len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := ScanResponse(resp, Get); n != len(resp) || err != nil {
			b.Fatalf("ScanResponse = %d, %v", n, err)
		}
	}
}

func BenchmarkNextValue10Values(b *testing.B) {
	resp := []byte(tenValues())
	b.SetBytes(int64(len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		for rest, ok := resp, true; ok; {
			var err error
			if _, rest, ok, err = NextValue(rest); err != nil {
				b.Fatal(err)
			}
		}
	}
}
