package mcproto

import (
	"strings"
	"testing"
)

// trafficCase is client input and what memcached 1.6.18 replies to it, byte for byte.
// want == "" skips the literal check for replies that carry cas uniques; the relay must
// still match memcached.
type trafficCase struct {
	name  string
	input string
	want  string
}

var (
	key250 = strings.Repeat("k", 250)
	key251 = strings.Repeat("k", 251)
	tooBig = strings.Repeat("x", 2_000_000) // over memcached's default 1 MB item limit
	// eighteen t flags make ms's line 21 tokens, over memcached's 20
	manyFlags = strings.TrimSuffix(strings.Repeat("t ", 17), " ")
)

const (
	badFormat = "CLIENT_ERROR bad command line format\r\n"
	badChunk  = "CLIENT_ERROR bad data chunk\r\n"
	tooLarge  = "SERVER_ERROR object too large for cache\r\n"
	badDelta  = "CLIENT_ERROR invalid numeric delta argument\r\n"
	badExp    = "CLIENT_ERROR invalid exptime argument\r\n"
	usage     = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
	version   = "VERSION 1.6.18\r\n"
)

// trafficCases run in order on one memcached, so each sets up the keys it reads.
var trafficCases = []trafficCase{
	// Command names and lines.
	{"unknown command", "foo\r\n", "ERROR\r\n"},
	{"empty line", "\r\n", "ERROR\r\n"},
	{"bare newline", "\n", "ERROR\r\n"},
	{"one-letter command", "g k\r\n", "ERROR\r\n"},
	{"upper case", "GET k\r\n", "ERROR\r\n"},
	{"tab is no separator", "get\tk\r\n", "ERROR\r\n"},
	{"only spaces", "   \r\n", "ERROR\r\n"},
	{"lone CR line", "\r\r\n", "ERROR\r\n"},
	{"leading and doubled spaces", "  get  nokey \r\n", "END\r\n"},
	{"get without key", "get\r\n", "ERROR\r\n"},
	{"line ended by LF only", "set a0 0 0 1\na\r\nget a0\n", "STORED\r\nVALUE a0 0 1\r\na\r\nEND\r\n"},

	// Retrieval and storage.
	{"set then get", "set a1 5 0 3\r\nabc\r\nget a1\r\n", "STORED\r\nVALUE a1 5 3\r\nabc\r\nEND\r\n"},
	{"multi-get with a miss and a repeat", "set a2 0 0 1\r\nx\r\nget a2 nokey a2\r\n",
		"STORED\r\nVALUE a2 0 1\r\nx\r\nVALUE a2 0 1\r\nx\r\nEND\r\n"},
	{"bget is get", "bget a2\r\n", "VALUE a2 0 1\r\nx\r\nEND\r\n"},
	{"gets", "set a3 0 0 1\r\nx\r\ngets a3 nokey\r\n", ""},
	{"empty value", "set a4 0 0 0\r\n\r\nget a4\r\n", "STORED\r\nVALUE a4 0 0\r\n\r\nEND\r\n"},
	{"add replace append prepend",
		"add a5 0 0 1\r\nx\r\nadd a5 0 0 1\r\ny\r\nreplace a5 0 0 1\r\nz\r\nreplace nokey 0 0 1\r\nz\r\n" +
			"append a5 0 0 2\r\n!!\r\nprepend a5 0 0 2\r\n<<\r\nappend nokey 0 0 1\r\nz\r\nget a5\r\n",
		"STORED\r\nNOT_STORED\r\nSTORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nNOT_STORED\r\nVALUE a5 0 5\r\n<<z!!\r\nEND\r\n"},
	{"storage noreply",
		"set a6 0 0 1 noreply\r\n1\r\nadd a6 0 0 1 noreply\r\n2\r\nreplace a6 0 0 1 noreply\r\n3\r\n" +
			"append a6 0 0 1 noreply\r\n4\r\nprepend a6 0 0 1 noreply\r\n5\r\nget a6\r\n",
		"VALUE a6 0 3\r\n534\r\nEND\r\n"},
	{"sixth token other than noreply", "set a7 0 0 1 bogus\r\nx\r\n", "STORED\r\n"},
	{"cas", "set a8 0 0 1\r\nx\r\ncas a8 0 0 1 1\r\ny\r\ncas nokey 0 0 1 1\r\ny\r\ncas a8 0 0 1 1 noreply\r\ny\r\nget a8\r\n",
		"STORED\r\nEXISTS\r\nNOT_FOUND\r\nVALUE a8 0 1\r\nx\r\nEND\r\n"},
	{"set with too few tokens", "set a9 0 0\r\nx\r\n", "ERROR\r\nERROR\r\n"},
	{"set with too many tokens", "set a9 0 0 1 noreply x\r\nx\r\n", "ERROR\r\nERROR\r\n"},
	{"cas without unique", "cas a9 0 0 1\r\nx\r\n", "ERROR\r\nERROR\r\n"},
	{"cas with too many tokens", "cas a9 0 0 1 99 noreply x\r\nx\r\n", "ERROR\r\nERROR\r\n"},

	// Data blocks.
	{"value longer than declared", "set b1 0 0 1\r\nab\r\n", badChunk + "ERROR\r\n"},
	{"value without CRLF", "set b2 0 0 1\r\naXY", badChunk},
	{"value ended by LF only", "set b3 0 0 1\r\na\nget b3\r\n", badChunk + "ERROR\r\n"},
	{"bad data chunk noreply", "set b4 0 0 1 noreply\r\nab\r\n", "ERROR\r\n"},

	// Numbers.
	{"flags not a number", "set c1 x 0 1\r\na\r\n", badFormat + "ERROR\r\n"},
	{"negative flags", "set c1 -1 0 1\r\na\r\n", badFormat + "ERROR\r\n"},
	{"flags over 64 bits", "set c1 18446744073709551616 0 1\r\na\r\n", badFormat + "ERROR\r\n"},
	{"exptime not a number", "set c1 0 x 1\r\na\r\n", badFormat + "ERROR\r\n"},
	{"exptime over 64 bits", "set c1 0 9223372036854775808 1\r\na\r\n", badFormat + "ERROR\r\n"},
	{"bytes not a number", "set c1 0 0 x\r\na\r\n", badFormat + "ERROR\r\n"},
	{"negative bytes", "set c1 0 0 -1\r\na\r\n", badFormat + "ERROR\r\n"},
	{"bytes at int32 max", "set c1 0 0 2147483647\r\na\r\n", badFormat + "ERROR\r\n"},
	{"bytes wrapping negative", "set c1 0 0 2147483648\r\na\r\n", badFormat + "ERROR\r\n"},
	{"bytes with trailing junk", "set c1 0 0 1x\r\na\r\n", badFormat + "ERROR\r\n"},
	{"cas unique not a number", "cas c1 0 0 1 abc\r\na\r\ncas c1 0 0 1 -1\r\na\r\n", strings.Repeat(badFormat+"ERROR\r\n", 2)},
	{"bad number noreply", "set c1 x 0 1 noreply\r\na\r\nset c1 0 0 noreply\r\na\r\n", "ERROR\r\nERROR\r\n"},
	{"numbers as C reads them",
		"set c2 4294967297 0 +1\r\na\r\nset c3 -0 \t0 01\r\nb\r\nset c4 -18446744073709551615 0 1\t\r\nc\r\nget c2 c3 c4\r\n",
		"STORED\r\nSTORED\r\nSTORED\r\nVALUE c2 1 1\r\na\r\nVALUE c3 0 1\r\nb\r\nVALUE c4 1 1\r\nc\r\nEND\r\n"},
	{"bytes wrapping to one", "set c5 0 0 4294967297\r\na\r\nget c5\r\n", "STORED\r\nVALUE c5 0 1\r\na\r\nEND\r\n"},
	{"exptime wrapping into the past", "set c6 0 99999999999 1\r\na\r\nget c6\r\n", "STORED\r\nEND\r\n"},
	{"exptime wrapping to zero", "set c7 0 -9223372036854775808 1\r\na\r\nget c7\r\n", "STORED\r\nVALUE c7 0 1\r\na\r\nEND\r\n"},

	// Values over the item size limit: refused, swallowed, and a set drops the old value.
	{"set too large", "set d1 0 0 1\r\na\r\nset d1 0 0 2000000\r\n" + tooBig + "\r\nget d1\r\n", "STORED\r\n" + tooLarge + "END\r\n"},
	{"set too large noreply", "set d2 0 0 1\r\na\r\nset d2 0 0 2000000 noreply\r\n" + tooBig + "\r\nget d2\r\n", "STORED\r\nEND\r\n"},
	{"add too large keeps the value", "set d3 0 0 1\r\na\r\nadd d3 0 0 2000000\r\n" + tooBig + "\r\nget d3\r\n",
		"STORED\r\n" + tooLarge + "VALUE d3 0 1\r\na\r\nEND\r\n"},
	{"too large swallows commands in its data", "set d4 0 0 2000000\r\nget d4\r\n" + tooBig[len("get d4\r\n"):] + "\r\nget d4\r\n",
		tooLarge + "END\r\n"},

	// incr and decr.
	{"incr and decr", "set e1 0 0 2\r\n10\r\nincr e1 5\r\ndecr e1 100\r\nincr nokey 1\r\n", "STORED\r\n15\r\n0\r\nNOT_FOUND\r\n"},
	{"incr noreply", "set e2 0 0 1\r\n5\r\nincr e2 1 noreply\r\ndecr e2 2 noreply\r\nget e2\r\n", "STORED\r\nVALUE e2 0 1\r\n4\r\nEND\r\n"},
	{"incr delta not a number", "incr e1 x\r\nincr e1 0x10\r\n", badDelta + badDelta},
	{"incr negative delta", "incr e1 -1\r\n", badDelta},
	{"incr delta over 64 bits", "incr e1 18446744073709551616\r\n", badDelta},
	{"incr bad delta noreply", "incr e1 abc noreply\r\nincr e1 noreply\r\n", ""},
	{"incr non-numeric value", "set e3 0 0 1\r\na\r\nincr e3 1\r\n", "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
	{"incr arity", "incr e1\r\nincr e1 1 2 3\r\n", "ERROR\r\nERROR\r\n"},
	{"decr with a fourth token", "set e5 0 0 1\r\n5\r\ndecr e5 1 2\r\n", "STORED\r\n4\r\n"},
	{"incr wraps at 64 bits", "set e4 0 0 20\r\n18446744073709551615\r\nincr e4 2\r\n", "STORED\r\n1\r\n"},

	// touch, gat and gats: the exptime comes before the keys.
	{"touch", "set f1 0 0 1\r\na\r\ntouch f1 0\r\ntouch nokey 0\r\ntouch f1 0 noreply\r\ntouch f1 0 foo\r\n",
		"STORED\r\nTOUCHED\r\nNOT_FOUND\r\nTOUCHED\r\n"},
	{"touch bad exptime", "touch f1 x\r\ntouch f1 x noreply\r\n", badExp},
	{"touch arity", "touch f1\r\ntouch f1 0 noreply x\r\n", "ERROR\r\nERROR\r\n"},
	{"gat", "set g1 0 0 1\r\na\r\ngat 0 g1 nokey g1\r\n", "STORED\r\nVALUE g1 0 1\r\na\r\nVALUE g1 0 1\r\na\r\nEND\r\n"},
	{"gats", "gats 0 g1\r\n", ""},
	{"gat without keys", "gat 0\r\n", "END\r\n"},
	{"gat without exptime", "gat\r\n", "ERROR\r\n"},
	{"gat bad exptime", "gat x g1\r\ngats g1 g1\r\n", badExp + badExp},

	// delete.
	{"delete", "set h1 0 0 1\r\na\r\ndelete h1\r\ndelete h1\r\n", "STORED\r\nDELETED\r\nNOT_FOUND\r\n"},
	{"delete noreply and hold 0",
		"set h2 0 0 1\r\na\r\ndelete h2 0\r\nset h2 0 0 1\r\na\r\ndelete h2 noreply\r\nset h2 0 0 1\r\na\r\ndelete h2 0 noreply\r\nget h2\r\n",
		"STORED\r\nDELETED\r\nSTORED\r\nSTORED\r\nEND\r\n"},
	{"delete with a hold time", "delete h2 1\r\ndelete h2 1 noreply\r\ndelete h2 noreply 0\r\n", usage + usage},
	{"key named noreply", "set noreply 0 0 1\r\na\r\ndelete noreply\r\n", "STORED\r\nDELETED\r\n"},
	{"delete arity", "delete\r\ndelete a b c d\r\n", "ERROR\r\nERROR\r\n"},

	// Keys: at most 250 bytes, any bytes but space, CR LF and NUL.
	{"key of 250 bytes", "set " + key250 + " 0 0 1\r\na\r\nget " + key250 + "\r\n", "STORED\r\nVALUE " + key250 + " 0 1\r\na\r\nEND\r\n"},
	{"set key of 251 bytes", "set " + key251 + " 0 0 1\r\na\r\n", badFormat + "ERROR\r\n"},
	{"set key of 251 bytes noreply", "set " + key251 + " 0 0 1 noreply\r\na\r\n", "ERROR\r\n"},
	// memcached drops the replies still queued before a get that fails this way, so the
	// get comes alone.
	{"get key of 251 bytes", "get a1 " + key251 + " a1\r\n", badFormat},
	{"gat key of 251 bytes", "gat 0 " + key251 + "\r\n", badFormat},
	{"other commands with 251 bytes",
		"delete " + key251 + "\r\nincr " + key251 + " 1\r\ntouch " + key251 + " 0\r\nmg " + key251 + " v\r\nme " + key251 + "\r\n",
		strings.Repeat(badFormat, 5)},
	{"ms key of 251 bytes", "ms " + key251 + " 1\r\na\r\n", badFormat + "ERROR\r\n"},
	{"key with control bytes", "set i\x01\x7f\xff\t\vj 0 0 1\r\na\r\nget i\x01\x7f\xff\t\vj\r\n", "STORED\r\nVALUE i\x01\x7f\xff\t\vj 0 1\r\na\r\nEND\r\n"},
	{"CR before CRLF is part of the key", "set i2\r 0 0 1\r\na\r\nget i2\r\r\nget i2\r\n", "STORED\r\nVALUE i2\r 0 1\r\na\r\nEND\r\nEND\r\n"},
	{"NUL ends the line", "set i3\x00junk 0 0 1\r\na\r\nget i3\x00 i3\r\n", "ERROR\r\nERROR\r\nEND\r\n"},

	// flush_all, verbosity, version, stats, quit.
	{"flush_all", "set j1 0 0 1\r\na\r\nflush_all\r\nget j1\r\n", "STORED\r\nOK\r\nEND\r\n"},
	{"flush_all forms", "flush_all 0\r\nflush_all -1\r\nflush_all noreply\r\nflush_all 0 noreply\r\nflush_all 0 x\r\n", "OK\r\nOK\r\nOK\r\n"},
	{"flush_all bad delay", "flush_all x\r\nflush_all x noreply\r\nflush_all noreply x\r\n", badExp + badExp},
	{"flush_all arity", "flush_all 1 2 3\r\n", "ERROR\r\n"},
	{"verbosity", "verbosity 0\r\nverbosity 0 noreply\r\nverbosity 0 2\r\n", "OK\r\nOK\r\n"},
	{"verbosity errors", "verbosity\r\nverbosity x\r\nverbosity x noreply\r\nverbosity noreply\r\nverbosity 1 2 3\r\n",
		"ERROR\r\n" + badFormat + "ERROR\r\n"},
	{"version", "version\r\nversion extra\r\n", version + version},
	{"stats errors", "stats detail\r\nstats nosuch\r\n", "CLIENT_ERROR usage: stats detail on|off|dump\r\nERROR\r\n"},
	{"stats reset", "stats reset\r\n", "RESET\r\n"},
	{"quit ends the connection", "get nokey\r\nquit\r\nget nokey\r\n", "END\r\n"},

	// Lines without a newline: memcached closes after 2048 bytes, unless they start a get.
	// (It also drops replies it has not sent yet, so nothing comes before them here, and it
	// would take a longer line that reached it in one read, which Parse cannot know;
	// TestParseErrors checks that Parse closes.)
	{"long junk closes", strings.Repeat("x", 3000), ""},
	{"long set line closes", "set " + strings.Repeat("a", 3000), ""},
	{"get line waits", "get nokey\r\nget " + strings.Repeat("a", 3000), "END\r\n"},
	{"gets line after spaces waits", "get nokey\r\n" + strings.Repeat(" ", 100) + "gets " + strings.Repeat("a", 3000), "END\r\n"},

	// Meta commands.
	{"mg hit and miss", "set m1 0 0 2\r\nhi\r\nmg m1 v\r\nmg m1 s v f\r\nmg nokey v\r\n",
		"STORED\r\nVA 2\r\nhi\r\nVA 2 s2 f0\r\nhi\r\nEN\r\n"},
	{"mg quiet", "mg m1 v q\r\nmg nokey v q\r\nmg m1 q\r\nmn\r\n", "VA 2\r\nhi\r\nHD\r\nMN\r\n"},
	{"mg key and opaque", "mg m1 k O123 v\r\nmg nokey k O9\r\n", "VA 2 km1 O123\r\nhi\r\nEN knokey O9\r\n"},
	{"mg flag errors", "mg m1 v v\r\nmg m1 Z\r\nmg m1 q Z\r\nmg\r\n",
		"CLIENT_ERROR duplicate flag\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR invalid flag\r\nERROR\r\n"},
	{"ms", "ms m2 2\r\nhi\r\nms m2 2 q\r\nho\r\nms m2 2 ME q\r\nhu\r\nmn\r\nmg m2 v\r\n", "HD\r\nNS\r\nMN\r\nVA 2\r\nho\r\n"},
	{"ms base64 key", "ms bTM= 1 b\r\nx\r\nget m3\r\n", "HD\r\nVALUE m3 0 1\r\nx\r\nEND\r\n"},
	{"ms line errors", "ms\r\nms m4\r\nms m4 x\r\nhi\r\nms m4 -1\r\n", "ERROR\r\n" + badFormat + badFormat + "ERROR\r\n" + badFormat},
	{"ms too many flags", "ms m4 1 " + manyFlags + "\r\na\r\n", "CLIENT_ERROR options flags too long\r\nERROR\r\n"},
	{"ms invalid flag swallows the data", "ms m4 2 Z\r\nhi\r\nmn\r\n", "CLIENT_ERROR invalid flag\r\nMN\r\n"},
	{"ms bad chunk", "ms m4 1\r\nab\r\nms m4 1 q\r\nab\r\n", strings.Repeat(badChunk+"ERROR\r\n", 2)},
	{"ms too large", "set m5 0 0 1\r\na\r\nms m5 2000000 MA q\r\n" + tooBig + "\r\nget m5\r\n", "STORED\r\n" + tooLarge + "END\r\n"},
	{"md", "set m6 0 0 1\r\na\r\nmd m6 q\r\nmd m6 q\r\nmd m6\r\nmn\r\n", "STORED\r\nNF\r\nNF\r\nMN\r\n"},
	{"md invalidate and cas", "set m7 0 0 1\r\na\r\nmd m7 I q\r\nmd m7 C1 q\r\nmn\r\n", "STORED\r\nEX\r\nMN\r\n"},
	{"ma", "set m8 0 0 1\r\n5\r\nma m8\r\nma m8 v\r\nma m8 q\r\nma m8 q v\r\nma m8 MD v\r\nma nokey q\r\nmn\r\n",
		"STORED\r\nHD\r\nVA 1\r\n7\r\nVA 1\r\n8\r\nNF\r\nMN\r\n"},
	{"ma errors", "ma m8 Z\r\nma m8 q MX\r\nma\r\n",
		"CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid mode for ma M token\r\nERROR\r\n"},
	{"me", "me nokey\r\nme\r\n", "EN\r\n" + badFormat},
	{"mn with tokens", "mn foo\r\n", "MN\r\n"},
	{"unknown meta command", "mx foo\r\n", "ERROR\r\n"},

	{"pipeline", "set p1 1 0 1\r\na\r\nget p1 p2\r\nincr x 1\r\nmg p1 f v\r\nbogus\r\ndelete p1\r\nversion\r\n",
		"STORED\r\nVALUE p1 1 1\r\na\r\nEND\r\nNOT_FOUND\r\nVA 1 f1\r\na\r\nERROR\r\nDELETED\r\n" + version},
}

// relayLimits gives the relay memcached's own limits.
var relayLimits = Limits{MaxKeys: 100, ItemSizeMax: 1 << 20, MaxLine: DefaultMaxLine}

// TestMatchesMemcached sends each case to a memcached directly and through the relay (Parse,
// the Append functions, ScanResponse, NextValue, StripQuiet and QuietSuppressed in front
// of a second memcached), and requires the same bytes from both, and the literal reply.
func TestMatchesMemcached(t *testing.T) {
	directAddr, relayAddr := startMemcached(t), startMemcached(t)
	for _, tc := range trafficCases {
		t.Run(tc.name, func(t *testing.T) {
			want := direct(t, directAddr, []byte(tc.input))
			if tc.want != "" && string(want) != tc.want {
				t.Fatalf("memcached replied %q; the case expects %q", want, tc.want)
			}
			got := newRelay(t, relayAddr, relayLimits).run([]byte(tc.input))
			if string(got) != string(want) {
				t.Errorf("through the relay: got %q; want %q", got, want)
			}
		})
	}
}
