package resp

import "math"

// Parser parses client requests, keeping its argument slice and the scratch space for unescaped
// inline arguments between calls so that steady-state parsing does not allocate. The zero value
// is ready to use; a Parser is not safe for concurrent use.
type Parser struct {
	args    [][]byte
	scratch []byte
	part    partial // a multibulk request not whole at the last call (see resume.go)
}

// keptArgs is the most arguments' storage a Parser keeps from one request to the next: a
// request of a million arguments must not leave 24 MB behind it for the connection's life.
const keptArgs = 4096

// Parse is ParseRequest with the Parser's reusable storage. The arguments it returns are valid
// until the next call to Parse and for as long as buf is unchanged. A multibulk request that is
// not whole is taken up where the last call stopped, when the call after passes the same
// request again with more of it, as ParseRequest asks (see resume.go).
func (p *Parser) Parse(buf []byte, lim Limits) (n int, args [][]byte, need int, err error) {
	if cap(p.args) > keptArgs {
		p.args = nil // the last request's arguments are done with
	}
	if p.part.count > 0 && len(buf) >= p.part.pos {
		return p.resume(buf, lim.orDefaults())
	}
	p.part.reset()
	n, p.args, need, err = parse(buf, p.args, &p.scratch, lim)
	if n == 0 && err == nil {
		p.part.start(buf, lim.orDefaults())
	}
	return n, p.args, need, err
}

// Forget drops the last request's arguments, which point into its input, and any partial
// request's, and keeps the storage for the next.
func (p *Parser) Forget() {
	clear(p.args[:cap(p.args)])
	p.part.reset()
}

// ParseRequest parses the first complete request in buf, multibulk ("*2\r\n$3\r\nGET\r\n...") or
// inline ("GET k\r\n"), as redis-server 7 does within lim. It appends the arguments to args[:0]
// and returns them with n, the bytes consumed. The arguments are slices into buf, except inline
// arguments with quotes, which are unescaped into newly allocated memory (Parser reuses it).
//
// When buf holds no complete request yet, n is 0 and err nil: the caller reads more and calls
// again with the same start. need is then how long buf must grow before the request can be
// complete, when that is known and more than len(buf), and 0 otherwise; an error may still show
// up sooner.
//
// A request with no arguments ("*0\r\n", "*-1\r\n", a blank line) returns n > 0 and no
// arguments; Redis skips it without a reply. Errors are *ProtocolError; Redis replies with the
// error and closes the connection, and so should the caller.
//
// Two deliberate differences from Redis keep the outcome independent of how the input was split
// into reads: a line longer than lim.MaxInline is an error even when its end arrived with it
// (Redis accepts it if it came in one read), and a NUL byte in an inline or header line is an
// ordinary byte (Redis stops looking for the end of the line there, and waits for more input
// until the line is too long).
func ParseRequest(buf []byte, args [][]byte, lim Limits) (n int, out [][]byte, need int, err error) {
	return parse(buf, args, nil, lim)
}

func parse(buf []byte, args [][]byte, scratch *[]byte, lim Limits) (int, [][]byte, int, error) {
	args = args[:0]
	if len(buf) == 0 {
		return 0, args, 0, nil
	}
	lim = lim.orDefaults()
	if buf[0] == '*' {
		return parseMultibulk(buf, args, lim)
	}
	return parseInline(buf, args, scratch, lim)
}

// minBulkSize is the length of the shortest bulk argument, "$0\r\n\r\n".
const minBulkSize = 6

// parseMultibulk parses "*<count>\r\n" followed by count bulk arguments.
func parseMultibulk(buf []byte, args [][]byte, lim Limits) (int, [][]byte, int, error) {
	count, pos, err := multibulkCount(buf, lim)
	if pos == 0 || err != nil || count <= 0 {
		return pos, args, 0, err
	}
	for i := range count {
		size, body, err := bulkHeader(buf, pos, lim)
		if err != nil {
			return 0, args[:0], 0, err
		}
		remaining := (count - i - 1) * minBulkSize
		if body == 0 {
			return 0, args[:0], needMore(buf, pos+minBulkSize+remaining), nil
		}
		end := body + size + 2 // Redis skips the two bytes after the data without checking them
		if end > len(buf) {
			return 0, args[:0], needMore(buf, end+remaining), nil
		}
		args = append(args, buf[body:body+size:body+size])
		pos = end
	}
	return pos, args, 0, nil
}

// needMore returns need as ParseRequest reports it: a lower bound beyond buf, or 0.
func needMore(buf []byte, atLeast int) int {
	if atLeast > len(buf) {
		return atLeast
	}
	return 0
}

// multibulkCount reads the "*<count>\r\n" line. pos is the offset after it, 0 if incomplete. A
// count of zero or less is an empty request.
func multibulkCount(buf []byte, lim Limits) (count, pos int, err error) {
	line, pos, err := headerLine(buf, 0, lim, ErrTooBigMultibulkCount)
	if pos == 0 || err != nil {
		return 0, 0, err
	}
	n, ok := parseDecimal(line[1:])
	switch {
	case !ok || n > math.MaxInt32:
		return 0, 0, ErrInvalidMultibulkLength
	case n > int64(lim.MaxArgs):
		return 0, 0, tooManyArgs(lim.MaxArgs)
	}
	return int(n), pos, nil
}

// bulkHeader reads the "$<size>\r\n" line at buf[pos:]. body is the offset of the data that
// follows, 0 if the line is incomplete.
func bulkHeader(buf []byte, pos int, lim Limits) (size, body int, err error) {
	line, body, err := headerLine(buf, pos, lim, ErrTooBigBulkCount)
	if body == 0 || err != nil {
		return 0, 0, err
	}
	if buf[pos] != '$' {
		return 0, 0, expectedDollar(buf[pos])
	}
	n, ok := parseDecimal(line[1:])
	switch {
	case !ok || n < 0:
		return 0, 0, ErrInvalidBulkLength
	case n > int64(lim.MaxBulk):
		return 0, 0, bulkOverLimit(n, lim.MaxBulk)
	}
	return int(n), body, nil
}

// headerLine finds the header line at buf[pos:] the way Redis does: up to the first '\r', which
// must be followed by one more byte (not checked to be '\n'). It returns the line without its
// "\r\n" and the offset after it, 0 if incomplete. A line longer than
// lim.MaxInline is tooBig, whether or not its end has arrived, so that the outcome does not depend
// on how the input was split into reads.
func headerLine(buf []byte, pos int, lim Limits, tooBig error) (line []byte, next int, err error) {
	cr := indexCR(buf[pos:])
	switch {
	case cr > lim.MaxInline || (cr < 0 && len(buf)-pos > lim.MaxInline):
		return nil, 0, tooBig
	case cr < 0 || pos+cr+2 > len(buf):
		return nil, 0, nil
	}
	return buf[pos : pos+cr], pos + cr + 2, nil
}
