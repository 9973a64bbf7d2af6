package commands

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// keysCase is one command line and where its keys are. The same cases are
// checked against Redis's own COMMAND GETKEYS in server_test.go.
type keysCase struct {
	line string // arguments separated by spaces; "" stands for an empty argument
	want []int  // key indexes, in Redis's order
	err  error  // when set, Keys must fail with it (errors.Is)
	// differs, when set, says why Redis's COMMAND GETKEYS answers otherwise;
	// such cases are only checked here.
	differs string
}

var keysCases = []keysCase{
	// Strings.
	{line: "GET k", want: []int{1}},
	{line: "SET k v EX 10", want: []int{1}},
	{line: "set k v get", want: []int{1}},
	{line: "GETEX k PX 100", want: []int{1}},
	{line: "GETDEL k", want: []int{1}},
	{line: "MSET k1 v1 k2 v2", want: []int{1, 3}},
	{line: "MSETNX k1 v1 k2 v2", want: []int{1, 3}},
	{line: "MGET a b c", want: []int{1, 2, 3}},
	{line: "INCRBY k 5", want: []int{1}},
	{line: "APPEND k v", want: []int{1}},
	{line: "SETRANGE k 0 v", want: []int{1}},
	{line: "LCS a b IDX", want: []int{1, 2}},
	// Hashes.
	{line: "HSET h f1 v1 f2 v2", want: []int{1}},
	{line: "HMGET h f1 f2", want: []int{1}},
	{line: "HINCRBY h f 1", want: []int{1}},
	{line: "HGETALL h", want: []int{1}},
	// Lists.
	{line: "LPUSH l a b", want: []int{1}},
	{line: "LRANGE l 0 -1", want: []int{1}},
	{line: "LMOVE src dst LEFT RIGHT", want: []int{1, 2}},
	{line: "BLPOP l1 l2 0", want: []int{1, 2}},
	{line: "BRPOPLPUSH src dst 0", want: []int{1, 2}},
	{line: "LMPOP 2 l1 l2 LEFT COUNT 3", want: []int{2, 3}},
	{line: "BLMPOP 0 2 l1 l2 RIGHT", want: []int{3, 4}},
	// Sets.
	{line: "SADD s a b", want: []int{1}},
	{line: "SINTER a b c", want: []int{1, 2, 3}},
	{line: "SUNIONSTORE dst a b", want: []int{1, 2, 3}},
	{line: "SMOVE src dst m", want: []int{1, 2}},
	{line: "SINTERCARD 2 a b LIMIT 1", want: []int{2, 3}},
	// Sorted sets.
	{line: "ZADD z 1 m", want: []int{1}},
	{line: "ZUNIONSTORE dst 2 a b WEIGHTS 1 2", want: []int{1, 3, 4}},
	{line: "ZINTER 2 a b WITHSCORES", want: []int{2, 3}},
	{line: "ZDIFFSTORE dst 2 a b", want: []int{1, 3, 4}},
	{line: "ZRANGESTORE dst src 0 -1", want: []int{1, 2}},
	{line: "ZMPOP 2 a b MIN", want: []int{2, 3}},
	{line: "BZMPOP 1 2 a b MAX COUNT 2", want: []int{3, 4}},
	{line: "BZPOPMIN a b 0", want: []int{1, 2}},
	{line: "ZINTERCARD 2 a b", want: []int{2, 3}},
	// Streams.
	{line: "XADD s * f v", want: []int{1}},
	{line: "XREAD COUNT 1 STREAMS s1 s2 0 0", want: []int{4, 5}},
	{line: "xread block 0 streams s $", want: []int{4}},
	{line: "XREADGROUP GROUP g c STREAMS s >", want: []int{5}},
	{line: "XINFO STREAM s", want: []int{2}},
	{line: "XINFO GROUPS s", want: []int{2}},
	{line: "XGROUP CREATE s g $ MKSTREAM", want: []int{2}},
	{line: "XRANGE s - +", want: []int{1}},
	{line: "XACK s g 1-1", want: []int{1}},
	// Bitmaps.
	{line: "SETBIT b 7 1", want: []int{1}},
	{line: "BITCOUNT b", want: []int{1}},
	{line: "BITOP AND dst a b", want: []int{2, 3, 4}},
	{line: "BITFIELD b GET u8 0", want: []int{1}},
	{line: "BITPOS b 1", want: []int{1}},
	// HyperLogLog.
	{line: "PFADD h a b", want: []int{1}},
	{line: "PFCOUNT h1 h2", want: []int{1, 2}},
	{line: "PFMERGE dst a b", want: []int{1, 2, 3}},
	// Geo.
	{line: "GEOADD g 13.36 38.11 m", want: []int{1}},
	{line: "GEORADIUS g 15 37 200 km STORE dst", want: []int{1, 7}},
	{line: "GEORADIUS g 15 37 200 km WITHDIST STOREDIST dst", want: []int{1, 8}},
	{line: "GEORADIUSBYMEMBER g m 200 km STORE dst", want: []int{1, 6}},
	{line: "GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 km", want: []int{1, 2}},
	{line: "GEODIST g a b", want: []int{1}},
	// Expiry.
	{line: "EXPIRE k 10", want: []int{1}},
	{line: "PEXPIREAT k 1700000000000", want: []int{1}},
	{line: "TTL k", want: []int{1}},
	{line: "PERSIST k", want: []int{1}},
	{line: "EXPIRETIME k", want: []int{1}},
	// Keyspace.
	{line: "DEL a b c", want: []int{1, 2, 3}},
	{line: "EXISTS a b", want: []int{1, 2}},
	{line: "UNLINK a b", want: []int{1, 2}},
	{line: "TOUCH a", want: []int{1}},
	{line: "TYPE k", want: []int{1}},
	{line: "RENAME a b", want: []int{1, 2}},
	{line: "COPY src dst", want: []int{1, 2}},
	{line: "OBJECT ENCODING k", want: []int{2}},
	{line: "memory usage k", want: []int{2}},
	{line: "DUMP k", want: []int{1}},
	{line: "WATCH a b", want: []int{1, 2}},
	// Scripting.
	{line: "EVAL script 2 k1 k2 a1", want: []int{3, 4}},
	{line: "EVALSHA sha 1 k a", want: []int{3}},
	{line: "EVAL script 0"},
	{line: "EVAL_RO script 1 k", want: []int{3}},
	{line: "FCALL f 1 k a", want: []int{3}},
	// SORT and MIGRATE, whose key specs hand over to a fallback.
	{line: "SORT l BY w_* GET o_* STORE dst", want: []int{1, 7}},
	{line: "SORT l LIMIT 0 1 STORE d", want: []int{1, 6}},
	{line: "SORT l GET store STORE d", want: []int{1, 5}},
	{line: "SORT l", want: []int{1}},
	{line: "SORT_RO l BY x", want: []int{1}},
	{line: "MIGRATE 127.0.0.1 1 k 0 10", want: []int{3}},
	{line: `MIGRATE 127.0.0.1 1 "" 0 10 COPY REPLACE KEYS a b`, want: []int{9, 10}},
	{line: `MIGRATE 127.0.0.1 1 "" 0 10 AUTH pw KEYS a b`, want: []int{9, 10}},
	{line: `MIGRATE 127.0.0.1 1 "" 0 10 AUTH keys KEYS a`, want: []int{9}},
	{line: `MIGRATE 127.0.0.1 1 "" 0 10 AUTH2 u keys KEYS a`, want: []int{10}},
	{line: `MIGRATE 127.0.0.1 1 "" 0 10 KEYS KEYS`, want: []int{7}},
	// No keys.
	{line: "PING hi"},
	{line: "INFO server"},
	{line: "ECHO x"},
	{line: "SELECT 0"},
	{line: "CONFIG GET maxmemory"},
	{line: "CLIENT ID"},
	{line: "CLIENT SETNAME n"},
	{line: "SUBSCRIBE ch"},
	{line: "PUBLISH ch m"},
	{line: "SPUBLISH ch m"},
	// Redis's own arithmetic, odd as it is.
	{line: "XREAD STREAMS a b c", want: []int{2}},
	{line: "GEORADIUS g 15 37 200 km STORE", want: []int{1}},
	{line: `MIGRATE 127.0.0.1 1 "" 0 10 KEYS`, want: []int{3}},
	// Malformed calls.
	{line: "GET", err: ErrArity},
	{line: "GET a b", err: ErrArity},
	{line: "ZUNIONSTORE dst 0 a", err: ErrNumKeys},
	{line: "ZUNIONSTORE dst 3 a b", err: ErrNumKeys},
	{line: "ZUNIONSTORE dst x a", err: ErrNumKeys},
	{line: "LMPOP -1 l LEFT", err: ErrNumKeys},
	{line: "XREAD COUNT 1 STREAMS a", err: ErrKeySyntax},
	{line: "XREAD COUNT 1 BLOCK 0", err: ErrKeySyntax},
	{line: "MIGRATE 127.0.0.1 1 k 0 10 KEYS a b", err: ErrKeySyntax},
	{line: "EVAL script -1 k", err: ErrNumKeys, differs: "EVAL may have no keys, so GETKEYS answers an empty list"},
	{line: "EVAL script 2 k", err: ErrNumKeys, differs: "EVAL may have no keys, so GETKEYS answers an empty list"},
	{line: "LMPOP 01 l LEFT", err: ErrNumKeys, differs: "Redis's fallback reads numkeys with atoi, which takes 01"},
}

