package respserver

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/discoh/discoh/coherence"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
	"github.com/discoh/discoh/respserver/commands"
)

// Coherent keys (keys a source covers) are read, filled and invalidated through the pool's
// coherence directory, at dispatch: the directory's guard state lives in the key's server, so
// the answer is queued in order like any other reply. GET, SET/SETEX/PSETEX, DEL/UNLINK and
// GETDEL take this path; every other command on a coherent key is proxied untouched.

// routeCoherent answers args through the directory when it is one of the commands above on a
// coherent key, and reports whether it did.
func (s *Session) routeCoherent(cmd *commands.Command, args [][]byte, keys []int) bool {
	dir := s.r.Dir
	if dir == nil {
		return false
	}
	if sidecar(args, keys) {
		s.queueError("ERR discoh: keys ending in \\x00discoh hold coherence state and cannot be used")
		return true
	}
	if !anyCovered(dir, args, keys) {
		return false
	}
	if !s.coherentCommand(args, keys) {
		if cmd.Flags&commands.Write == 0 {
			return false // other reads see the value as stored; a tombstone reads as a miss
		}
		s.queueError("ERR discoh: '" + strings.ToLower(string(args[0])) + "' would write a coherent key around the coherence directory; use GET, SET [EX|PX], SETEX, PSETEX, DEL, UNLINK, GETDEL")
		return true
	}
	return true
}

// sidecar reports whether a key is a coherence sidecar, which only the directory may touch.
func sidecar(args [][]byte, keys []int) bool {
	for _, k := range keys {
		if guard.IsRedisSidecar(args[k]) {
			return true
		}
	}
	return false
}

// coherentCommand runs the commands the directory answers and reports whether args was one.
func (s *Session) coherentCommand(args [][]byte, keys []int) bool {
	switch lower(args[0]) {
	case "get":
		s.queueLit(s.coherentGet(args[1]))
	case "set", "setex", "psetex":
		val, ok := setValue(args)
		if !ok {
			return false
		}
		s.queueLit(s.coherentFill(args[1], val))
	case "del", "unlink":
		s.queueLit(s.coherentDel(args, keys))
	case "getdel":
		s.queueLit(s.coherentGetDel(args[1]))
	case "mget":
		s.queueLit(s.coherentMGet(args, keys))
	default:
		return false
	}
	return true
}

// lower lowercases a command name of up to 8 bytes without allocating ("" if longer): the
// names routeCoherent looks for are all shorter.
func lower(name []byte) string {
	var buf [8]byte
	if len(name) > len(buf) {
		return ""
	}
	for i, c := range name {
		buf[i] = c | 0x20
	}
	return string(buf[:len(name)])
}

func anyCovered(dir *coherence.Directory, args [][]byte, keys []int) bool {
	for _, k := range keys {
		if dir.Covers(args[k]) {
			return true
		}
	}
	return false
}

// setValue reads SET key value [EX s|PX ms], SETEX key s value and PSETEX key ms value. Any
// other SET option (NX, XX, GET, KEEPTTL, ...) is not a look-aside fill: ok is false.
func setValue(args [][]byte) (guard.Value, bool) {
	name := strings.ToLower(string(args[0]))
	if name != "set" {
		if len(args) != 4 {
			return guard.Value{}, false
		}
		n, err := strconv.ParseInt(string(args[2]), 10, 64)
		unit := time.Second
		if name == "psetex" {
			unit = time.Millisecond
		}
		return guard.Value{Data: args[3], TTL: time.Duration(n) * unit}, err == nil && n > 0
	}
	switch {
	case len(args) == 3:
		return guard.Value{Data: args[2]}, true
	case len(args) == 5:
		n, err := strconv.ParseInt(string(args[4]), 10, 64)
		unit := map[string]time.Duration{"ex": time.Second, "px": time.Millisecond}[strings.ToLower(string(args[3]))]
		return guard.Value{Data: args[2], TTL: time.Duration(n) * unit}, err == nil && n > 0 && unit > 0
	}
	return guard.Value{}, false
}

func (s *Session) coherentGet(key []byte) func([]byte) []byte {
	ctx := proxy.NewWaitContext(s.client)
	val, hit, err := s.r.Dir.Read(ctx, key)
	ctx.End()
	return func(dst []byte) []byte {
		switch {
		case err != nil:
			return resp.AppendError(dst, "ERR "+err.Error())
		case !hit:
			return resp.AppendNull(dst, s.resp3())
		}
		return resp.AppendBulk(dst, val.Data)
	}
}

// coherentMGet reads the coherent keys of an MGET as GET does (waiting for a pull in flight),
// the others with one MGET split over their servers, and answers in the client's key order.
func (s *Session) coherentMGet(args [][]byte, keys []int) func([]byte) []byte {
	values := make([][]byte, len(keys)) // nil: a miss
	var plain []int                     // indexes in keys of the keys no source covers
	ctx := proxy.NewWaitContext(s.client)
	defer ctx.End()
	for i, k := range keys {
		if !s.r.Dir.Covers(args[k]) {
			plain = append(plain, i)
			continue
		}
		val, hit, err := s.r.Dir.Read(ctx, args[k])
		if err != nil {
			return errorReply("ERR " + err.Error())
		}
		if hit {
			values[i] = val.Data
		}
	}
	if len(plain) > 0 {
		if err := s.readPlain(args, keys, plain, values); err != "" {
			return errorReply(err)
		}
	}
	return func(dst []byte) []byte {
		dst = resp.AppendArrayLen(dst, len(values))
		for _, v := range values {
			if v == nil {
				dst = resp.AppendNull(dst, s.resp3())
			} else {
				dst = resp.AppendBulk(dst, v)
			}
		}
		return dst
	}
}

