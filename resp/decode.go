package resp

// The helpers below read one reply frame, as ScanReply delimits it, for merging replies from
// several servers. Attributes before the value are skipped; bytes after the frame are ignored.

// SplitArray appends to dst[:0] the raw frames of the elements of an array, set or push reply
// and returns them; they are slices of reply. A null array ("*-1") has no elements. Any other
// reply type is an error wrapping ErrWrongType.
func SplitArray(reply []byte, dst [][]byte) ([][]byte, error) {
	dst = dst[:0]
	off, err := skipAttributes(reply)
	if err != nil {
		return dst, err
	}
	switch reply[off] {
	case '*', '~', '>':
	default:
		return dst, wrongType(reply[off], "an array")
	}
	pos, count, err := completeHeader(reply, off, 1)
	if err != nil {
		return dst, err
	}
	for range count {
		frame, err := nextFrame(reply, pos)
		if err != nil {
			return dst, err
		}
		dst = append(dst, frame)
		pos += len(frame)
	}
	return dst, nil
}

// ParseInt returns the value of an integer reply (":123\r\n").
func ParseInt(reply []byte) (int64, error) {
	off, err := skipAttributes(reply)
	if err != nil {
		return 0, err
	}
	if reply[off] != ':' {
		return 0, wrongType(reply[off], "an integer")
	}
	next, err := lineEnd(reply, off)
	if next == 0 || err != nil {
		return 0, incompleteOr(err)
	}
	v, ok := parseDecimal(reply[off+1 : next-2])
	if !ok {
		return 0, malformed("bad integer", off)
	}
	return v, nil
}

// IsError reports whether reply is an error: a simple error ("-ERR ...") or a RESP3 blob error.
func IsError(reply []byte) bool {
	off, err := skipAttributes(reply)
	return err == nil && (reply[off] == '-' || reply[off] == '!')
}

// ParseBulk returns the contents of a bulk string reply, a slice of reply. isNull reports the
// null bulk string ("$-1") or RESP3 null ("_").
func ParseBulk(reply []byte) (b []byte, isNull bool, err error) {
	off, err := skipAttributes(reply)
	if err != nil {
		return nil, false, err
	}
	switch reply[off] {
	case '_':
		return nil, true, nil
	case '$':
	default:
		return nil, false, wrongType(reply[off], "a bulk string")
	}
	size, body, err := header(reply, off)
	switch {
	case body == 0 || err != nil:
		return nil, false, incompleteOr(err)
	case size == -1:
		return nil, true, nil
	}
	end, err := blobEnd(reply, off)
	if end == 0 || err != nil {
		return nil, false, incompleteOr(err)
	}
	return reply[body : end-2 : end-2], false, nil
}

// skipAttributes returns the offset of the first byte of reply after any attributes, which is
// within reply.
func skipAttributes(reply []byte) (int, error) {
	off := 0
	for off < len(reply) && reply[off] == '|' {
		pos, count, err := completeHeader(reply, off, 2)
		for i := 0; i < count && err == nil; i++ {
			var frame []byte
			frame, err = nextFrame(reply, pos)
			pos += len(frame)
		}
		if err != nil {
			return 0, err
		}
		off = pos
	}
	if off == len(reply) {
		return 0, ErrIncomplete
	}
	return off, nil
}

// completeHeader is aggregateHeader with an incomplete header reported as ErrIncomplete.
func completeHeader(reply []byte, off, per int) (next, children int, err error) {
	next, children, err = aggregateHeader(reply, off, per)
	if next == 0 {
		return 0, 0, incompleteOr(err)
	}
	return next, children, nil
}

// nextFrame returns the complete reply frame at reply[pos:].
func nextFrame(reply []byte, pos int) ([]byte, error) {
	n, err := ScanReply(reply[pos:])
	if n == 0 {
		return nil, incompleteOr(err)
	}
	return reply[pos : pos+n : pos+n], nil
}

func incompleteOr(err error) error {
	if err != nil {
		return err
	}
	return ErrIncomplete
}
