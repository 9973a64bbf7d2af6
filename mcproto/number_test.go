package mcproto

import "testing"

// The expectations follow C's strtol family as memcached 1.6.18 uses it; TestMatchesMemcached
// checks a sample of them against the server.

func TestParseInt32(t *testing.T) {
	tests := []struct {
		tok    string
		want   int32
		wantOK bool
	}{
		{"0", 0, true},
		{"-1", -1, true},
		{"+7", 7, true},
		{"\t 5", 5, true},
		{"5\t", 5, true},
		{"5\r", 5, true},
		{"007", 7, true},
		{"2147483647", 2147483647, true},
		{"2147483648", -2147483648, true}, // narrowed from long
		{"4294967297", 1, true},
		{"99999999999", 1215752191, true},
		{"9223372036854775807", -1, true},
		{"-9223372036854775808", 0, true},
		{"9223372036854775808", 0, false}, // ERANGE
		{"-9223372036854775809", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"+", 0, false},
		{"x", 0, false},
		{"1x", 0, false},
		{"1 ", 1, true},
		{"0x10", 0, false},
		{"\t", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.tok, func(t *testing.T) {
			got, ok := parseInt32([]byte(tc.tok))
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("parseInt32(%q) = %d, %v; want %d, %v", tc.tok, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestParseUint64(t *testing.T) {
	tests := []struct {
		tok    string
		want   uint64
		wantOK bool
	}{
		{"0", 0, true},
		{"-0", 0, true},
		{"+5", 5, true},
		{"18446744073709551615", 1<<64 - 1, true},
		{"18446744073709551616", 0, false},
		{"-1", 0, false},
		{"-9223372036854775808", 0, false},
		{"-9223372036854775809", 1<<63 - 1, true}, // negated modulo 2^64, top bit clear
		{"-18446744073709551615", 1, true},
		{"9223372036854775808", 1 << 63, true}, // top bit set, but no '-'
		{"12\t", 12, true},
		{"x", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.tok, func(t *testing.T) {
			got, ok := parseUint64([]byte(tc.tok))
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("parseUint64(%q) = %d, %v; want %d, %v", tc.tok, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestParseUint32(t *testing.T) {
	tests := []struct {
		tok    string
		want   uint32
		wantOK bool
	}{
		{"4294967295", 4294967295, true},
		{"4294967296", 0, true},
		{"4294967297", 1, true},
		{"-1", 0, false},
		{"-18446744073709551615", 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.tok, func(t *testing.T) {
			got, ok := parseUint32([]byte(tc.tok))
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("parseUint32(%q) = %d, %v; want %d, %v", tc.tok, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in     string
		max    uint64
		want   uint64
		wantOK bool
	}{
		{"0", 10, 0, true},
		{"10", 10, 10, true},
		{"11", 10, 0, false},
		{"18446744073709551615", 1<<64 - 1, 1<<64 - 1, true},
		{"18446744073709551616", 1<<64 - 1, 0, false},
		{"", 10, 0, false},
		{"+1", 10, 0, false},
		{" 1", 10, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseDecimal([]byte(tc.in), tc.max)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("parseDecimal(%q, %d) = %d, %v; want %d, %v", tc.in, tc.max, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
