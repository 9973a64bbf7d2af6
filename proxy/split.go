package proxy

import (
	"bytes"
	"strconv"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/resp"
)

// split is a multi-key command cut into one call per server, and how to merge the replies.
type split struct {
	calls   []*backends.Call
	copies  []*backends.Call // a write's other copies: waited for, not merged
	write   bool             // a failed part's keys are missed writes
	writing [][]byte         // keys of a write on their way to several copies (Pool.BeginWrite)
	merge   func(s *Session, sp *split, replies [][]byte, dst []byte) []byte
	order   []int // MGET: for each key in the client's order, the index of its call
}

// splitter returns how to split a command across servers and how many arguments travel with
// each key (MSET's key and value), or nil when the command cannot be split.
func splitter(name string) (func(s *Session, args [][]byte, keys []int) *split, int) {
	switch name {
	case "mget":
		return func(s *Session, args [][]byte, keys []int) *split {
			return s.splitKeys(args, keys, 1, false, mergeMGet)
		}, 1
	case "del", "unlink", "exists", "touch":
		return func(s *Session, args [][]byte, keys []int) *split {
			return s.splitKeys(args, keys, 1, name != "exists", mergeSum)
		}, 1
	case "mset":
		return func(s *Session, args [][]byte, keys []int) *split {
			return s.splitKeys(args, keys, 2, true, mergeOK)
		}, 2
	}
	return nil, 0
}

// splitKeys builds one call per server holding some of the keys. Each key travels with the
// width-1 arguments that follow it (MSET's values), and keeps its relative order. A key goes to
// its best live copy; a write also goes to its other live copies, whose replies are not merged.
func (s *Session) splitKeys(args [][]byte, keys []int, width int, write bool, merge func(*Session, *split, [][]byte, []byte) []byte) *split {
	sp := &split{merge: merge, order: make([]int, len(keys)), write: write}
	parts := map[int][][]byte{}    // the merged calls' arguments, by server
	copies := map[int][][]byte{}   // the other copies' arguments, by server
	var servers, copyServers []int // in first-seen order
	for i, k := range keys {
		targets := s.targets(args[k], write)
		servers = addPart(parts, servers, targets[0], args[0], args[k:k+width])
		sp.order[i] = indexOf(servers, targets[0])
		for _, t := range targets[1:] {
			copyServers = addPart(copies, copyServers, t, args[0], args[k:k+width])
		}
		if len(targets) > 1 {
			s.r.pool.BeginWrite(args[k])
			sp.writing = append(sp.writing, bytes.Clone(args[k]))
		}
	}
	sp.calls = s.sendParts(parts, servers)
	sp.copies = s.sendParts(copies, copyServers)
	return sp
}

// addPart adds one key's arguments to server's part, starting the part with the command name.
func addPart(parts map[int][][]byte, servers []int, server int, name []byte, kv [][]byte) []int {
	part, seen := parts[server]
	if !seen {
		servers = append(servers, server)
		part = append(part, name)
	}
	parts[server] = append(part, kv...)
	return servers
}

func (s *Session) sendParts(parts map[int][][]byte, servers []int) []*backends.Call {
	calls := make([]*backends.Call, 0, len(servers))
	for _, server := range servers {
		call := backends.NewCall()
		call.Req = resp.AppendCommand(call.Req, parts[server]...)
		s.send(server, call)
		calls = append(calls, call)
	}
	return calls
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
	defer sp.release()
	waitCopies(sp.copies)
	if sp.write {
		waitCopies(sp.calls)
	}
	for _, key := range sp.writing {
		s.r.pool.EndWrite(key)
	}
	replies := make([][]byte, len(sp.calls))
	var failed *backends.Call
	for i, call := range sp.calls {
		call.Wait()
		replies[i] = call.Reply
		if call.Err != nil && !sp.write && isMGet(call.Req) {
			// A part of a read failed: ask the keys' other copies, key by key.
			if r, ok := s.mgetElsewhere(call); ok {
				replies[i] = r
				continue
			}
		}
		if failed == nil && call.Err != nil {
			failed = call
		}
	}
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

func isMGet(req []byte) bool {
	args := argsOf(req)
	return len(args) > 0 && bytes.EqualFold(args[0], []byte("mget"))
}

// waitCopies waits for a write's other copies and records the keys a failed one missed.
func waitCopies(copies []*backends.Call) {
	for _, call := range copies {
		call.Wait()
		if call.Err != nil {
			for _, key := range keysOf(call.Req) {
				call.Server.Missed(key, call.Err)
			}
		}
	}
}

func (sp *split) release() {
	for _, call := range sp.calls {
		call.Release()
	}
	for _, call := range sp.copies {
		call.Release()
	}
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
