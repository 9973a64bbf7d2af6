package mcproto

import "math"

// command is the input around the line being parsed.
type command struct {
	buf     []byte // the input, from the line's first byte
	lineLen int    // the line's length, newline included
	lim     Limits
}

// line accepts a request that is just its line.
func (c command) line() (int, *Error) { return c.lineLen, nil }

// reject refuses the line alone; memcached then reads whatever follows as the next command.
func (c command) reject(reply string, quiet bool) (int, *Error) {
	return 0, reject(reply, c.lineLen, quiet)
}

// checkKey refuses keys memcached refuses.
func (c command) checkKey(key []byte, quiet bool) *Error {
	if len(key) > KeyMaxLength {
		return reject(replyBadFormat, c.lineLen, quiet)
	}
	return nil
}

// dataBlock reads the vlen bytes and "\r\n" after the line. Like memcached, it refuses a value
// over the size limit at once and swallows its bytes, and checks the "\r\n" only when all
// the bytes are in.
func (c command) dataBlock(vlen int, req *Request, quiet bool) (int, *Error) {
	total := c.lineLen + vlen + 2
	if vlen > c.lim.ItemSizeMax {
		e := reject(replyTooLarge, total, quiet)
		e.Delete = req.Kind == Set || req.Kind == MetaSet
		return 0, e
	}
	if len(c.buf) < total {
		return 0, nil
	}
	if c.buf[total-2] != '\r' || c.buf[total-1] != '\n' {
		return 0, reject(replyBadChunk, total, quiet)
	}
	req.Data = c.buf[c.lineLen : total-2]
	return total, nil
}

func isNoreply(tok []byte) bool { return string(tok) == "noreply" }

// parseCommand fills req from the tokens of the line. Each command checks its arguments in
// memcached's order, since the first failing check decides the reply.
func (p *Parser) parseCommand(c command, req *Request) (int, *Error) {
	if len(p.toks) == 0 || len(p.toks[0]) < 2 {
		return c.reject(replyError, false)
	}
	req.Kind = kindOf(p.toks[0])
	switch {
	case req.Kind.IsRetrieval():
		return p.parseRetrieval(c, req)
	case req.Kind.IsStorage():
		return p.parseStorage(c, req)
	case req.Kind.IsMeta():
		return p.parseMeta(c, req)
	}
	return p.parseOther(c, req)
}

func (p *Parser) parseOther(c command, req *Request) (int, *Error) {
	switch req.Kind {
	case Delete:
		return p.parseDelete(c, req)
	case Incr, Decr:
		return p.parseArithmetic(c, req)
	case Touch:
		return p.parseTouch(c, req)
	case FlushAll:
		return p.parseFlushAll(c, req)
	case Verbosity:
		return p.parseVerbosity(c, req)
	case Stats:
		req.Args = append(req.Args, p.toks[1:]...)
		return c.line()
	case Version, Quit:
		return c.line()
	case Discoh:
		return p.parseDiscoh(c, req)
	}
	return c.reject(replyError, false)
}

// parseRetrieval parses get|gets <key>* and gat|gats <exptime> <key>*.
func (p *Parser) parseRetrieval(c command, req *Request) (int, *Error) {
	if len(p.toks) < 2 {
		return c.reject(replyError, false)
	}
	keys := p.toks[1:]
	if req.Kind == Gat || req.Kind == Gats {
		exptime, ok := parseInt32(p.toks[1])
		if !ok {
			return c.reject(replyBadExptime, false)
		}
		req.Exptime = int64(exptime)
		keys = p.toks[2:]
	}
	for _, key := range keys {
		if e := c.checkKey(key, false); e != nil {
			return 0, e
		}
	}
	if len(keys) > c.lim.MaxKeys {
		return c.reject(replyTooManyKeys, false)
	}
	req.Keys = append(req.Keys, keys...)
	return c.line()
}

// parseStorage parses <cmd> <key> <flags> <exptime> <bytes> [<cas>] [noreply] and the data
// block after it. memcached refuses bad numbers without swallowing the data block.
func (p *Parser) parseStorage(c command, req *Request) (int, *Error) {
	argc := 5
	if req.Kind == Cas {
		argc = 6
	}
	if len(p.toks) != argc && len(p.toks) != argc+1 {
		return c.reject(replyError, false)
	}
	req.Noreply = isNoreply(p.toks[len(p.toks)-1])
	if e := c.checkKey(p.toks[1], req.Noreply); e != nil {
		return 0, e
	}
	req.Keys = append(req.Keys, p.toks[1])
	vlen, ok := p.storageNumbers(req)
	if !ok || vlen < 0 || vlen > math.MaxInt32-2 {
		return c.reject(replyBadFormat, req.Noreply)
	}
	return c.dataBlock(int(vlen), req, req.Noreply)
}

