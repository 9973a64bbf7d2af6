package mcproto

import (
	"bytes"
	"fmt"
	"math"
)

// maxResponseLine bounds one reply line from a backend: far above any line memcached writes
// (a VALUE line is at most a 250-byte key and three numbers), so a longer one means the
// connection is out of step.
const maxResponseLine = 8192

// ScanResponse returns the length of the first complete reply in buf to a request of kind
// k, or 0 if buf does not hold all of it yet. Replies are: VALUE blocks and END for the
// retrievals; STAT (or other) lines and END for stats, or one line such as RESET; for
// meta commands one line, followed by a data block when it is VA <size>; one line for
// everything else. An ERROR, CLIENT_ERROR or SERVER_ERROR line is a complete reply to any
// kind. Quit, Unknown and Discoh (answered by discoh itself) have no reply and return ErrNoResponse; input that breaks the
// protocol returns ErrBadResponse.
func ScanResponse(buf []byte, k Kind) (n int, err error) {
	if k == Quit || k == Unknown || k == Discoh || int(k) >= len(names) {
		return 0, ErrNoResponse
	}
	first, err := lineLen(buf)
	if first == 0 || isErrorLine(buf[:first]) {
		return first, err
	}
	switch {
	case k.IsRetrieval():
		return scanValues(buf)
	case k == Stats:
		return scanStats(buf, first)
	case k.IsMeta():
		return scanMetaValue(buf, first)
	}
	return checkLine(k, buf[:first])
}

// checkLine accepts a one-line reply when it is one that k can get, so that a connection
// whose replies are out of step with its requests is caught at once.
func checkLine(k Kind, line []byte) (int, error) {
	if !isReplyTo(k, line[:len(line)-2]) {
		return 0, fmt.Errorf("%w: %q is no reply to %s", ErrBadResponse, line, k)
	}
	return len(line), nil
}

func isReplyTo(k Kind, body []byte) bool {
	switch s := string(body); {
	case k.IsStorage():
		return s == "STORED" || s == "NOT_STORED" || s == "EXISTS" || s == "NOT_FOUND"
	case k == Delete:
		return s == "DELETED" || s == "NOT_FOUND"
	case k == Touch:
		return s == "TOUCHED" || s == "NOT_FOUND"
	case k == Incr || k == Decr:
		_, isNumber := parseDecimal(body, math.MaxUint64)
		return isNumber || s == "NOT_FOUND"
	case k == FlushAll || k == Verbosity:
		return s == "OK"
	case k == Version:
		return bytes.HasPrefix(body, []byte("VERSION "))
	}
	return false
}

// lineLen returns the length of buf's first line, "\r\n" included, or 0 if it is not all
// in buf yet.
func lineLen(buf []byte) (int, error) {
	end := bytes.IndexByte(buf[:min(len(buf), maxResponseLine)], '\n')
	switch {
	case end < 0 && len(buf) < maxResponseLine:
		return 0, nil
	case end < 1 || buf[end-1] != '\r':
		return 0, fmt.Errorf("%w: line not ended by \\r\\n within %d bytes", ErrBadResponse, maxResponseLine)
	}
	return end + 1, nil
}

// isErrorLine reports whether line is one of memcached's error replies.
func isErrorLine(line []byte) bool {
	return bytes.HasPrefix(line, []byte("ERROR")) ||
		bytes.HasPrefix(line, []byte("CLIENT_ERROR ")) ||
		bytes.HasPrefix(line, []byte("SERVER_ERROR "))
}

// scanValues frames VALUE blocks up to END, or up to an error line, which memcached may
// send in place of END when it runs out of memory midway.
func scanValues(buf []byte) (int, error) {
	n := 0
	for {
		ll, err := lineLen(buf[n:])
		if ll == 0 {
			return 0, err
		}
		line := buf[n : n+ll]
		if string(line) == "END\r\n" || isErrorLine(line) {
			return n + ll, nil
		}
		h, err := parseValueLine(line[:ll-2])
		if err != nil {
			return 0, err
		}
		end, err := dataEnd(buf, n+ll, h.size)
		if end == 0 {
			return 0, err
		}
		n = end
	}
}

// dataEnd returns the end of the size-byte data block and "\r\n" that start at off in buf,
// or 0 if it is not all in buf yet.
func dataEnd(buf []byte, off, size int) (int, error) {
	end := off + size + 2
	if len(buf) < end {
		return 0, nil
	}
	if buf[end-2] != '\r' || buf[end-1] != '\n' {
		return 0, fmt.Errorf("%w: data block not ended by \\r\\n", ErrBadResponse)
	}
	return end, nil
}

// scanStats frames a stats reply: one line for RESET, OK (stats detail on|off) and errors,
// otherwise lines up to END.
func scanStats(buf []byte, first int) (int, error) {
	if line := string(buf[:first]); line == "RESET\r\n" || line == "OK\r\n" {
		return first, nil
	}
	n := 0
	for {
		ll, err := lineLen(buf[n:])
		if ll == 0 {
			return 0, err
		}
		n += ll
		if string(buf[n-ll:n]) == "END\r\n" {
			return n, nil
		}
	}
}

// metaCodes are the return codes that start a meta reply.
var metaCodes = [...]string{"HD", "VA", "EN", "NF", "NS", "EX", "MN", "ME"}

func isMetaReply(line []byte) bool {
	for _, code := range metaCodes {
		if hasCode(line, code) {
			return true
		}
	}
	return false
}

