package respserver

import (
	"strconv"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/resp"
)

// cmdFanOut sends the request to every server and merges the replies (DBSIZE, FLUSHALL, KEYS).
// An error reply from any server is the answer.
func cmdFanOut(merge mergeFunc) handler { return fanOut(merge, false) }

// cmdFanOutAside sends the request to every server on a connection of its own, for a merge that
// reads the servers' error replies too: SCRIPT KILL and FUNCTION KILL, since the shared
// connections' calls wait behind the script they are to stop.
func cmdFanOutAside(merge mergeFunc) handler { return fanOut(merge, true) }

func fanOut(merge mergeFunc, aside bool) handler {
	return func(s *Session, args [][]byte, raw []byte) frontend.Action {
		sp := newSplit(merge)
		sp.lenient = aside
		for i, server := range s.r.pool.Servers {
			call := s.newCall(raw, args)
			if aside {
				server.SendAside(call)
			} else {
				s.send(i, call)
			}
			sp.calls = append(sp.calls, call)
		}
		s.queue = append(s.queue, reply{split: sp})
		return frontend.Continue
	}
}

// mergeConcat joins the servers' arrays into one (KEYS), without the coherence directory's
// sidecar keys, which are discoh's, not the client's.
func mergeConcat(s *Session, sp *split, replies [][]byte, dst []byte) []byte {
	var all [][]byte
	for _, r := range replies {
		elems, err := resp.SplitArray(r, nil)
		if err != nil {
			return resp.AppendError(dst, "ERR bad array reply from a server: "+err.Error())
		}
		all = append(all, s.withoutSidecars(elems)...)
	}
	dst = resp.AppendArrayLen(dst, len(all))
	for _, e := range all {
		dst = append(dst, e...)
	}
	return dst
}

// cmdScan walks the servers one after another. The client's cursor encodes the server and that
// server's own cursor as serverCursor*len(servers) + server, so cursor 0 starts at server 0 and
// a server's end moves on to the next one.
func cmdScan(s *Session, args [][]byte, _ []byte) frontend.Action {
	if !s.arity(args, 2, -1) {
		return frontend.Continue
	}
	n := uint64(len(s.r.pool.Servers))
	cursor, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		s.queueError("ERR invalid cursor")
		return frontend.Continue
	}
	server, own := int(cursor%n), cursor/n
	call := backends.NewCall()
	fwd := append([][]byte{args[0], []byte(strconv.FormatUint(own, 10))}, args[2:]...)
	call.Req = resp.AppendCommand(call.Req, fwd...)
	s.send(server, call)
	sp := newSplit(func(s *Session, _ *split, replies [][]byte, dst []byte) []byte {
		return s.mergeScan(dst, replies[0], server, n)
	})
	sp.calls = append(sp.calls, call)
	s.queue = append(s.queue, reply{split: sp})
	return frontend.Continue
}

// mergeScan rewrites one server's SCAN reply with the client-facing cursor.
func (s *Session) mergeScan(dst, reply []byte, server int, n uint64) []byte {
	parts, err := resp.SplitArray(reply, nil)
	if err != nil || len(parts) != 2 {
		return resp.AppendError(dst, "ERR bad SCAN reply from a server")
	}
	raw, _, err := resp.ParseBulk(parts[0])
	if err != nil {
		return resp.AppendError(dst, "ERR bad SCAN cursor from a server")
	}
	own, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil || own > (1<<64-1-uint64(server))/n {
		return resp.AppendError(dst, "ERR SCAN cursor from a server out of range")
	}
	next := own*n + uint64(server)
	if own == 0 {
		next = 0
		if uint64(server)+1 < n {
			next = uint64(server) + 1
		}
	}
	start := len(dst)
	dst = resp.AppendArrayLen(dst, 2)
	dst = resp.AppendBulkString(dst, strconv.FormatUint(next, 10))
	if s.r.Dir == nil {
		return append(dst, parts[1]...)
	}
	keys, err := resp.SplitArray(parts[1], nil)
	if err != nil {
		return resp.AppendError(dst[:start], "ERR bad SCAN reply from a server")
	}
	keys = s.withoutSidecars(keys)
	dst = resp.AppendArrayLen(dst, len(keys))
	for _, k := range keys {
		dst = append(dst, k...)
	}
	return dst
}

// withoutSidecars drops, in a pool with a coherence directory, the replies that are sidecar
// keys (see guard.IsRedisSidecar).
func (s *Session) withoutSidecars(elems [][]byte) [][]byte {
	if s.r.Dir == nil {
		return elems
	}
	kept := elems[:0]
	for _, e := range elems {
		if key, null, err := resp.ParseBulk(e); err != nil || null || !guard.IsRedisSidecar(key) {
			kept = append(kept, e)
		}
	}
	return kept
}