// split turns a case line into arguments.
func split(line string) [][]byte {
	var args [][]byte
	for _, f := range strings.Fields(line) {
		if f == `""` {
			f = ""
		}
		args = append(args, []byte(f))
	}
	return args
}

func TestKeys(t *testing.T) {
	for _, tc := range keysCases {
		t.Run(tc.line, func(t *testing.T) {
			args := split(tc.line)
			c := Lookup(args)
			if c == nil {
				t.Fatalf("Lookup(%q) = nil; want an entry", tc.line)
			}
			got, err := c.Keys(args, nil)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Keys error = %v; want %v", err, tc.err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Keys = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestKeysAppendsToDst(t *testing.T) {
	args := split("MGET a b")
	dst := []int{7}
	got, err := Lookup(args).Keys(args, dst)
	if err != nil {
		t.Fatalf("Keys error = %v; want nil", err)
	}
	if want := []int{7, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("Keys = %v; want %v", got, want)
	}
}

func TestKeysErrorKeepsDst(t *testing.T) {
	args := split("ZUNIONSTORE dst 3 a b")
	dst := []int{7}
	got, err := Lookup(args).Keys(args, dst)
	if err == nil {
		t.Fatal("Keys error = nil; want one")
	}
	if want := []int{7}; !slices.Equal(got, want) {
		t.Errorf("Keys = %v; want %v", got, want)
	}
}

func TestKeysErrorText(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{"GET", "ERR wrong number of arguments for 'get' command"},
		{"ZUNIONSTORE d x a", "ERR numkeys 'x' is not a valid number of keys for 'zunionstore' command"},
		{"EVAL s 3 k", "ERR numkeys '3' is more than the keys given for 'eval' command"},
		{"XREAD COUNT 1 STREAMS a", "ERR syntax error in the key arguments for 'xread' command"},
		{"ZUNIONSTORE d " + strings.Repeat("9", 50) + " a", "ERR numkeys '" + strings.Repeat("9", maxQuoted) + "' is not a valid number of keys for 'zunionstore' command"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			args := split(tc.line)
			_, err := Lookup(args).Keys(args, nil)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Keys error = %v; want %q", err, tc.want)
			}
		})
	}
}