// readPlain fills values[i] for each i in plain with the value of key args[keys[i]], read with
// one MGET split over the keys' servers.
func (s *Session) readPlain(args [][]byte, keys, plain []int, values [][]byte) string {
	mget := [][]byte{args[0]}
	pos := make([]int, len(plain))
	for j, i := range plain {
		mget, pos[j] = append(mget, args[keys[i]]), j+1
	}
	sp := s.splitKeys(mget, pos, splitSpec{width: 1, merge: mergeMGet})
	out := sp.finish(s, nil)
	elems, err := resp.SplitArray(out, nil)
	if err != nil || len(elems) != len(plain) {
		return strings.TrimSpace(string(bytes.TrimPrefix(out, []byte("-"))))
	}
	for j, i := range plain {
		if v, null, err := resp.ParseBulk(elems[j]); err == nil && !null {
			values[i] = bytes.Clone(v)
		}
	}
	return ""
}

// coherentFill offers a client's SET to the directory. The client hears OK whether it was
// stored or refused (a fill racing an invalidation must not win, and must not fail the app).
func (s *Session) coherentFill(key []byte, val guard.Value) func([]byte) []byte {
	// Not the client's context: a fill discoh has read is carried out (see proxy.WaitContext).
	_, err := s.r.Dir.Fill(context.Background(), key, val)
	return func(dst []byte) []byte {
		if err != nil {
			return resp.AppendError(dst, "ERR "+err.Error())
		}
		return resp.AppendSimple(dst, "OK")
	}
}

// coherentDel invalidates the coherent keys and deletes the others; the reply counts the
// coherent keys as removed, since their value is gone from the cache either way.
func (s *Session) coherentDel(args [][]byte, keys []int) func([]byte) []byte {
	var plain [][]byte
	count := int64(0)
	for _, k := range keys {
		if !s.r.Dir.Covers(args[k]) {
			plain = append(plain, args[k])
			continue
		}
		// Not the client's context: a DEL discoh has read is carried out (see proxy.WaitContext).
		if err := s.r.Dir.Invalidate(context.Background(), args[k]); err != nil {
			return errorReply("ERR " + err.Error())
		}
		count++
	}
	if len(plain) > 0 {
		n, err := s.deleteNow(args[0], plain)
		if err != "" {
			return errorReply(err)
		}
		count += n
	}
	return func(dst []byte) []byte { return resp.AppendInt(dst, count) }
}

// deleteNow runs DEL (or UNLINK) of keys on their servers and waits for the count.
func (s *Session) deleteNow(name []byte, keys [][]byte) (int64, string) {
	args := append([][]byte{name}, keys...)
	pos := make([]int, len(keys))
	for i := range pos {
		pos[i] = i + 1
	}
	sp := s.splitKeys(args, pos, splitSpec{width: 1, write: true, merge: mergeSum})
	out := sp.finish(s, nil)
	n, err := resp.ParseInt(out)
	if err != nil {
		return 0, strings.TrimSpace(string(bytes.TrimPrefix(out, []byte("-"))))
	}
	return n, ""
}

func (s *Session) coherentGetDel(key []byte) func([]byte) []byte {
	get := s.coherentGet(key)
	// Not the client's context: a DEL discoh has read is carried out (see proxy.WaitContext).
	if err := s.r.Dir.Invalidate(context.Background(), key); err != nil {
		return errorReply("ERR " + err.Error())
	}
	return get
}

func errorReply(msg string) func([]byte) []byte {
	return func(dst []byte) []byte { return resp.AppendError(dst, msg) }
}

// cmdDiscoh is discoh's explicit API: DISCOH READ key reads through the directory (waiting for
// a pull in flight), DISCOH PULL key invalidates key and pulls it from the database now.
func cmdDiscoh(s *Session, args [][]byte, _ []byte) frontend.Action {
	switch {
	case !s.arity(args, 3, 3):
	case s.r.Dir == nil || !s.r.Dir.Covers(args[2]):
		s.queueError("ERR DISCOH: key '" + string(args[2]) + "' is not covered by a coherence source")
	case strings.EqualFold(string(args[1]), "read"):
		s.queueLit(s.coherentGet(args[2]))
	case strings.EqualFold(string(args[1]), "pull"):
		ctx := proxy.NewWaitContext(s.client)
		val, found, err := s.r.Dir.Pull(ctx, args[2])
		ctx.End()
		s.queueLit(func(dst []byte) []byte {
			switch {
			case err != nil:
				return resp.AppendError(dst, "ERR "+err.Error())
			case !found:
				return resp.AppendNull(dst, s.resp3())
			}
			return resp.AppendBulk(dst, val.Data)
		})
	default:
		s.queueError("ERR DISCOH subcommands: READ key, PULL key")
	}
	return frontend.Continue
}
