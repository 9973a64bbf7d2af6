package mcproto

import "testing"

// TestMatchesMemcached checks both functions against the server through the relay; these
// tables pin the edges.

func TestStripQuiet(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		want      string
		wantQuiet bool
	}{
		{"mg", "mg k v q O1", "mg k v O1", true},
		{"q first", "mg k q", "mg k", true},
		{"key named q", "mg q v", "mg q v", false},
		{"ms flags start after the length", "ms k 2 q T5", "ms k 2 T5", true},
		{"ms length position", "ms k q", "ms k q", false},
		{"md", "md k q I", "md k I", true},
		{"any token starting with q", "ma k qx v", "ma k v", true},
		{"extra spaces collapse", "  mg  k  q  v ", "mg k v", true},
		{"no q", "mg k v", "mg k v", false},
		{"mn", "mn q", "mn q", false},
		{"not meta", "get q", "get q", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, quiet := StripQuiet([]byte(tc.line), []byte(">"))
			if string(out) != ">"+tc.want || quiet != tc.wantQuiet {
				t.Errorf("StripQuiet(%q) = %q, %v; want %q, %v", tc.line, out, quiet, ">"+tc.want, tc.wantQuiet)
			}
		})
	}
}

func TestQuietSuppressed(t *testing.T) {
	tests := []struct {
		kind Kind
		resp string
		want bool
	}{
		{MetaGet, "EN\r\n", true},
		{MetaGet, "HD\r\n", false},
		{MetaGet, "VA 1\r\nx\r\n", false},
		{MetaSet, "HD c5\r\n", true},
		{MetaSet, "NS\r\n", false},
		{MetaSet, "EX\r\n", false},
		{MetaSet, "NF\r\n", false},
		{MetaDelete, "HD\r\n", true},
		{MetaDelete, "NF\r\n", false}, // memcached 1.6.18 sends md's NF in quiet mode
		{MetaDelete, "EX\r\n", false},
		{MetaArithmetic, "HD\r\n", true},
		{MetaArithmetic, "VA 1\r\n7\r\n", true},
		{MetaArithmetic, "NF\r\n", false},
		{MetaGet, "CLIENT_ERROR bad command line format\r\n", false},
		{MetaNoop, "MN\r\n", false},
		{Get, "END\r\n", false},
		{MetaGet, "ENX\r\n", false},
		{MetaGet, "E", false},
	}
	for _, tc := range tests {
		t.Run(tc.kind.String()+" "+tc.resp, func(t *testing.T) {
			if got := QuietSuppressed(tc.kind, []byte(tc.resp)); got != tc.want {
				t.Errorf("QuietSuppressed(%v, %q) = %v; want %v", tc.kind, tc.resp, got, tc.want)
			}
		})
	}
}
