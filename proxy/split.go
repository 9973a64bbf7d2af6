package proxy

import (
	"strconv"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/resp"
)

// split is a multi-key command cut into one call per server, and how to merge the replies.
type split struct {
	calls []*backends.Call
	merge func(s *Session, sp *split, replies [][]byte, dst []byte) []byte
	order []int // MGET: for each key in the client's order, the index of its call
}

// splitter returns how to split a command across servers and how many arguments travel with
// each key (MSET's key and value), or nil when the command cannot be split.
func splitter(name string) (func(s *Session, args [][]byte, keys []int) *split, int) {
	switch name {
	case "mget":
		return func(s *Session, args [][]byte, keys []int) *split {
			return s.splitKeys(args, keys, 1, mergeMGet)
		}, 1
	case "del", "unlink", "exists", "touch":
		return func(s *Session, args [][]byte, keys []int) *split {
			return s.splitKeys(args, keys, 1, mergeSum)
		}, 1
	case "mset":
		return func(s *Session, args [][]byte, keys []int) *split {
			return s.splitKeys(args, keys, 2, mergeOK)
		}, 2
	}
	return nil, 0
}

// splitKeys builds one call per server holding some of the keys. Each key travels with the
// width-1 arguments that follow it (MSET's values), and keeps its relative order.
func (s *Session) splitKeys(args [][]byte, keys []int, width int, merge func(*Session, *split, [][]byte, []byte) []byte) *split {
	sp := &split{merge: merge, order: make([]int, len(keys))}
	byServer := make(map[int][][]byte)
	var servers []int
	for i, k := range keys {
		owner := s.r.pool.Owner(args[k])
		part, seen := byServer[owner]
		if !seen {
			servers = append(servers, owner)
			part = append(part, args[0])
		}
		byServer[owner] = append(part, args[k:k+width]...)
		sp.order[i] = indexOf(servers, owner)
	}
	for _, owner := range servers {
		call := backends.NewCall()
		call.Req = resp.AppendCommand(call.Req, byServer[owner]...)
		s.send(owner, call)
		sp.calls = append(sp.calls, call)
	}
	return sp
}

func indexOf(list []int, v int) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}

// finish waits for every call, then merges. Any failed call or error reply fails the whole
// command: a partial answer would look like a wrong one.
func (sp *split) finish(s *Session, dst []byte) []byte {
	replies := make([][]byte, len(sp.calls))
	var failed *backends.Call
	for i, call := range sp.calls {
		call.Wait()
		replies[i] = call.Reply
		if failed == nil && call.Err != nil {
			failed = call
		}
	}
	defer func() {
		for _, call := range sp.calls {
			call.Release()
		}
	}()
	if failed != nil {
		return s.appendBackendError(dst, failed)
	}
	for _, r := range replies {
		if resp.IsError(r) {
			s.r.Stats.Errors.Add(1)
			return append(dst, r...)
		}
	}
	return sp.merge(s, sp, replies, dst)
}

// mergeMGet puts each server's values back in the client's key order.
func mergeMGet(s *Session, sp *split, replies [][]byte, dst []byte) []byte {
	elems := make([][][]byte, len(replies))
	for i, r := range replies {
		var err error
		if elems[i], err = resp.SplitArray(r, nil); err != nil {
			return resp.AppendError(dst, "ERR bad MGET reply from a server: "+err.Error())
		}
	}
	start := len(dst)
	dst = resp.AppendArrayLen(dst, len(sp.order))
	next := make([]int, len(replies))
	for _, c := range sp.order {
		if next[c] >= len(elems[c]) {
			return resp.AppendError(dst[:start], "ERR short MGET reply from a server")
		}
		dst = append(dst, elems[c][next[c]]...)
		next[c]++
	}
	return dst
}

// mergeSum adds the servers' integer replies (DEL, UNLINK, EXISTS, TOUCH).
func mergeSum(s *Session, sp *split, replies [][]byte, dst []byte) []byte {
	var total int64
	for _, r := range replies {
		n, err := resp.ParseInt(r)
		if err != nil {
			return resp.AppendError(dst, "ERR bad integer reply from a server: "+strconv.Quote(string(r)))
		}
		total += n
	}
	return resp.AppendInt(dst, total)
}

// mergeOK replies +OK once every server did (MSET).
func mergeOK(s *Session, sp *split, replies [][]byte, dst []byte) []byte {
	return resp.AppendSimple(dst, "OK")
}
