package mcproto

import "strconv"

// AppendValue appends one VALUE block of a get reply: the line, with cas when withCas (for
// gets and gats), then data and "\r\n".
func AppendValue(dst, key []byte, flags uint32, data []byte, cas uint64, withCas bool) []byte {
	dst = append(dst, "VALUE "...)
	dst = append(dst, key...)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(flags), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(len(data)), 10)
	if withCas {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, cas, 10)
	}
	dst = append(dst, "\r\n"...)
	dst = append(dst, data...)
	return append(dst, "\r\n"...)
}

// AppendEnd appends the END line that closes a get reply.
func AppendEnd(dst []byte) []byte { return append(dst, "END\r\n"...) }

// AppendGetLine appends a retrieval request for keys, to send one server its share of a
// multi-get. exptime is written for gat and gats only. It panics if k is no retrieval.
func AppendGetLine(dst []byte, k Kind, exptime int64, keys ...[]byte) []byte {
	if !k.IsRetrieval() {
		panic("mcproto: AppendGetLine with " + k.String())
	}
	dst = append(dst, k.String()...)
	if k == Gat || k == Gats {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, exptime, 10)
	}
	for _, key := range keys {
		dst = append(dst, ' ')
		dst = append(dst, key...)
	}
	return append(dst, "\r\n"...)
}

// AppendStorage appends req, a parsed set, add, replace, append, prepend or cas, with its
// data block, to re-send it to a backend. noreply decides whether the backend replies,
// whatever the client asked: a proxy that needs the outcome passes false. It panics if req
// is no storage command.
func AppendStorage(dst []byte, req *Request, noreply bool) []byte {
	if !req.Kind.IsStorage() {
		panic("mcproto: AppendStorage with " + req.Kind.String())
	}
	dst = append(dst, req.Kind.String()...)
	dst = append(dst, ' ')
	dst = append(dst, req.Keys[0]...)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(req.Flags), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, req.Exptime, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(len(req.Data)), 10)
	if req.Kind == Cas {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, req.Cas, 10)
	}
	if noreply {
		dst = append(dst, " noreply"...)
	}
	dst = append(dst, "\r\n"...)
	dst = append(dst, req.Data...)
	return append(dst, "\r\n"...)
}
