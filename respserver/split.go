package respserver

import (
	"bytes"
	"strconv"
	"sync"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
)

// split is a multi-key command cut into calls by server, and how to merge the replies. A huge
// command is cut into several parts per server, sent a few at a time (see parts.go). Splits
// are pooled with the scratch that building and merging them use, so a steady stream of MGETs
// and MSETs allocates nothing.
type split struct {
	calls   []*backends.Call
	copies  []*backends.Call // a write's other copies: waited for, not merged
	write   bool             // a failed part's keys are missed writes
	lenient bool             // merge reads error replies too (else the first one is the answer)
	partial bool             // merge gets every reply, failed calls' too (INFO): see finish
	merge   mergeFunc
	order   []int         // a read: for each key in the client's order, the index of its call
	writing proxy.KeyList // keys of a write on their way to several copies (Pool.BeginWrite)
	// win sends the calls of a split command (splitKeys) part by part; a fan-out sends its
	// calls itself, and its window stays empty.
	win proxy.Window

	// Scratch, kept between uses.
	parts, copyParts proxy.PartSet
	replies          [][]byte
	elems            [][][]byte // MGET: each reply's elements
	next             []int
}

type mergeFunc func(s *Session, sp *split, replies [][]byte, dst []byte) []byte

var splitPool = sync.Pool{New: func() any { return new(split) }}

func newSplit(merge mergeFunc) *split {
	sp := splitPool.Get().(*split)
	sp.merge = merge
	return sp
}

// release releases the calls and returns sp, emptied, to the pool.
func (sp *split) release() {
	for _, call := range sp.calls {
		call.Release()
	}
	for _, call := range sp.copies {
		call.Release()
	}
	clear(sp.calls)
	clear(sp.copies)
	clear(sp.replies)
	sp.win.Reset()
	for i := range sp.elems {
		clear(sp.elems[i])
	}
	sp.calls, sp.copies, sp.replies = sp.calls[:0], sp.copies[:0], sp.replies[:0]
	sp.write, sp.lenient, sp.partial, sp.merge = false, false, false, nil
	sp.order = proxy.Kept(sp.order, proxy.KeptKeys)
	sp.writing.Reset()
	splitPool.Put(sp)
}

// splitSpec says how a command is split: each key travels with the width-1 arguments that
// follow it (MSET's values); a write's failed parts are missed writes; merge joins the replies.
type splitSpec struct {
	width int
	write bool
	merge mergeFunc
}

// splitSpecOf returns how to split the command name, or false when it cannot be split.
func splitSpecOf(name string) (splitSpec, bool) {
	switch name {
	case "mget":
		return splitSpec{width: 1, merge: mergeMGet}, true
	case "exists":
		return splitSpec{width: 1, merge: mergeSum}, true
	case "del", "unlink", "touch":
		return splitSpec{width: 1, write: true, merge: mergeSum}, true
	case "mset":
		return splitSpec{width: 2, write: true, merge: mergeOK}, true
	}
	return splitSpec{}, false
}

// splitKeys builds the calls of a command whose keys are on several servers, or too many for
// one part: one per server, or per part of a huge command. Each key travels with the
// arguments spec says, and keeps its relative order. A key goes to its best live copy; a write
// also goes to its other live copies, whose replies are not merged.
func (s *Session) splitKeys(args [][]byte, keys []int, spec splitSpec) *split {
	sp := newSplit(spec.merge)
	sp.write = spec.write
	n := len(s.r.pool.Servers)
	sp.parts.Begin(n)
	sp.copyParts.Begin(n)
	sp.win.Begin(n)
	for _, k := range keys {
		kv := args[k : k+spec.width]
		targets := s.targets(args[k], spec.write)
		if !spec.write {
			targets = targets[:1] // a read asks the best copy; a failed part asks the others
			sp.order = append(sp.order, sp.put(&sp.parts, &sp.calls, targets[0], args[0], kv))
		} else {
			sp.put(&sp.parts, &sp.calls, targets[0], args[0], kv)
		}
		for _, t := range targets[1:] {
			sp.put(&sp.copyParts, &sp.copies, t, args[0], kv)
		}
		if len(targets) > 1 {
			s.r.pool.BeginWrite(args[k])
			sp.writing.Add(args[k])
		}
	}
	sp.closeOpen(&sp.parts, sp.calls)
	sp.closeOpen(&sp.copyParts, sp.copies)
	sp.win.Start(s.send)
	return sp
}