func TestKeysUnlocatable(t *testing.T) {
	c := &Command{Name: "mod.cmd", Arity: -2, Specs: []KeySpec{{
		BeginSearch: BeginSearch{Kind: SearchIndex, Index: 1},
		FindKeys:    FindKeys{Kind: FindUnknown},
	}}}
	_, err := c.Keys(split("MOD.CMD a"), nil)
	if !errors.Is(err, ErrNoKeySpec) {
		t.Errorf("Keys error = %v; want %v", err, ErrNoKeySpec)
	}
}

func TestParseCount(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"7", 7, true},
		{"-3", -3, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"9223372036854775808", 0, false},
		{"01", 0, false},
		{"-0", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1x", 0, false},
		{"", 0, false},
		{"-", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseCount([]byte(tc.in))
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseCount(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzKeys checks that any argument list gives in-range key indexes, or an
// error with dst untouched, and never a panic.
func FuzzKeys(f *testing.F) {
	for _, tc := range keysCases {
		f.Add(tc.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := split(line)
		c := Lookup(args)
		if c == nil {
			return
		}
		dst := []int{-1}
		got, err := c.Keys(args, dst)
		if err != nil {
			if !slices.Equal(got, dst) {
				t.Fatalf("Keys(%q) = %v, %v; want dst unchanged on error", line, got, err)
			}
			return
		}
		for _, i := range got[1:] {
			if i < 1 || i >= len(args) {
				t.Fatalf("Keys(%q) = %v; index %d outside 1..%d", line, got, i, len(args)-1)
			}
		}
	})
}

func ExampleCommand_Keys() {
	args := [][]byte{[]byte("ZUNIONSTORE"), []byte("out"), []byte("2"), []byte("a"), []byte("b")}
	keys, err := Lookup(args).Keys(args, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, i := range keys {
		fmt.Printf("%s ", args[i])
	}
	// Output: out a b
}
