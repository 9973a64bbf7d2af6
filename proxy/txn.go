package proxy

import (
	"strings"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/proxy/commands"
	"github.com/discoh/discoh/resp"
)

// txn is a MULTI block being queued. discoh queues the commands itself and sends MULTI, the
// commands and EXEC to the server as one request, so no other client's command can land inside
// the transaction on a shared connection. Every key must live on one server.
type txn struct {
	server int    // the server all keys live on; -1 until a keyed command names it
	req    []byte // the encoded commands, without MULTI and EXEC
	count  int
	dirty  bool // a command was refused: EXEC must abort, as Redis does
}

// pinned is a connection of the session's own to one server, for WATCH and the EXEC after it.
// It is kept after EXEC for the next WATCH on the same server.
type pinned struct {
	server int
	conn   *backends.Pinned
	active bool // WATCH was sent and no EXEC yet: the session's commands to server go here
}

func txControl(name []byte) bool {
	switch strings.ToLower(string(name)) {
	case "multi", "exec", "discard", "watch", "unwatch", "quit", "reset":
		return true
	}
	return false
}

func cmdMulti(s *Session, args [][]byte, _ []byte) frontend.Action {
	switch {
	case !s.arity(args, 1, 1):
	case s.tx != nil:
		s.queueError("ERR MULTI calls can not be nested")
	default:
		s.tx = &txn{server: -1}
		if s.watch != nil && s.watch.active {
			s.tx.server = s.watch.server
		}
		s.queueSimple("OK")
	}
	return frontend.Continue
}

// queueInTx checks a command inside MULTI and queues it, replying QUEUED or the reason it was
// refused (which makes EXEC abort, as in Redis).
func (s *Session) queueInTx(args [][]byte) {
	if reason := s.txRefusal(args); reason != "" {
		s.tx.dirty = true
		s.queueError(reason)
		return
	}
	s.tx.req = resp.AppendCommand(s.tx.req, args...)
	s.tx.count++
	s.queueSimple("QUEUED")
}

// txRefusal returns why args cannot join the transaction, or "".
func (s *Session) txRefusal(args [][]byte) string {
	if localHandler(args[0]) != nil && !txSafeLocal(args[0]) {
		return "ERR " + strings.ToUpper(string(args[0])) + " is not supported inside MULTI by discoh"
	}
	cmd := commands.Lookup(args)
	if cmd == nil || !routable(cmd) {
		return unsupported(args[0])
	}
	if !cmd.ArityOK(len(args)) {
		return "ERR wrong number of arguments for '" + strings.ToLower(string(args[0])) + "' command"
	}
	keys, err := cmd.Keys(args, s.keys[:0])
	s.keys = keys
	if err != nil {
		return err.Error()
	}
	for _, k := range keys {
		owner := s.r.pool.Owner(args[k])
		if s.tx.server == -1 {
			s.tx.server = owner
		}
		if owner != s.tx.server {
			return errCrossSlot
		}
	}
	return ""
}

// txSafeLocal names the proxy-answered commands that mean the same on any server.
func txSafeLocal(name []byte) bool {
	switch strings.ToLower(string(name)) {
	case "ping", "echo", "time":
		return true
	}
	return false
}

func cmdDiscard(s *Session, args [][]byte, _ []byte) frontend.Action {
	switch {
	case !s.arity(args, 1, 1):
	case s.tx == nil:
		s.queueError("ERR DISCARD without MULTI")
	default:
		s.tx = nil
		s.unwatch()
		s.queueSimple("OK")
	}
	return frontend.Continue
}

// cmdExec sends MULTI, the queued commands and EXEC as one request, on the WATCH connection
// when there is one, and replies with EXEC's reply.
func cmdExec(s *Session, args [][]byte, _ []byte) frontend.Action {
	if !s.arity(args, 1, 1) {
		return frontend.Continue
	}
	tx := s.tx
	s.tx = nil
	switch {
	case tx == nil:
		s.queueError("ERR EXEC without MULTI")
	case tx.dirty:
		s.unwatch()
		s.queueError("EXECABORT Transaction discarded because of previous errors.")
	default:
		s.execTx(tx)
	}
	return frontend.Continue
}

func (s *Session) execTx(tx *txn) {
	call := backends.NewCall()
	call.Req = resp.AppendCommand(call.Req, []byte("MULTI"))
	call.Req = append(call.Req, tx.req...)
	call.Req = resp.AppendCommand(call.Req, []byte("EXEC"))
	call.Frames = tx.count + 2
	if s.watch != nil && s.watch.active {
		s.watch.conn.Send(call)
		s.watch.active = false
	} else {
		s.send(max(tx.server, 0), call)
	}
	s.queue = append(s.queue, reply{call: call, lastFrame: true})
}

// cmdWatch opens a connection of the session's own to the keys' server and sends WATCH on it;
// the transaction that follows runs there.
func cmdWatch(s *Session, args [][]byte, raw []byte) frontend.Action {
	if !s.arity(args, 2, -1) {
		return frontend.Continue
	}
	if s.tx != nil {
		s.queueError("ERR WATCH inside MULTI is not allowed")
		return frontend.Continue
	}
	keys := make([]int, 0, len(args)-1)
	for i := 1; i < len(args); i++ {
		keys = append(keys, i)
	}
	server, same := s.owner(args, keys)
	if !same || (s.watch != nil && s.watch.active && s.watch.server != server) {
		s.queueError(errCrossSlot)
		return frontend.Continue
	}
	if s.watch != nil && s.watch.server != server {
		s.unwatch()
	}
	if s.watch == nil {
		conn, err := s.r.pool.Servers[server].Pin(s.lane, s.r.pool.Timeout())
		if err != nil {
			s.queueError("ERR backend " + s.r.pool.Servers[server].String() + ": " + err.Error())
			return frontend.Continue
		}
		s.watch = &pinned{server: server, conn: conn}
	}
	s.watch.active = true
	s.forward(server, raw, args)
	return frontend.Continue
}

func cmdUnwatch(s *Session, args [][]byte, _ []byte) frontend.Action {
	if s.arity(args, 1, 1) {
		s.unwatch()
		s.queueSimple("OK")
	}
	return frontend.Continue
}

// unwatch drops the WATCH connection; closing it forgets the watched keys on the server.
func (s *Session) unwatch() {
	if s.watch != nil {
		s.watch.conn.Close()
		s.watch = nil
	}
}
