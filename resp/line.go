package resp

import "bytes"

// shortLine covers the header lines that make up most of RESP: "*3", "$16", ":1", "+OK".
const shortLine = 32

// indexCR is bytes.IndexByte(b, '\r'), faster for a '\r' near the start of b, where a plain loop
// beats the call and setup cost of the vectorized search.
func indexCR(b []byte) int {
	for i := range min(len(b), shortLine) {
		if b[i] == '\r' {
			return i
		}
	}
	if len(b) <= shortLine {
		return -1
	}
	if i := bytes.IndexByte(b[shortLine:], '\r'); i >= 0 {
		return shortLine + i
	}
	return -1
}
