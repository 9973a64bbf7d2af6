package resp

// A request of many arguments arrives in many reads (a million-argument MSET is 20 MB), and the
// caller parses again after each. Parsing from the request's start every time would scan
// gigabytes, and hold up everything else the caller's goroutine serves meanwhile; a Parser
// instead takes a multibulk request up where the last call stopped. The caller may move the
// request between calls (its buffer grows), so the arguments found so far are kept as offsets,
// and become slices of the buffer once the request is whole.

// partial is a multibulk request that was not whole at the last call.
type partial struct {
	count int // its arguments; 0 when no request is partial
	pos   int // where the next argument's header starts
	found int // arguments found so far
	// offs holds where each argument found starts and ends, in chunks of offChunk offsets:
	// one slice doubling as it grew would copy megabytes in one step of a caller that serves
	// other clients in between.
	offs [][]int
}

// offChunk is the offsets one chunk of partial.offs holds (64 KB).
const offChunk = 8192

// start records buf, a multibulk request that is not whole, as partial once its count is in.
func (pt *partial) start(buf []byte, lim Limits) {
	if len(buf) == 0 || buf[0] != '*' {
		return
	}
	count, pos, err := multibulkCount(buf, lim)
	if pos == 0 || err != nil || count <= 0 {
		return
	}
	pt.count, pt.pos, pt.found = count, pos, 0
}

// add records an argument found at buf[start:end].
func (pt *partial) add(start, end int) {
	last := len(pt.offs) - 1
	if last < 0 || len(pt.offs[last]) == offChunk {
		pt.offs = append(pt.offs, make([]int, 0, offChunk))
		last++
	}
	pt.offs[last] = append(pt.offs[last], start, end)
	pt.found++
}

// reset forgets the partial request, keeping one chunk of offsets for the next.
func (pt *partial) reset() {
	pt.count, pt.pos, pt.found = 0, 0, 0
	if len(pt.offs) > 0 {
		clear(pt.offs[1:])
		pt.offs = pt.offs[:1]
		pt.offs[0] = pt.offs[0][:0]
	}
}

// resume goes on parsing the partial request in buf, as parseMultibulk would from its start.
func (p *Parser) resume(buf []byte, lim Limits) (int, [][]byte, int, error) {
	pt := &p.part
	for pt.found < pt.count {
		size, body, err := bulkHeader(buf, pt.pos, lim)
		if err != nil {
			pt.reset()
			return 0, p.args[:0], 0, err
		}
		remaining := (pt.count - pt.found - 1) * minBulkSize
		if body == 0 {
			return 0, p.args[:0], needMore(buf, pt.pos+minBulkSize+remaining), nil
		}
		end := body + size + 2 // Redis skips the two bytes after the data without checking them
		if end > len(buf) {
			return 0, p.args[:0], needMore(buf, end+remaining), nil
		}
		pt.add(body, body+size)
		pt.pos = end
	}
	args := p.args[:0]
	if cap(args) < pt.count {
		args = make([][]byte, 0, pt.count) // every argument is in: the count is no longer a claim
	}
	for _, chunk := range pt.offs {
		for i := 0; i < len(chunk); i += 2 {
			args = append(args, buf[chunk[i]:chunk[i+1]:chunk[i+1]])
		}
	}
	n := pt.pos
	pt.reset()
	p.args = args
	return n, args, 0, nil
}
