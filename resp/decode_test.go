package resp

import (
	"errors"
	"slices"
	"testing"
)

func TestSplitArray(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      error
	}{
		{name: "MGET", in: mgetReply3, want: []string{
			"$1\r\nv\r\n", "_\r\n", "$1\r\n1\r\n", "$1\r\n2\r\n", "_\r\n", "_\r\n", "_\r\n", "_\r\n", "_\r\n", "_\r\n",
		}},
		{name: "RESP2 MGET", in: "*2\r\n$1\r\na\r\n$-1\r\n", want: []string{"$1\r\na\r\n", "$-1\r\n"}},
		{name: "nested elements", in: nestedReply, want: []string{":1\r\n", "*2\r\n:2\r\n*2\r\n:3\r\n$1\r\nx\r\n", "-ERR E\r\n"}},
		{name: "set", in: "~2\r\n+a\r\n+b\r\n", want: []string{"+a\r\n", "+b\r\n"}},
		{name: "push", in: trackingPush, want: []string{"$10\r\ninvalidate\r\n", "*1\r\n$1\r\nk\r\n"}},
		{name: "after an attribute", in: "|1\r\n+k\r\n+v\r\n*1\r\n:1\r\n", want: []string{":1\r\n"}},
		{name: "attribute on an element", in: "*1\r\n|1\r\n+k\r\n+v\r\n:1\r\n", want: []string{"|1\r\n+k\r\n+v\r\n:1\r\n"}},
		{name: "empty", in: "*0\r\n"},
		{name: "null", in: "*-1\r\n"},
		{name: "trailing bytes ignored", in: "*1\r\n:1\r\n+more\r\n", want: []string{":1\r\n"}},
		{name: "map", in: hgetallReply3, err: ErrWrongType},
		{name: "simple string", in: "+OK\r\n", err: ErrWrongType},
		{name: "error reply", in: "-ERR x\r\n", err: ErrWrongType},
		{name: "missing element", in: "*2\r\n:1\r\n", want: []string{":1\r\n"}, err: ErrIncomplete},
		{name: "partial header", in: "*2", err: ErrIncomplete},
		{name: "empty input", in: "", err: ErrIncomplete},
		{name: "malformed element", in: "*1\r\n?\r\n", err: ErrMalformedReply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitArray([]byte(tc.in), make([][]byte, 3))
			if !errors.Is(err, tc.err) {
				t.Fatalf("error: got %v; want %v", err, tc.err)
			}
			if !slices.Equal(strs(got), tc.want) {
				t.Errorf("got %q; want %q", strs(got), tc.want)
			}
		})
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  error
	}{
		{in: ":123\r\n", want: 123},
		{in: ":-5\r\n", want: -5},
		{in: ":0\r\n", want: 0},
		{in: ":9223372036854775807\r\n", want: 9223372036854775807},
		{in: ":-9223372036854775808\r\n", want: -9223372036854775808},
		{in: "|1\r\n+k\r\n+v\r\n:7\r\n", want: 7},
		{in: ":9223372036854775808\r\n", err: ErrMalformedReply},
		{in: ":abc\r\n", err: ErrMalformedReply},
		{in: ":\r\n", err: ErrMalformedReply},
		{in: ":12", err: ErrIncomplete},
		{in: "+OK\r\n", err: ErrWrongType},
		{in: "-ERR x\r\n", err: ErrWrongType},
		{in: "", err: ErrIncomplete},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseInt([]byte(tc.in))
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("got %d, %v; want %d, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestIsError(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"-ERR x\r\n", true},
		{"-WRONGTYPE Operation\r\n", true},
		{"!3\r\nerr\r\n", true},
		{"|1\r\n+k\r\n+v\r\n-ERR x\r\n", true},
		{"+OK\r\n", false},
		{"$4\r\n-ERR\r\n", false},
		{"*1\r\n-ERR x\r\n", false},
		{"", false},
		{"|1\r\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := IsError([]byte(tc.in)); got != tc.want {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestParseBulk(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		isNull bool
		err    error
	}{
		{in: "$3\r\nfoo\r\n", want: "foo"},
		{in: "$4\r\na\r\nb\r\n", want: "a\r\nb"},
		{in: "$0\r\n\r\n", want: ""},
		{in: "$-1\r\n", isNull: true},
		{in: "_\r\n", isNull: true},
		{in: "|1\r\n+k\r\n+v\r\n$1\r\nx\r\n", want: "x"},
		{in: "$3\r\nfo", err: ErrIncomplete},
		{in: "$3", err: ErrIncomplete},
		{in: "$3\r\nfooXY", err: ErrMalformedReply},
		{in: "+OK\r\n", err: ErrWrongType},
		{in: ":1\r\n", err: ErrWrongType},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, isNull, err := ParseBulk([]byte(tc.in))
			if string(got) != tc.want || isNull != tc.isNull || !errors.Is(err, tc.err) {
				t.Errorf("got %q, %v, %v; want %q, %v, %v", got, isNull, err, tc.want, tc.isNull, tc.err)
			}
		})
	}
}

func TestDecodeAllocations(t *testing.T) {
	mget := []byte(mgetReply3)
	dst := make([][]byte, 0, 10)
	allocs := testing.AllocsPerRun(100, func() {
		dst, _ = SplitArray(mget, dst)
		for _, elem := range dst {
			ParseBulk(elem)
		}
		ParseInt([]byte(":12\r\n"))
		IsError([]byte("-ERR\r\n"))
	})
	if allocs != 0 {
		t.Errorf("got %v allocs; want 0", allocs)
	}
}
