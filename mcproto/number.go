package mcproto

import (
	"bytes"
	"math"
)

// memcached reads numbers with C's strtol, strtoul and strtoull and then narrows them, so a
// client may write " +7", "-0" or 4294967297 (which stores flags 1). The functions below
// accept exactly what memcached's safe_strtol, safe_strtoul and safe_strtoull accept, and
// narrow the same way, so that the proxy sends its backends what memcached would have used.

// isCSpace reports whether c is white space to C's isspace.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// cNumber is what strtoul reads from a token: leading white space, an optional sign and
// decimal digits.
type cNumber struct {
	mag      uint64 // the digits' value
	neg      bool   // a '-' sign
	overflow bool   // the digits exceed 64 bits (strtoul's ERANGE)
	ok       bool   // digits were read and only white space follows them
}

func scanC(tok []byte) cNumber {
	var n cNumber
	i := 0
	for i < len(tok) && isCSpace(tok[i]) {
		i++
	}
	if i < len(tok) && (tok[i] == '+' || tok[i] == '-') {
		n.neg = tok[i] == '-'
		i++
	}
	start := i
	for ; i < len(tok) && tok[i] >= '0' && tok[i] <= '9'; i++ {
		d := uint64(tok[i] - '0')
		if n.mag > (math.MaxUint64-d)/10 {
			n.overflow = true
		}
		n.mag = n.mag*10 + d
	}
	n.ok = i > start && (i == len(tok) || isCSpace(tok[i]))
	return n
}

// parseInt32 is memcached's safe_strtol: strtol's 64-bit range, narrowed to int32.
func parseInt32(tok []byte) (int32, bool) {
	n := scanC(tok)
	limit := uint64(math.MaxInt64)
	if n.neg {
		limit++ // -2^63 is in range
	}
	if !n.ok || n.overflow || n.mag > limit {
		return 0, false
	}
	v := int64(n.mag)
	if n.neg {
		v = -v
	}
	return int32(v), true
}

// parseUint64 is memcached's safe_strtoull: strtoull, which negates "-n" modulo 2^64,
// except that results with the top bit set are refused when a '-' was written.
func parseUint64(tok []byte) (uint64, bool) {
	n := scanC(tok)
	if !n.ok || n.overflow {
		return 0, false
	}
	v := n.mag
	if n.neg {
		v = -v
	}
	if int64(v) < 0 && bytes.IndexByte(tok, '-') >= 0 {
		return 0, false
	}
	return v, true
}

// parseUint32 is memcached's safe_strtoul: safe_strtoull narrowed to uint32.
func parseUint32(tok []byte) (uint32, bool) {
	v, ok := parseUint64(tok)
	return uint32(v), ok
}

// parseDecimal reads the plain decimal numbers memcached writes in its replies, up to max.
func parseDecimal(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (max-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}