// scanMetaValue frames a meta reply: its line, and the data block of a VA reply.
func scanMetaValue(buf []byte, first int) (int, error) {
	if !isMetaReply(buf[:first]) {
		return 0, fmt.Errorf("%w: %q is no meta reply", ErrBadResponse, buf[:first])
	}
	if !bytes.HasPrefix(buf, []byte("VA ")) {
		return first, nil
	}
	sizeTok, _ := nextToken(buf[len("VA ") : first-2])
	size, ok := parseDecimal(sizeTok, math.MaxInt32)
	if !ok {
		return 0, fmt.Errorf("%w: bad VA size %q", ErrBadResponse, sizeTok)
	}
	return dataEnd(buf, first, int(size))
}

// Value is one VALUE block of a get reply. Its slices point into the reply.
type Value struct {
	Key   []byte
	Flags uint32
	Cas   uint64 // 0 when the reply carries none (get, gat)
	Data  []byte // without its "\r\n"
	Raw   []byte // the whole block: VALUE line, data and "\r\n"
}

// NextValue reads the first VALUE block of resp, a complete reply to a retrieval (as framed
// by ScanResponse), and returns what follows it. At END it returns ok == false and the bytes
// after END. An error reply returns an error wrapping ErrErrorReply.
func NextValue(resp []byte) (v Value, rest []byte, ok bool, err error) {
	ll, err := lineLen(resp)
	if ll == 0 {
		return Value{}, resp, false, valueError(err)
	}
	line := resp[:ll-2]
	switch {
	case string(line) == "END":
		return Value{}, resp[ll:], false, nil
	case isErrorLine(line):
		return Value{}, resp, false, fmt.Errorf("%w: %s", ErrErrorReply, line)
	}
	h, err := parseValueLine(line)
	if err != nil {
		return Value{}, resp, false, err
	}
	end, err := dataEnd(resp, ll, h.size)
	if end == 0 {
		return Value{}, resp, false, valueError(err)
	}
	v = Value{Key: h.key, Flags: h.flags, Cas: h.cas, Data: resp[ll : end-2], Raw: resp[:end]}
	return v, resp[end:], true, nil
}

// valueError reports a reply cut short: NextValue expects a complete one.
func valueError(err error) error {
	if err == nil {
		err = fmt.Errorf("%w: reply cut short", ErrBadResponse)
	}
	return err
}

// valueLine is a parsed VALUE <key> <flags> <bytes> [<cas>] line.
type valueLine struct {
	key   []byte
	flags uint32
	size  int
	cas   uint64
}

func parseValueLine(line []byte) (valueLine, error) {
	var h valueLine
	rest, ok := bytes.CutPrefix(line, []byte("VALUE "))
	key, rest, ok1 := bytes.Cut(rest, []byte(" "))
	flags, rest, ok2 := bytes.Cut(rest, []byte(" "))
	size, cas, hasCas := bytes.Cut(rest, []byte(" "))
	f, ok3 := parseDecimal(flags, math.MaxUint32)
	s, ok4 := parseDecimal(size, math.MaxInt32)
	c, ok5 := uint64(0), true
	if hasCas {
		c, ok5 = parseDecimal(cas, math.MaxUint64)
	}
	if !(ok && ok1 && ok2 && ok3 && ok4 && ok5) || len(key) == 0 {
		return h, fmt.Errorf("%w: bad VALUE line %q", ErrBadResponse, line)
	}
	h.key, h.flags, h.size, h.cas = key, uint32(f), int(s), c
	return h, nil
}

// Answers reports whether reply, a whole reply that ScanResponse framed for a request req of
// kind k, can be req's: a retrieval's VALUE lines must name keys req asked for, in the order
// it asked (memcached answers in that order, leaving misses out). The reply to another get
// on a connection whose replies are out of step is caught so, not handed to the wrong client.
// Other replies are not checked here.
func Answers(reply, req []byte, k Kind) bool {
	if !k.IsRetrieval() {
		return true
	}
	keys := requestKeys(req, k)
	for n := 0; ; {
		ll, _ := lineLen(reply[n:])
		if ll == 0 {
			return false
		}
		line := reply[n : n+ll]
		if string(line) == "END\r\n" || isErrorLine(line) {
			return true
		}
		h, err := parseValueLine(line[:ll-2])
		if err != nil {
			return false
		}
		var found bool
		if keys, found = afterKey(keys, h.key); !found {
			return false
		}
		n += ll + h.size + 2
	}
}

// requestKeys returns the keys of a retrieval request line, "get k1 k2\r\n" or
// "gat 60 k1 k2\r\n", separated by spaces.
func requestKeys(req []byte, k Kind) []byte {
	line, _, _ := bytes.Cut(req, []byte("\r\n"))
	skip := 1
	if k == Gat || k == Gats {
		skip = 2
	}
	fields := line
	for range skip {
		_, fields, _ = bytes.Cut(bytes.TrimLeft(fields, " "), []byte(" "))
	}
	return fields
}

// afterKey returns what follows key in the space-separated keys, and whether key is among
// them.
func afterKey(keys, key []byte) (rest []byte, found bool) {
	for {
		keys = bytes.TrimLeft(keys, " ")
		if len(keys) == 0 {
			return nil, false
		}
		next, rest, _ := bytes.Cut(keys, []byte(" "))
		if bytes.Equal(next, key) {
			return rest, true
		}
		keys = rest
	}
}
