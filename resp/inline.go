package resp

import "bytes"

// parseInline parses one line of arguments separated by blanks, with the quoting redis-cli and
// Redis's sdssplitargs accept: "double quotes" with \xHH, \n, \r, \t, \b, \a and \<any>
// escapes, and 'single quotes' with \' only. The line ends at '\n', less one '\r' before it.
// A NUL is an ordinary byte (see ParseRequest).
func parseInline(buf []byte, args [][]byte, scratch *[]byte, lim Limits) (int, [][]byte, int, error) {
	nl := bytes.IndexByte(buf, '\n')
	if nl > lim.MaxInline || (nl < 0 && len(buf) > lim.MaxInline) {
		return 0, args, 0, ErrTooBigInline
	}
	if nl < 0 {
		return 0, args, 0, nil
	}
	line := buf[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, err := splitArgs(line, args, scratch)
	switch {
	case err != nil:
		return 0, args[:0], 0, err
	case len(args) > lim.MaxArgs:
		return 0, args[:0], 0, tooManyArgs(lim.MaxArgs)
	}
	return nl + 1, args, 0, nil
}

// splitArgs appends the arguments of line to args. Plain arguments are slices of line; quoted
// ones are unescaped into *scratch (a new buffer if scratch is nil).
func splitArgs(line []byte, args [][]byte, scratch *[]byte) ([][]byte, error) {
	var fresh []byte
	if scratch == nil {
		scratch = &fresh
	}
	*scratch = (*scratch)[:0]
	for pos := skipBlanks(line, 0); pos < len(line); pos = skipBlanks(line, pos) {
		end := plainEnd(line, pos)
		if end == len(line) || !isQuote(line[end]) {
			args = append(args, line[pos:end:end])
			pos = min(end+1, len(line)) // the separator belongs to this argument
			continue
		}
		arg, next, err := quotedArg(line, pos, end, scratch)
		if err != nil {
			return args, err
		}
		args = append(args, arg)
		pos = next
	}
	return args, nil
}

// quotedArg unescapes the argument that starts at line[start] and has its opening quote at
// line[quote]. It returns the argument and the offset after its closing quote.
func quotedArg(line []byte, start, quote int, scratch *[]byte) (arg []byte, next int, err error) {
	if cap(*scratch) < len(line) {
		// Unescaping never lengthens, so a line's arguments all fit: earlier arguments of this
		// line stay valid because the buffer is never reallocated under them.
		*scratch = make([]byte, 0, len(line))
	}
	mark := len(*scratch)
	out := append(*scratch, line[start:quote]...)
	if line[quote] == '"' {
		out, next, err = unquoteDouble(line, quote, out)
	} else {
		out, next, err = unquoteSingle(line, quote, out)
	}
	*scratch = out
	return out[mark:len(out):len(out)], next, err
}

// unquoteDouble appends the contents of the double-quoted string opening at line[i].
func unquoteDouble(line []byte, i int, out []byte) ([]byte, int, error) {
	for i++; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			next, err := closeQuote(line, i)
			return out, next, err
		case c == '\\' && isHexEscape(line[i+1:]):
			out = append(out, unhex(line[i+2])<<4|unhex(line[i+3]))
			i += 3
		case c == '\\' && i+1 < len(line):
			i++
			out = append(out, unescape(line[i]))
		default:
			out = append(out, c)
		}
	}
	return out, 0, ErrUnbalancedQuotes
}

// unquoteSingle appends the contents of the single-quoted string opening at line[i].
func unquoteSingle(line []byte, i int, out []byte) ([]byte, int, error) {
	for i++; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\'':
			next, err := closeQuote(line, i)
			return out, next, err
		case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
			i++
			out = append(out, '\'')
		default:
			out = append(out, c)
		}
	}
	return out, 0, ErrUnbalancedQuotes
}

// closeQuote checks that the closing quote at line[i] ends its argument, as Redis requires.
func closeQuote(line []byte, i int) (next int, err error) {
	if i+1 < len(line) && !isBlank(line[i+1]) {
		return 0, ErrUnbalancedQuotes
	}
	return i + 1, nil
}

// skipBlanks returns the offset of the first non-blank byte at or after pos.
func skipBlanks(line []byte, pos int) int {
	for pos < len(line) && isBlank(line[pos]) {
		pos++
	}
	return pos
}

// plainEnd returns the offset of the first byte at or after pos that ends an unquoted argument
// or opens a quote.
func plainEnd(line []byte, pos int) int {
	for ; pos < len(line); pos++ {
		switch line[pos] {
		case ' ', '\t', '\r', '\n', '"', '\'':
			return pos
		}
	}
	return pos
}

// isBlank is C's isspace. Note that '\v' and '\f' separate arguments only where Redis skips
// blanks, not inside an unquoted argument.
func isBlank(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

func isQuote(c byte) bool { return c == '"' || c == '\'' }

// isHexEscape reports whether s, following a backslash, is "xHH".
func isHexEscape(s []byte) bool {
	return len(s) >= 3 && s[0] == 'x' && isHex(s[1]) && isHex(s[2])
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// unescape maps the byte after a backslash inside double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}
