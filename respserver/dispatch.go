package respserver

import (
	"bytes"
	"errors"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
	"github.com/discoh/discoh/respserver/commands"
)

// Errors worded as Redis and Redis Cluster word them, so clients recognise them.
const (
	errCrossSlot = "CROSSSLOT Keys in request don't hash to the same server"
)

// dispatch routes one request: answered here (local), forwarded to the key's server, split
// across servers, or refused with an error naming the command. cmd is the request's command
// when it is not local, nil when Redis has no such command.
func (s *Session) dispatch(args [][]byte, raw []byte, local local, cmd *commands.Command) frontend.Action {
	if s.tx != nil && !txControl(args[0]) {
		s.queueInTx(args, raw)
		return frontend.Continue
	}
	if local.run != nil {
		return local.run(s, args, raw)
	}
	if !s.check(cmd, args) {
		return frontend.Continue
	}
	s.route(cmd, args, raw)
	return frontend.Continue
}

// check reports whether cmd is a routable command called with the right number of arguments,
// queueing the error when it is not.
func (s *Session) check(cmd *commands.Command, args [][]byte) bool {
	if cmd == nil {
		s.queueError(unknown(args))
		return false
	}
	if !routable(cmd) {
		s.queueError(unsupported(args[0]))
		return false
	}
	if !cmd.ArityOK(len(args)) {
		s.queueError(wrongArity(cmd.Name))
		return false
	}
	return true
}