// storageNumbers reads flags, exptime, the data length and cas unique.
func (p *Parser) storageNumbers(req *Request) (vlen int32, ok bool) {
	flags, okFlags := parseUint32(p.toks[2])
	exptime, okExptime := parseInt32(p.toks[3])
	vlen, okLen := parseInt32(p.toks[4])
	okCas := true
	if req.Kind == Cas {
		req.Cas, okCas = parseUint64(p.toks[5])
	}
	req.Flags, req.Exptime = flags, int64(exptime)
	return vlen, okFlags && okExptime && okLen && okCas
}

// parseDelete parses delete <key> [0] [noreply]; the 0 is a relic memcached still allows.
func (p *Parser) parseDelete(c command, req *Request) (int, *Error) {
	t := p.toks
	if len(t) < 2 || len(t) > 4 {
		return c.reject(replyError, false)
	}
	if len(t) > 2 {
		req.Noreply = isNoreply(t[len(t)-1])
		holdZero := string(t[2]) == "0"
		valid := (len(t) == 3 && (holdZero || req.Noreply)) || (len(t) == 4 && holdZero && req.Noreply)
		if !valid {
			return c.reject(replyDeleteUsage, req.Noreply)
		}
	}
	if e := c.checkKey(t[1], req.Noreply); e != nil {
		return 0, e
	}
	req.Keys = append(req.Keys, t[1])
	return c.line()
}

// parseArithmetic parses incr|decr <key> <delta> [noreply].
func (p *Parser) parseArithmetic(c command, req *Request) (int, *Error) {
	if len(p.toks) != 3 && len(p.toks) != 4 {
		return c.reject(replyError, false)
	}
	req.Noreply = isNoreply(p.toks[len(p.toks)-1])
	if e := c.checkKey(p.toks[1], req.Noreply); e != nil {
		return 0, e
	}
	req.Keys = append(req.Keys, p.toks[1])
	delta, ok := parseUint64(p.toks[2])
	if !ok {
		return c.reject(replyBadDelta, req.Noreply)
	}
	req.Delta = delta
	return c.line()
}

// parseTouch parses touch <key> <exptime> [noreply].
func (p *Parser) parseTouch(c command, req *Request) (int, *Error) {
	if len(p.toks) != 3 && len(p.toks) != 4 {
		return c.reject(replyError, false)
	}
	req.Noreply = isNoreply(p.toks[len(p.toks)-1])
	if e := c.checkKey(p.toks[1], req.Noreply); e != nil {
		return 0, e
	}
	req.Keys = append(req.Keys, p.toks[1])
	exptime, ok := parseInt32(p.toks[2])
	if !ok {
		return c.reject(replyBadExptime, req.Noreply)
	}
	req.Exptime = int64(exptime)
	return c.line()
}

// parseFlushAll parses flush_all [delay] [noreply].
func (p *Parser) parseFlushAll(c command, req *Request) (int, *Error) {
	t := p.toks
	if len(t) > 3 {
		return c.reject(replyError, false)
	}
	req.Noreply = isNoreply(t[len(t)-1])
	req.Args = append(req.Args, t[1:]...)
	if len(t) == 1 || (len(t) == 2 && req.Noreply) {
		return c.line()
	}
	delay, ok := parseInt32(t[1])
	if !ok {
		return c.reject(replyBadExptime, req.Noreply)
	}
	req.Exptime = int64(delay)
	return c.line()
}

// parseVerbosity parses verbosity <level> [noreply]; the level stays in Args.
func (p *Parser) parseVerbosity(c command, req *Request) (int, *Error) {
	if len(p.toks) != 2 && len(p.toks) != 3 {
		return c.reject(replyError, false)
	}
	req.Noreply = isNoreply(p.toks[len(p.toks)-1])
	req.Args = append(req.Args, p.toks[1:]...)
	if _, ok := parseUint32(p.toks[1]); !ok {
		return c.reject(replyBadFormat, req.Noreply)
	}
	return c.line()
}

// parseDiscoh parses discoh's own discoh <subcommand> <key>; the subcommand stays in Args.
func (p *Parser) parseDiscoh(c command, req *Request) (int, *Error) {
	if len(p.toks) != 3 {
		return c.reject(replyBadFormat, false)
	}
	if err := c.checkKey(p.toks[2], false); err != nil {
		return 0, err
	}
	req.Args = append(req.Args, p.toks[1])
	req.Keys = append(req.Keys, p.toks[2])
	return c.line()
}
