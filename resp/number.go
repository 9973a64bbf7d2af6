package resp

import "math"

// maxDigits is the most digits an int64 has.
const maxDigits = 19

// parseDecimal parses b as Redis's string2ll does: an optional '-' and digits, no leading zeros,
// no "+", "-0" or empty string, and nothing that overflows an int64.
func parseDecimal(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > maxDigits {
		return 0, false
	}
	if b[0] == '0' {
		return 0, len(b) == 1 && !neg
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0') // 19 digits cannot overflow a uint64
	}
	switch {
	case !neg && v <= math.MaxInt64:
		return int64(v), true
	case neg && v <= -math.MinInt64:
		return -int64(v), true
	}
	return 0, false
}
