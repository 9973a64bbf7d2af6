package mcproto

import (
	"bytes"
	"encoding/base64"
	"math"
	"slices"
)

// metaMaxTokens is memcached's MFLAG_MAX_OPT_LENGTH: ms refuses a line of this many tokens
// (counting its end marker) before reading the data length, so it swallows no data.
const metaMaxTokens = 20

// parseMeta parses the meta commands just enough to route and frame them: the key, the
// flags, the q flag, and ms's data block. Flag errors are left to the backend, which reports
// them to the client through the forwarded line.
func (p *Parser) parseMeta(c command, req *Request) (int, *Error) {
	switch req.Kind {
	case MetaNoop:
		return c.line()
	case MetaDebug:
		return p.parseMetaDebug(c, req)
	}
	t := p.toks
	if len(t) < 2 {
		return c.reject(replyError, false)
	}
	if e := c.checkKey(t[1], false); e != nil {
		return 0, e
	}
	req.Args = append(req.Args, t[min(metaFlagsAt(req.Kind), len(t)):]...)
	req.Noreply = hasFlag(req.Args, 'q')
	req.Keys = append(req.Keys, p.metaKey(t[1], hasFlag(req.Args, 'b')))
	if req.Kind == MetaSet {
		return p.parseMetaSet(c, req)
	}
	return c.line()
}

// metaFlagsAt returns the index of a meta command's first flag token.
func metaFlagsAt(k Kind) int {
	if k == MetaSet {
		return 3 // ms <key> <datalen> <flags>*
	}
	return 2 // mg|md|ma <key> <flags>*
}

// parseMetaSet frames ms <key> <datalen> <flags>* and its data block. An ms error always
// gets its reply, q or not.
func (p *Parser) parseMetaSet(c command, req *Request) (int, *Error) {
	t := p.toks
	if len(t) == 2 {
		return c.reject(replyBadFormat, false)
	}
	if len(t)+1 > metaMaxTokens {
		return c.reject(replyFlagsLong, false)
	}
	vlen, ok := parseInt32(t[2])
	if !ok || vlen < 0 || vlen > math.MaxInt32-2 {
		return c.reject(replyBadFormat, false)
	}
	return c.dataBlock(int(vlen), req, false)
}

// parseMetaDebug parses me <key> [b].
func (p *Parser) parseMetaDebug(c command, req *Request) (int, *Error) {
	t := p.toks
	if len(t) < 2 || len(t[1]) > KeyMaxLength {
		return c.reject(replyBadFormat, false)
	}
	req.Args = append(req.Args, t[2:]...)
	req.Keys = append(req.Keys, p.metaKey(t[1], len(t) > 2 && string(t[2]) == "b"))
	return c.line()
}

// metaKey returns the key to route by: decoded when the b flag says it is base64, so that
// it lands where the same key sent by get would. An undecodable key is returned as is; the
// backend reports the error.
func (p *Parser) metaKey(key []byte, isBase64 bool) []byte {
	if !isBase64 {
		return key
	}
	p.key = slices.Grow(p.key[:0], base64.StdEncoding.DecodedLen(len(key)))
	p.key = p.key[:cap(p.key)]
	n, err := base64.StdEncoding.Decode(p.key, key)
	if err != nil || n == 0 {
		return key
	}
	return p.key[:n]
}

// hasFlag reports whether a meta flag token starts with flag, as memcached reads flags.
func hasFlag(flags [][]byte, flag byte) bool {
	for _, f := range flags {
		if f[0] == flag {
			return true
		}
	}
	return false
}

// StripQuiet appends to dst the meta command line (without "\r\n") minus its q flag, and
// reports whether it had one. Other lines are appended unchanged. A proxy sends the stripped
// line so that the backend always replies, and drops the replies QuietSuppressed names.
func StripQuiet(line []byte, dst []byte) (out []byte, quiet bool) {
	first := metaFlagsOf(line)
	if first < 0 || !hasQuietFlag(line, first) {
		return append(dst, line...), false
	}
	i, wrote := 0, false
	for tok, rest := nextToken(line); len(tok) > 0; tok, rest = nextToken(rest) {
		if i < first || tok[0] != 'q' {
			if wrote {
				dst = append(dst, ' ')
			}
			dst, wrote = append(dst, tok...), true
		}
		i++
	}
	return dst, true
}

// metaFlagsOf returns the index of the first flag token of an mg, ms, md or ma line, or -1.
func metaFlagsOf(line []byte) int {
	name, _ := nextToken(line)
	switch k := kindOf(name); k {
	case MetaGet, MetaSet, MetaDelete, MetaArithmetic:
		return metaFlagsAt(k)
	}
	return -1
}

func hasQuietFlag(line []byte, first int) bool {
	i := 0
	for tok, rest := nextToken(line); len(tok) > 0; tok, rest = nextToken(rest) {
		if i >= first && tok[0] == 'q' {
			return true
		}
		i++
	}
	return false
}

// nextToken returns the first space-separated token of s and what follows it.
func nextToken(s []byte) (tok, rest []byte) {
	s = bytes.TrimLeft(s, " ")
	if i := bytes.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i:]
	}
	return s, nil
}

// QuietSuppressed reports whether memcached 1.6.18 would have sent nothing for resp, the
// reply to a meta command of kind k, had the command carried the q flag: mg's EN (miss),
// ms's and md's HD (success), and ma's HD or VA (success). Errors and every other code are
// always sent. (memcached 1.6.18 does send ma's HD when the N flag creates the item; a reply
// cannot show that case, so it counts as suppressed, as the protocol documents.)
func QuietSuppressed(k Kind, resp []byte) bool {
	switch k {
	case MetaGet:
		return hasCode(resp, "EN")
	case MetaSet, MetaDelete:
		return hasCode(resp, "HD")
	case MetaArithmetic:
		return hasCode(resp, "HD") || hasCode(resp, "VA")
	}
	return false
}

// hasCode reports whether resp starts with the two-letter meta return code.
func hasCode(resp []byte, code string) bool {
	if len(resp) < 2 || string(resp[:2]) != code {
		return false
	}
	return len(resp) == 2 || resp[2] == ' ' || resp[2] == '\r'
}
