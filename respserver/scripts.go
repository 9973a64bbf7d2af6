package respserver

import (
	"math/rand/v2"
	"strings"

	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/resp"
	"github.com/discoh/discoh/respserver/commands"
)

// keylessServer runs scripts and functions called with no keys (EVAL script 0, FCALL f 0):
// always the pool's first server, so a keyless script sees the same server every time.
const keylessServer = 0

// mayRunKeyless reports whether cmd may be called with no keys and then runs on keylessServer.
// A bad key count goes there too: the server words the error exactly as Redis does.
func mayRunKeyless(cmd *commands.Command) bool {
	switch cmd.Name {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		return true
	}
	return false
}

// cmdScript sends SCRIPT LOAD, EXISTS and FLUSH to every server, so EVALSHA finds its script
// on whichever server its keys live; SCRIPT KILL too, to stop the script wherever it runs, on a
// connection of its own (the shared one waits behind the script).
func cmdScript(s *Session, args [][]byte, raw []byte) frontend.Action {
	if !s.arity(args, 2, -1) {
		return frontend.Continue
	}
	switch strings.ToLower(string(args[1])) {
	case "load", "flush":
		return cmdFanOut(mergeFirst)(s, args, raw)
	case "exists":
		return cmdFanOut(mergeAllExist)(s, args, raw)
	case "kill":
		return cmdFanOutAside(mergeAnyOK)(s, args, raw)
	case "help":
		s.forward(0, raw, args)
	default:
		s.queueError(unsupportedSub(args))
	}
	return frontend.Continue
}

// cmdFunction sends FUNCTION LOAD, DELETE, FLUSH and RESTORE to every server, so FCALL finds
// its library wherever its keys live; LIST, DUMP, STATS and HELP ask the first server, which
// holds the same libraries as the others.
func cmdFunction(s *Session, args [][]byte, raw []byte) frontend.Action {
	if !s.arity(args, 2, -1) {
		return frontend.Continue
	}
	switch strings.ToLower(string(args[1])) {
	case "load", "delete", "flush", "restore":
		return cmdFanOut(mergeFirst)(s, args, raw)
	case "kill":
		return cmdFanOutAside(mergeAnyOK)(s, args, raw)
	case "list", "dump", "stats", "help":
		s.forward(0, raw, args)
	default:
		s.queueError(unsupportedSub(args))
	}
	return frontend.Continue
}

// cmdRandomKey asks every server for a random key and answers with one of those that had any,
// picked at random: a random server that has keys, then a random key of it.
func cmdRandomKey(s *Session, args [][]byte, raw []byte) frontend.Action {
	if s.arity(args, 1, 1) {
		return cmdFanOut(mergeRandom)(s, args, raw)
	}
	return frontend.Continue
}

// mergeFirst answers with the first server's reply, the servers having done the same (SCRIPT
// LOAD's SHA, FUNCTION LOAD's library name, OK). An error from any server is the answer.
func mergeFirst(_ *Session, _ *split, replies [][]byte, dst []byte) []byte {
	return append(dst, replies[0]...)
}

// mergeAllExist answers SCRIPT EXISTS: a script exists if every server has it.
func mergeAllExist(s *Session, sp *split, replies [][]byte, dst []byte) []byte {
	var all []int64
	for i, r := range replies {
		elems, err := resp.SplitArray(r, nil)
		if err != nil || (i > 0 && len(elems) != len(all)) {
			return resp.AppendError(dst, "ERR bad SCRIPT EXISTS reply from a server")
		}
		for j, e := range elems {
			n, err := resp.ParseInt(e)
			if err != nil {
				return resp.AppendError(dst, "ERR bad SCRIPT EXISTS reply from a server")
			}
			if i == 0 {
				all = append(all, n)
			} else {
				all[j] &= n
			}
		}
	}
	dst = resp.AppendArrayLen(dst, len(all))
	for _, n := range all {
		dst = resp.AppendInt(dst, n)
	}
	return dst
}

// mergeAnyOK answers a KILL: OK if some server stopped its script or function, else the first
// server's error (NOTBUSY when none was running one).
func mergeAnyOK(_ *Session, _ *split, replies [][]byte, dst []byte) []byte {
	for _, r := range replies {
		if !resp.IsError(r) {
			return append(dst, r...)
		}
	}
	return append(dst, replies[0]...)
}

// mergeRandom picks one of the servers' RANDOMKEY replies that is a key (and not a coherence
// sidecar: a server whose random pick was one counts as having none).
func mergeRandom(s *Session, _ *split, replies [][]byte, dst []byte) []byte {
	var keys [][]byte
	for _, r := range s.withoutSidecars(append([][]byte(nil), replies...)) {
		if _, null, err := resp.ParseBulk(r); err == nil && !null {
			keys = append(keys, r)
		}
	}
	if len(keys) == 0 {
		return append(dst, replies[0]...)
	}
	return append(dst, keys[rand.IntN(len(keys))]...)
}

// unsupportedSub words the refusal of a subcommand discoh does not offer: "ERR unsupported
// command 'script debug'".
func unsupportedSub(args [][]byte) string {
	if commands.Lookup(args) == nil {
		return unknownSub(args)
	}
	return "ERR unsupported command '" + strings.ToLower(string(args[0])+" "+string(args[1])) + "'"
}
