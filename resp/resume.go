package resp

// A request of many arguments arrives in many reads (a million-argument MSET is 20 MB), and the
// caller parses again after each. Parsing from the request's start every time would scan
// gigabytes, and hold up everything else the caller's goroutine serves meanwhile; a Parser
// instead takes a multibulk request up where the last call stopped. The caller may move the
// request between calls (its buffer grows), so the arguments found so far are kept as offsets,
// and become slices of the buffer once the request is whole.

// partial is a multibulk request that was not whole at the last call.
type partial struct {
	count int   // its arguments; 0 when no request is partial
	pos   int   // where the next argument's header starts
	offs  []int // each argument found so far: where it starts and where it ends
}

// keptOffsets is the most offsets' storage kept after a partial request is done.
const keptOffsets = 2 * keptArgs

// start records buf, a multibulk request that is not whole, as partial once its count is in.
func (pt *partial) start(buf []byte, lim Limits) {
	if len(buf) == 0 || buf[0] != '*' {
		return
	}
	count, pos, err := multibulkCount(buf, lim)
	if pos == 0 || err != nil || count <= 0 {
		return
	}
	pt.count, pt.pos, pt.offs = count, pos, pt.offs[:0]
}

func (pt *partial) reset() {
	pt.count, pt.pos = 0, 0
	pt.offs = pt.offs[:0]
	if cap(pt.offs) > keptOffsets {
		pt.offs = nil
	}
}

// resume goes on parsing the partial request in buf, as parseMultibulk would from its start.
func (p *Parser) resume(buf []byte, lim Limits) (int, [][]byte, int, error) {
	pt := &p.part
	for len(pt.offs) < 2*pt.count {
		size, body, err := bulkHeader(buf, pt.pos, lim)
		if err != nil {
			pt.reset()
			return 0, p.args[:0], 0, err
		}
		remaining := (pt.count - len(pt.offs)/2 - 1) * minBulkSize
		if body == 0 {
			return 0, p.args[:0], needMore(buf, pt.pos+minBulkSize+remaining), nil
		}
		end := body + size + 2 // Redis skips the two bytes after the data without checking them
		if end > len(buf) {
			return 0, p.args[:0], needMore(buf, end+remaining), nil
		}
		pt.offs = append(pt.offs, body, body+size)
		pt.pos = end
	}
	args := p.args[:0]
	if cap(args) < pt.count {
		args = make([][]byte, 0, pt.count) // every argument is in: the count is no longer a claim
	}
	for i := 0; i < len(pt.offs); i += 2 {
		start, end := pt.offs[i], pt.offs[i+1]
		args = append(args, buf[start:end:end])
	}
	n := pt.pos
	pt.reset()
	p.args = args
	return n, args, 0, nil
}