// put adds one key's arguments to server's part in ps, whose calls are *calls, and returns
// the index of the part's call. A full part is closed at once.
func (sp *split) put(ps *proxy.PartSet, calls *[]*backends.Call, server int, name []byte, kv [][]byte) int {
	opened, full := ps.Put(server, name, kv)
	if opened {
		ps.Index[server] = len(*calls)
		*calls = append(*calls, backends.NewCall())
	}
	c := ps.Index[server]
	if full {
		sp.close((*calls)[c], server, ps.Take(server))
	}
	return c
}

// closeOpen closes the parts of ps still open once every key is in.
func (sp *split) closeOpen(ps *proxy.PartSet, calls []*backends.Call) {
	for _, server := range ps.Open {
		if args := ps.Take(server); len(args) > 0 {
			sp.close(calls[ps.Index[server]], server, args)
		}
	}
}

// close encodes one part into call and hands it to the window. The arguments point into the
// client's input, valid only while the request is dispatched: the call keeps a copy.
func (sp *split) close(call *backends.Call, server int, args [][]byte) {
	call.Write = sp.write
	call.Req = resp.AppendCommand(call.Req, args...)
	clear(args)
	sp.win.Add(call, server)
}

// finish sends the parts still held, waits for every call, then merges. Any failed call or
// error reply fails the whole command: a partial answer would look like a wrong one. (Parts of
// a huge write sent before it stay applied, as when a write split across servers fails on one.)
func (sp *split) finish(s *Session, dst []byte) []byte {
	defer sp.release()
	sp.win.Drain(s.send)
	if sp.write || len(sp.copies) > 0 {
		waitCopies(sp.calls, sp.copies, s.r.pool.Replicas() > 1)
	}
	for i := range sp.writing.Len() {
		s.r.pool.EndWrite(sp.writing.At(i))
	}
	replies := sp.replies[:0]
	var failed *backends.Call
	for i, call := range sp.calls {
		call.Wait()
		replies = append(replies, call.Reply)
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
	sp.replies = replies
	if sp.partial {
		return sp.merge(s, sp, replies, dst) // it reads each call's Err and leaves failed ones out
	}
	if failed != nil {
		return s.appendBackendError(dst, failed)
	}
	for _, r := range replies {
		if !sp.lenient && resp.IsError(r) {
			s.r.Stats.Errors.Add(1)
			return append(dst, r...)
		}
	}
	return sp.merge(s, sp, replies, dst)
}

// await counts the split's calls that are out for a.
func (sp *split) await(a *proxy.Waiter) {
	if sp.win.Len() > 0 {
		sp.win.Await(a)
		return
	}
	for _, call := range sp.calls {
		a.Add(call)
	}
	for _, call := range sp.copies {
		a.Add(call)
	}
}

func isMGet(req []byte) bool {
	args := argsOf(req)
	return len(args) > 0 && bytes.EqualFold(args[0], []byte("mget"))
}

// waitCopies waits for a split write's calls. In a pool with copies, it records the keys of a
// failed call as missed by its server when some other call succeeded (another copy of the same
// keys may have taken them); a write that reached no server changed nothing anywhere, and
// without copies there is no other copy to be out of step with.
func waitCopies(calls, copies []*backends.Call, replicated bool) {
	for _, call := range calls {
		call.Wait()
	}
	for _, call := range copies {
		call.Wait()
	}
	if !replicated || (proxy.FirstSuccess(calls) == nil && proxy.FirstSuccess(copies) == nil) {
		return
	}
	for _, group := range [][]*backends.Call{calls, copies} {
		for _, call := range group {
			if call.Err != nil {
				for _, key := range keysOf(call.Req) {
					call.Server.Missed(key, call.Err)
				}
			}
		}
	}
}

// mergeMGet puts each server's values back in the client's key order.
func mergeMGet(s *Session, sp *split, replies [][]byte, dst []byte) []byte {
	sp.elems = proxy.Grow(sp.elems, len(replies))
	elems := sp.elems[:len(replies)]
	for i, r := range replies {
		var err error
		if elems[i], err = resp.SplitArray(r, elems[i]); err != nil {
			return resp.AppendError(dst, "ERR bad MGET reply from a server: "+err.Error())
		}
	}
	start := len(dst)
	dst = resp.AppendArrayLen(dst, len(sp.order))
	next := append(sp.next[:0], make([]int, len(replies))...)
	sp.next = next
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
