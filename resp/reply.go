package resp

import "fmt"

// Bounds on what a reply may declare. Real servers stay far below them; they keep a corrupt
// stream from overflowing the arithmetic.
const (
	maxReplyDepth     = 16384   // nested aggregates, attributes included; a Lua script's self-referencing table comes back about 8,000 deep
	maxAggregateLen   = 1 << 32 // elements (or pairs) in one aggregate
	maxReplyBulkBytes = 1 << 40 // bytes in one blob
)

// ScanReply returns the length of the first complete reply in buf, or 0 if buf does not hold a
// whole one yet. It frames RESP2 and RESP3 replies: simple types (+ - : _ , # ( ), blobs ($ ! =,
// including the null "$-1"), and aggregates (* ~ > %, including the null "*-1") nested up to 16384
// deep. An attribute (|) and the reply it precedes form one frame. Streamed RESP3 types ("$?",
// "*?"), which Redis never sends, are malformed.
//
// Errors wrap ErrMalformedReply or are ErrReplyTooDeep; the stream cannot be resynchronized after
// one. ScanReply checks framing only, not that an integer line holds an integer. It starts from
// buf[0] on every call; ReplyScanner resumes instead.
func ScanReply(buf []byte) (n int, err error) {
	var levels [16]int // room for 15 nested levels without allocating
	n, _, _, err = scanFrom(buf, 0, levels[:0])
	return n, err
}

// ReplyScanner frames replies like ScanReply but remembers how far it got through an incomplete
// reply, so a large aggregate that arrives over many reads is examined once rather than from its
// start after every read. The zero value is ready to use.
type ReplyScanner struct {
	off  int   // bytes of the current reply framed so far
	open []int // values still due at each open level; open[0] is the reply itself
}

// Scan returns the length of the first complete reply in buf, or 0 if it is incomplete, as
// ScanReply does. After a 0, the next call must pass the same reply from its first byte with
// more bytes appended. After a length or an error the scanner starts afresh.
func (s *ReplyScanner) Scan(buf []byte) (n int, err error) {
	n, s.off, s.open, err = scanFrom(buf, s.off, s.open)
	return n, err
}

// Reset forgets a partly framed reply.
func (s *ReplyScanner) Reset() {
	s.off = 0
	s.open = s.open[:0]
}

// scanFrom resumes framing the reply at the start of buf from offset off, with open as
// ReplyScanner keeps it (empty to start). It returns the frame length n, or 0 with the offset and
// open levels to resume from. After a frame or an error, off and open are reset.
func scanFrom(buf []byte, off int, open []int) (n, next int, levels []int, err error) {
	if len(open) == 0 {
		open = append(open, 1)
	}
	for off < len(buf) {
		end, children, fillsSlot, err := scanItem(buf, off)
		if err == nil && end > 0 {
			open, err = advance(open, children, fillsSlot)
		}
		switch {
		case err != nil:
			return 0, 0, open[:0], err
		case end == 0:
			return 0, off, open, nil
		case len(open) == 0:
			return end, 0, open, nil
		}
		off = end
	}
	return 0, off, open, nil
}

// advance accounts for one framed item: it fills a slot of the innermost open level unless it is
// an attribute, opens a level for its children, and closes the levels it completes.
func advance(open []int, children int, fillsSlot bool) ([]int, error) {
	if fillsSlot {
		open[len(open)-1]--
	}
	if children > 0 {
		if len(open) > maxReplyDepth {
			return open, ErrReplyTooDeep
		}
		return append(open, children), nil
	}
	for len(open) > 0 && open[len(open)-1] == 0 {
		open = open[:len(open)-1]
	}
	return open, nil
}

// scanItem frames the item at buf[off]: a whole simple value or blob, or the header line of an
// aggregate, whose children follow it. next is the offset after the item, 0 if incomplete.
// fillsSlot is false only for an attribute, which precedes the value it annotates.
func scanItem(buf []byte, off int) (next, children int, fillsSlot bool, err error) {
	switch buf[off] {
	case '+', '-', ':', '_', ',', '#', '(':
		next, err = lineEnd(buf, off)
		return next, 0, true, err
	case '$', '!', '=':
		next, err = blobEnd(buf, off)
		return next, 0, true, err
	case '*', '~', '>':
		next, children, err = aggregateHeader(buf, off, 1)
		return next, children, true, err
	case '%':
		next, children, err = aggregateHeader(buf, off, 2)
		return next, children, true, err
	case '|':
		next, children, err = aggregateHeader(buf, off, 2)
		return next, children, false, err
	}
	return 0, 0, false, malformed(fmt.Sprintf("unknown type byte %q", buf[off]), off)
}

// lineEnd returns the offset after the "\r\n" that ends the line starting at buf[off], 0 if it
// has not arrived.
func lineEnd(buf []byte, off int) (int, error) {
	cr := indexCR(buf[off:])
	switch {
	case cr < 0 || off+cr+1 >= len(buf):
		return 0, nil
	case buf[off+cr+1] != '\n':
		return 0, malformed("'\\r' without '\\n'", off+cr)
	}
	return off + cr + 2, nil
}

// header parses the length in the header line at buf[off]. next is the offset after the line,
// 0 if it is incomplete.
func header(buf []byte, off int) (length int64, next int, err error) {
	next, err = lineEnd(buf, off)
	if next == 0 || err != nil {
		return 0, 0, err
	}
	length, ok := parseDecimal(buf[off+1 : next-2])
	if !ok {
		return 0, 0, malformed("bad length", off)
	}
	return length, next, nil
}

// blobEnd returns the offset after the blob at buf[off], 0 if incomplete.
func blobEnd(buf []byte, off int) (int, error) {
	size, body, err := header(buf, off)
	switch {
	case body == 0 || err != nil:
		return 0, err
	case size == -1 && buf[off] == '$':
		return body, nil
	case size < 0 || size > maxReplyBulkBytes:
		return 0, malformed("bad blob length", off)
	case int64(len(buf)-body) < size+2:
		return 0, nil
	}
	end := body + int(size)
	if buf[end] != '\r' || buf[end+1] != '\n' {
		return 0, malformed("blob not followed by \\r\\n", end)
	}
	return end + 2, nil
}

// aggregateHeader parses an aggregate's header line and returns the number of values that
// follow it: its length times per (2 for maps and attributes).
func aggregateHeader(buf []byte, off, per int) (next, children int, err error) {
	length, next, err := header(buf, off)
	switch {
	case next == 0 || err != nil:
		return 0, 0, err
	case length == -1 && buf[off] == '*':
		return next, 0, nil
	case length < 0 || length > maxAggregateLen:
		return 0, 0, malformed("bad aggregate length", off)
	}
	return next, int(length) * per, nil
}
