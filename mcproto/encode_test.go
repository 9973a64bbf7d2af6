package mcproto

import (
	"reflect"
	"testing"
)

func TestAppendValue(t *testing.T) {
	tests := []struct {
		name    string
		withCas bool
		want    string
	}{
		{"get", false, "VALUE k 4294967295 2\r\nhi\r\n"},
		{"gets", true, "VALUE k 4294967295 2 18446744073709551615\r\nhi\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendValue([]byte(">"), []byte("k"), 1<<32-1, []byte("hi"), 1<<64-1, tc.withCas)
			if string(got) != ">"+tc.want {
				t.Errorf("AppendValue = %q; want %q", got, ">"+tc.want)
			}
		})
	}
	if got := string(AppendEnd([]byte(">"))); got != ">END\r\n" {
		t.Errorf("AppendEnd = %q; want %q", got, ">END\r\n")
	}
}

func TestAppendGetLine(t *testing.T) {
	keys := [][]byte{[]byte("a"), []byte("b")}
	tests := []struct {
		kind Kind
		want string
	}{
		{Get, "get a b\r\n"},
		{Gets, "gets a b\r\n"},
		{Gat, "gat -5 a b\r\n"},
		{Gats, "gats -5 a b\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			if got := string(AppendGetLine(nil, tc.kind, -5, keys...)); got != tc.want {
				t.Errorf("AppendGetLine(%v) = %q; want %q", tc.kind, got, tc.want)
			}
		})
	}
}

// TestAppendStorage re-encodes parsed storage requests and parses the result back.
func TestAppendStorage(t *testing.T) {
	tests := []struct {
		input       string
		noreply     bool
		wantEncoded string
	}{
		{"set k 1 2 3\r\nabc\r\n", false, "set k 1 2 3\r\nabc\r\n"},
		{"set k 1 2 3 noreply\r\nabc\r\n", false, "set k 1 2 3\r\nabc\r\n"},
		{"set  k  4294967297 -1 +3 bogus\r\nabc\r\n", true, "set k 1 -1 3 noreply\r\nabc\r\n"},
		{"add k 0 0 0\r\n\r\n", false, "add k 0 0 0\r\n\r\n"},
		{"replace k 0 0 1\r\nx\r\n", false, "replace k 0 0 1\r\nx\r\n"},
		{"append k 0 0 1\r\nx\r\n", false, "append k 0 0 1\r\nx\r\n"},
		{"prepend k 0 0 1\r\nx\r\n", false, "prepend k 0 0 1\r\nx\r\n"},
		{"cas k 0 0 1 18446744073709551615 noreply\r\nx\r\n", true, "cas k 0 0 1 18446744073709551615 noreply\r\nx\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.input, func(t *testing.T) {
			var p Parser
			var req Request
			if _, err := p.Parse([]byte(tc.input), Limits{}, &req); err != nil {
				t.Fatalf("Parse(%q): %v", tc.input, err)
			}
			encoded := AppendStorage(nil, &req, tc.noreply)
			if string(encoded) != tc.wantEncoded {
				t.Fatalf("AppendStorage = %q; want %q", encoded, tc.wantEncoded)
			}
			again := parseOutcome(t, &p, encoded, Limits{})
			first := parseOutcome(t, &p, []byte(tc.input), Limits{})
			first.N, first.Line, first.Noreply = again.N, again.Line, tc.noreply
			if !reflect.DeepEqual(again, first) {
				t.Errorf("parsing the re-encoded request gives %+v; want %+v", again, first)
			}
		})
	}
}

func TestAppendPanicsOnWrongKind(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"AppendGetLine", func() { AppendGetLine(nil, Set, 0) }},
		{"AppendStorage", func() { AppendStorage(nil, &Request{Kind: MetaSet}, false) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic; want a panic for the wrong kind", tc.name)
				}
			}()
			tc.f()
		})
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		kind Kind
		want string
	}{
		{Get, "get"},
		{FlushAll, "flush_all"},
		{MetaDebug, "me"},
		{Unknown, "unknown"},
		{Kind(99), "Kind(99)"},
	}
	for _, tc := range tests {
		if got := tc.kind.String(); got != tc.want {
			t.Errorf("Kind(%d).String() = %q; want %q", tc.kind, got, tc.want)
		}
	}
}