// wrongArity words Redis's arity error for the command Redis names name: "get", or
// "xgroup|help" for a subcommand.
func wrongArity(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// arityName is how Redis names args's command in an arity error: cmd's name when known,
// else the lower-cased first argument.
func arityName(cmd *commands.Command, args [][]byte) string {
	if cmd != nil {
		return cmd.Name
	}
	return string(bytes.ToLower(args[0]))
}

// routable reports whether discoh may forward cmd to the server owning its keys. Server
// administration and pub/sub are the proxy's business, never a single server's.
func routable(cmd *commands.Command) bool {
	return cmd.Flags&(commands.Admin|commands.PubSub) == 0
}

func unsupported(name []byte) string {
	return "ERR unsupported command '" + string(name) + "'"
}

// unknown words the error for a command Redis does not have, or a subcommand a container
// command does not have, as Redis words them.
func unknown(args [][]byte) string {
	if len(args) > 1 && commands.IsContainer(args[0]) {
		return unknownSub(args)
	}
	msg := "ERR unknown command '" + string(args[0]) + "', with args beginning with: "
	for _, a := range args[1:min(len(args), 4)] {
		msg += "'" + string(a[:min(len(a), 128)]) + "' "
	}
	return msg
}

func unknownSub(args [][]byte) string {
	return "ERR unknown subcommand '" + string(args[1][:min(len(args[1]), 128)]) + "'. Try " +
		string(bytes.ToUpper(args[0])) + " HELP."
}

// route sends a keyed command to the server that owns its keys.
func (s *Session) route(cmd *commands.Command, args [][]byte, raw []byte) {
	keys, err := cmd.Keys(args, proxy.Kept(s.keys, proxy.KeptKeys))
	s.keys = keys
	switch {
	case (err != nil || len(keys) == 0) && mayRunKeyless(cmd):
		s.forward(keylessServer, raw, args)
	case errors.Is(err, commands.ErrNumKeys):
		s.forward(keylessServer, raw, args) // the server refuses it, in Redis's own words
	case err != nil:
		s.queueError(err.Error())
	case len(keys) == 0:
		s.queueError("ERR unsupported command '" + string(args[0]) + "' without keys: discoh routes commands by key")
	case isBlocking(cmd, args):
		s.routeBlocking(args, raw, keys)
	case s.routeCoherent(cmd, args, keys):
	default:
		s.routeKeys(cmd, args, raw, keys)
	}
}

// routeKeys forwards a command whose keys all live on the same servers to a live copy (a read)
// or to every live copy (a write), or splits the commands that can be split: across servers,
// and into parts when huge.
func (s *Session) routeKeys(cmd *commands.Command, args [][]byte, raw []byte, keys []int) {
	if inParts(cmd, keys, raw) || !s.sameCopies(args, keys) {
		s.routeSplit(cmd, args, keys)
		return
	}
	write := cmd.Flags&commands.Write != 0
	targets := s.targets(args[keys[0]], write)
	switch {
	case write && len(targets) > 1:
		s.forwardCopies(targets, raw, args, keys)
	default:
		call := s.newCall(raw, args)
		s.send(targets[0], call)
		s.queue = append(s.queue, reply{call: call, read: !write, write: write})
	}
}

func (s *Session) routeSplit(cmd *commands.Command, args [][]byte, keys []int) {
	spec, ok := splitSpecOf(cmd.Name)
	switch {
	case !ok:
		s.queueError(errCrossSlot)
	case (len(args)-1)%spec.width != 0:
		s.queueError(wrongArity(cmd.Name))
	default:
		s.queue = append(s.queue, reply{split: s.splitKeys(args, keys, spec)})
	}
}

// inParts reports whether cmd is split even when one server holds every key: it can be split,
// and is too big for one part (see parts.go).
func inParts(cmd *commands.Command, keys []int, raw []byte) bool {
	_, ok := splitSpecOf(cmd.Name)
	return ok && proxy.Oversized(len(keys), len(raw))
}

// targets returns the live servers for key: all live copies for a write, the best first for a
// read. The slice is the session's scratch, valid until the next call.
func (s *Session) targets(key []byte, write bool) []int {
	s.scratch = proxy.Targets(s.r.pool, key, write, s.scratch[:0])
	return s.scratch
}

// sameCopies reports whether the keys at positions keys all live on the same servers.
func (s *Session) sameCopies(args [][]byte, keys []int) bool {
	if len(keys) == 1 {
		return true
	}
	if s.r.pool.Replicas() == 1 {
		_, same := s.owner(args, keys)
		return same
	}
	list := make([][]byte, len(keys))
	for i, k := range keys {
		list[i] = args[k]
	}
	return s.r.pool.SameCopies(list)
}

// owner returns the server owning the keys at positions keys, and whether they all share it.
func (s *Session) owner(args [][]byte, keys []int) (int, bool) {
	first := s.r.pool.Owner(args[keys[0]])
	for _, k := range keys[1:] {
		if s.r.pool.Owner(args[k]) != first {
			return first, false
		}
	}
	return first, true
}

// forward sends the request unchanged to server i.
func (s *Session) forward(i int, raw []byte, args [][]byte) {
	call := s.newCall(raw, args)
	s.send(i, call)
	s.queue = append(s.queue, reply{call: call})
}

// newCall encodes a request for a server. A multibulk request is copied as it came; an inline
// one is re-encoded so quoting rules cannot differ between parsers.
func (s *Session) newCall(raw []byte, args [][]byte) *backends.Call {
	call := backends.NewCall()
	call.Slow, call.Kind = s.slow, uint8(s.shape)
	if len(raw) > 0 && raw[0] == '*' {
		call.Req = append(call.Req, raw...)
	} else {
		call.Req = resp.AppendCommand(call.Req, args...)
	}
	return call
}

// send queues call on server i: on the session's own connection to it when it has one (from
// WATCH on, so its commands stay in order with the transaction's), else on a shared one.
func (s *Session) send(i int, call *backends.Call) {
	if p := s.pins[i]; p != nil {
		if !p.Broken() || s.watching == i {
			p.Send(call) // a lost WATCH connection fails the call; EXEC reports the lost WATCH
			return
		}
		// The connection failed, and every call on it with it: the server's shared
		// connections serve the session again. (A request already written on it may still
		// run on the server after a later one, as when a shared connection times out.)
		p.Close()
		delete(s.pins, i)
	}
	s.r.pool.Servers[i].Send(call, s.lane, s.id)
}
