package mcproto

import "bytes"

// KeyMaxLength is the longest key memcached accepts, in bytes.
const KeyMaxLength = 250

// binaryMagic is the first byte of every request of memcached's binary protocol, and of no
// text command.
const binaryMagic = 0x80

// Defaults for the zero fields of Limits.
const (
	// DefaultMaxKeys bounds one multi-get; memcached has no such limit, but a proxy must
	// hold every key of a get until all its servers answer. Redis's own bound on arguments
	// (and discoh's max_args default) is the same.
	DefaultMaxKeys = 1 << 20
	// DefaultItemSizeMax is memcached's default item size limit (-I 1m).
	DefaultItemSizeMax = 1 << 20
	// DefaultMaxLine is memcached's: it closes a connection that sends more than 2048 bytes
	// without a newline, unless they start a get or gets.
	DefaultMaxLine = 2048
	// minMaxLine keeps the line limit above the 100 leading spaces and the command name that
	// decide whether a line is a multi-get, so the decision never waits on bytes not yet read.
	minMaxLine = 256
	// maxMaxLine and maxMaxKeys cap absurd settings, so that the get line limit cannot
	// overflow an int.
	maxMaxLine = 1 << 30
	maxMaxKeys = 1 << 22
)

// Limits bound what one request may hold. Zero fields take the defaults above.
type Limits struct {
	// MaxKeys is the most keys one get, gets, gat or gats may name.
	MaxKeys int
	// ItemSizeMax is the longest value a storage command may carry. memcached counts its
	// item header and the key as well, so a backend may refuse values slightly shorter.
	ItemSizeMax int
	// MaxLine bounds a command line: the bytes before its '\n', '\r' included. Get and gets
	// lines, which memcached never cuts off, may be longer by MaxKeys keys of KeyMaxLength
	// bytes.
	MaxLine int
}

func (l Limits) withDefaults() Limits {
	if l.MaxKeys <= 0 {
		l.MaxKeys = DefaultMaxKeys
	}
	if l.ItemSizeMax <= 0 {
		l.ItemSizeMax = DefaultItemSizeMax
	}
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	l.MaxLine = min(max(l.MaxLine, minMaxLine), maxMaxLine)
	l.MaxKeys = min(l.MaxKeys, maxMaxKeys)
	return l
}

// getLineMax is the line limit of get and gets.
func (l Limits) getLineMax() int { return l.MaxLine + l.MaxKeys*(KeyMaxLength+1) }

// Request is one parsed request. Its slices point into the buffer given to Parse, and its
// Keys and Args are reused by the next Parse: copy what must outlive the buffer.
type Request struct {
	Kind Kind
	// Keys are the keys in client order: one for most commands, any number for get and the
	// other retrievals (gat and gats may have none), none for the rest. A meta command's key
	// is base64-decoded when it carries the b flag (the bytes then live in the Parser).
	Keys [][]byte
	// Flags, Exptime, Cas and Delta are the command's numbers, as memcached would use them.
	// Exptime is also gat's and touch's expiry and flush_all's delay.
	Flags   uint32
	Exptime int64
	Cas     uint64
	Delta   uint64
	// Noreply is set by a trailing noreply: memcached sends nothing back, errors included.
	// For a meta command it is the q flag, which holds back only the replies
	// QuietSuppressed names.
	Noreply bool
	// Data is a storage command's value (set, ..., cas, ms), without its "\r\n".
	Data []byte
	// Line is the command line without "\r\n", cut at a NUL byte as memcached reads it.
	// Meta commands are forwarded as this line.
	Line []byte
	// Args are the tokens after the command name for stats, verbosity and flush_all, and the
	// flag tokens of a meta command (after the key, and after ms's data length).
	Args [][]byte
}

func (r *Request) reset() {
	*r = Request{Keys: r.Keys[:0], Args: r.Args[:0]}
}

// Parser parses requests. It keeps scratch space between calls, so reuse one per
// connection; it is not safe for concurrent use.
type Parser struct {
	toks [][]byte // the tokens of the line being parsed
	key  []byte   // a meta command's base64-decoded key
}

// Forget drops what req and the parser's storage hold of the last request's input, keeping the
// storage for the next.
func (p *Parser) Forget(req *Request) {
	clear(p.toks[:cap(p.toks)])
	clear(req.Keys[:cap(req.Keys)])
	clear(req.Args[:cap(req.Args)])
	req.reset()
}

// Parse parses the first complete request in buf into req and returns how many bytes it
// covers. n == 0 with a nil error means buf does not yet hold a complete request. A request
// memcached would reject returns n == 0 and an *Error that says what to reply and how many
// bytes to discard.
func (p *Parser) Parse(buf []byte, lim Limits, req *Request) (n int, err error) {
	if len(buf) > 0 && buf[0] == binaryMagic {
		// A binary-protocol client. Read as text, its header would wait for a newline it may
		// never send (memcached -B ascii hangs so), and the client would wait out its own
		// timeout; memcached closes at once, without a reply, on a protocol it does not
		// accept (-B binary sent text), and so does discoh.
		return 0, closeConn("", "binary protocol not supported")
	}
	lim = lim.withDefaults()
	end, lerr := findLine(buf, lim)
	if end < 0 {
		return 0, lerr
	}
	req.reset()
	req.Line = commandLine(buf[:end])
	p.tokenize(req.Line)
	n, e := p.parseCommand(command{buf: buf, lineLen: end + 1, lim: lim}, req)
	if e != nil {
		return 0, e
	}
	return n, nil
}

// findLine returns the index of the newline ending buf's first line, or -1 with a nil error
// when more bytes may still complete it, or -1 with an *Error when the line is too long.
// The verdict depends only on the bytes within the limit, so it never changes as more
// bytes arrive.
func findLine(buf []byte, lim Limits) (int, error) {
	window := buf[:min(len(buf), lim.getLineMax()+1)]
	end := bytes.IndexByte(window, '\n')
	if end >= 0 && end <= lim.MaxLine {
		return end, nil
	}
	if !isMultiGet(buf) {
		if end < 0 && len(buf) <= lim.MaxLine {
			return -1, nil
		}
		return -1, closeConn("", "line too long")
	}
	switch {
	case end >= 0: // within the window, so within the get line limit
		return end, nil
	case len(buf) <= lim.getLineMax():
		return -1, nil
	}
	return -1, closeConn(replyLineTooLong, "get line too long")
}

// isMultiGet reports whether buf starts a get or gets line: memcached lets those grow past
// its line limit, when they start within 100 spaces.
func isMultiGet(buf []byte) bool {
	window := buf[:min(len(buf), 101+len("gets "))]
	rest := bytes.TrimLeft(window, " ")
	if len(window)-len(rest) > 100 {
		return false
	}
	return bytes.HasPrefix(rest, []byte("get ")) || bytes.HasPrefix(rest, []byte("gets "))
}

// commandLine returns what memcached parses of a line: without the "\r" before its newline
// (unless the line is just "\r"), and cut at the first NUL byte.
func commandLine(line []byte) []byte {
	if len(line) > 1 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	return line
}

// tokenize splits line at spaces, as memcached does (only ' ' separates tokens).
func (p *Parser) tokenize(line []byte) {
	p.toks = p.toks[:0]
	for len(line) > 0 {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			p.toks = append(p.toks, line)
			return
		}
		if i > 0 {
			p.toks = append(p.toks, line[:i])
		}
		line = line[i+1:]
	}
}
