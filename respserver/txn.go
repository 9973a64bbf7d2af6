package respserver

import (
	"strings"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/resp"
	"github.com/discoh/discoh/respserver/commands"
)

// txn is a MULTI block being queued. Every key must live on one server. Once a command names
// that server (or WATCH did), the transaction runs there, on a connection of the client's own,
// as it would on Redis: MULTI, then each command as it comes, the server answering QUEUED or
// refusing it (OOM under maxmemory, ...), then EXEC or DISCARD. Commands before the first that
// names a server are answered QUEUED by discoh and sent after MULTI; a transaction that never
// names one is sent to the first server as MULTI, its commands and EXEC in one request.
type txn struct {
	server int    // the server all keys live on; -1 until a keyed command names it
	req    []byte // the encoded commands queued before the server was known
	count  int
	live   bool   // MULTI was sent to the server: commands go there as they come
	dirty  bool   // discoh refused a command: EXEC must abort, as Redis does
	why    string // a refusal discoh answered QUEUED to, for EXECABORT to name
}

func txControl(name []byte) bool {
	switch strings.ToLower(string(name)) {
	case "multi", "exec", "discard", "watch", "quit", "reset":
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
		s.tx = &txn{server: s.watching}
		if len(s.r.pool.Servers) == 1 {
			s.tx.server = 0 // known already: the transaction runs there from MULTI on
		}
		s.queueSimple("OK")
		if s.tx.server >= 0 {
			s.startTx()
		}
	}
	return frontend.Continue
}

// startTx sends MULTI, and the commands queued so far (their QUEUED already answered), on the
// session's own connection to the transaction's server.
func (s *Session) startTx() {
	tx := s.tx
	if s.watching >= 0 && s.pins[s.watching].Broken() {
		return // the WATCH state went with its connection: EXEC aborts (see cmdExec)
	}
	if err := s.pin(tx.server); err != nil {
		tx.dirty = true
		return
	}
	call := backends.NewCall()
	call.Req = resp.AppendCommand(call.Req, []byte("MULTI"))
	call.Req = append(call.Req, tx.req...)
	call.Frames = 1 + tx.count
	s.send(tx.server, call)
	s.queue = append(s.queue, reply{call: call, silent: true})
	tx.req, tx.count, tx.live = nil, 0, true
}

// queueInTx checks a command inside MULTI and queues it: on the transaction's server, which
// answers QUEUED or refuses it, once that server is known; else in discoh, which answers
// QUEUED. A command discoh refuses gets the reason, and makes EXEC abort, as in Redis.
func (s *Session) queueInTx(args [][]byte, raw []byte) {
	if s.cmd != nil && s.cmd.Flags&commands.NoMulti != 0 {
		s.tx.dirty = true // refused at once, as Redis refuses SAVE or SHUTDOWN inside MULTI
		s.queueError("ERR Command not allowed inside a transaction")
		return
	}
	if reason := s.txUnsupported(args); reason != "" {
		// Redis would queue this command, so the client hears QUEUED, and EXEC says why the
		// transaction cannot run: a client that stops at the first error is not left in MULTI.
		s.tx.dirty, s.tx.why = true, reason
		s.queueSimple("QUEUED")
		return
	}
	if reason := s.txRefusal(args); reason != "" {
		s.tx.dirty = true
		s.queueError(reason)
		return
	}
	if !s.tx.live && s.tx.server >= 0 {
		s.startTx()
	}
	if s.txLost() {
		s.tx.dirty = true
		s.queueError(errTxLost)
		return
	}
	if s.tx.live {
		s.shape, s.slow = resp.AnyReply, false // the server answers QUEUED, or an error
		s.forward(s.tx.server, raw, args)
		return
	}
	s.tx.req = resp.AppendCommand(s.tx.req, args...)
	s.tx.count++
	s.queueSimple("QUEUED")
}

// txUnsupported returns why a command Redis knows cannot run in a transaction through discoh,
// or "".
func (s *Session) txUnsupported(args [][]byte) string {
	if len(s.r.pool.Servers) == 1 && txServerWide(args[0]) {
		return "" // one server: what discoh sends to every server goes to it, in the transaction
	}
	if localHandler(args[0]).run != nil && !txSafeLocal(args[0]) {
		return "ERR " + strings.ToUpper(string(args[0])) + " is not supported inside MULTI by discoh"
	}
	if s.cmd != nil && !routable(s.cmd) {
		return unsupported(args[0])
	}
	return ""
}

// txRefusal returns why args cannot join the transaction, or "".
func (s *Session) txRefusal(args [][]byte) string {
	cmd := s.cmd
	if cmd == nil {
		return unknown(args)
	}
	if !cmd.ArityOK(len(args)) {
		return wrongArity(cmd.Name)
	}
	keys, err := cmd.Keys(args, s.keys[:0])
	s.keys = keys
	switch {
	case err != nil:
		return err.Error()
	case s.r.pool.Replicas() > 1 && cmd.Flags&commands.Write != 0:
		return "ERR discoh: writes inside MULTI are not supported on pools with replicas > 1"
	case s.r.Dir != nil && anyCovered(s.r.Dir, args, keys):
		return "ERR discoh: coherent keys are not supported inside MULTI"
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

// txServerWide names the commands discoh sends to every server (or to the pub/sub server):
// in a pool of one server they may join a transaction there.
func txServerWide(name []byte) bool {
	switch strings.ToLower(string(name)) {
	case "publish", "spublish", "script", "function", "flushall", "flushdb", "keys", "dbsize", "randomkey":
		return true
	}
	return false
}

// txSafeLocal names the proxy-answered commands that mean the same on any server.
func txSafeLocal(name []byte) bool {
	switch strings.ToLower(string(name)) {
	case "ping", "echo", "time", "unwatch":
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
		if s.tx.live {
			if !s.txLost() {
				s.silently(s.tx.server, "DISCARD") // DISCARD also forgets the watched keys
			}
			s.watching = -1
		}
		s.tx = nil
		s.endWatch()
		s.queueSimple("OK")
	}
	return frontend.Continue
}

// errTxLost is the refusal of a command in a transaction whose connection failed: MULTI went
// with it, so nothing may be sent on another (it would run outside the transaction).
const errTxLost = "ERR discoh: the connection holding the transaction was lost; EXEC will abort"

// txLost reports whether the transaction runs on its server and the connection it runs on has
// failed.
func (s *Session) txLost() bool {
	if s.tx == nil || !s.tx.live {
		return false
	}
	p := s.pins[s.tx.server]
	return p == nil || p.Broken()
}

// silently sends a command on the session's connection to server, waits for its reply in
// order, and answers the client nothing.
func (s *Session) silently(server int, name string) {
	call := backends.NewCall()
	call.Req = resp.AppendCommand(call.Req, []byte(name))
	s.send(server, call)
	s.queue = append(s.queue, reply{call: call, silent: true})
}

// cmdExec sends MULTI, the queued commands and EXEC as one request, on the WATCH connection
// when there is one, and replies with EXEC's reply.
func cmdExec(s *Session, args [][]byte, _ []byte) frontend.Action {
	if !s.arity(args, 1, 1) {
		return frontend.Continue
	}
	tx, lost := s.tx, s.txLost()
	s.tx = nil
	switch {
	case tx == nil:
		s.queueError("ERR EXEC without MULTI")
	case lost:
		s.watching = -1
		s.queueError("EXECABORT Transaction discarded: the connection holding it was lost.")
	case tx.dirty:
		if tx.live {
			s.silently(tx.server, "DISCARD")
			s.watching = -1
		}
		s.endWatch()
		if tx.why != "" {
			s.queueError("EXECABORT Transaction discarded because of previous errors: " + strings.TrimPrefix(tx.why, "ERR "))
		} else {
			s.queueError("EXECABORT Transaction discarded because of previous errors.")
		}
	case s.watching >= 0 && s.pins[s.watching].Broken():
		s.watching = -1
		s.queueError("EXECABORT Transaction discarded: the connection holding WATCH state was lost.")
	case tx.live:
		call := backends.NewCall()
		call.Req = resp.AppendCommand(call.Req, []byte("EXEC"))
		call.Slow = true // a transaction may hold any number of commands
		s.send(tx.server, call)
		s.watching = -1 // EXEC ends WATCH
		s.queue = append(s.queue, reply{call: call})
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
	call.Slow = true                // a transaction may hold any number of commands
	s.send(max(tx.server, 0), call) // on the WATCH connection, when there is one
	s.watching = -1                 // EXEC ends WATCH
	s.queue = append(s.queue, reply{call: call, lastFrame: true})
}

// cmdWatch sends WATCH on a connection of the session's own to the keys' server: WATCH state
// lives on a connection, and the EXEC that follows must run on the same one.
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
	if !same || (s.watching >= 0 && s.watching != server) {
		s.queueError(errCrossSlot)
		return frontend.Continue
	}
	if s.watching == server && s.pins[server].Broken() {
		// The keys watched so far went with the connection: a new one would hide that from
		// EXEC, which must abort.
		s.queueError("ERR discoh: the connection holding WATCH state was lost; EXEC will abort (UNWATCH or DISCARD first)")
		return frontend.Continue
	}
	if err := s.pin(server); err != nil {
		s.queueError("ERR backend " + s.r.pool.Servers[server].String() + ": " + backends.Describe(err))
		return frontend.Continue
	}
	s.watching = server
	s.forward(server, raw, args)
	return frontend.Continue
}

// pin gives the session a connection of its own to server, replacing a broken one. It is kept
// for the session's life, so its later commands to that server stay in order behind the ones
// sent on it.
func (s *Session) pin(server int) error {
	if p := s.pins[server]; p != nil && !p.Broken() {
		return nil
	}
	p, err := s.r.pool.Servers[server].Pin(s.lane, s.r.pool.Timeout())
	if err != nil {
		return err
	}
	if s.pins == nil {
		s.pins = make(map[int]*backends.Pinned)
	}
	s.pins[server] = p
	return nil
}

func cmdUnwatch(s *Session, args [][]byte, _ []byte) frontend.Action {
	if s.arity(args, 1, 1) {
		s.endWatch()
		s.queueSimple("OK")
	}
	return frontend.Continue
}

// endWatch forgets the watched keys on the server, as DISCARD and UNWATCH do in Redis.
func (s *Session) endWatch() {
	if s.watching < 0 {
		return
	}
	call := backends.NewCall()
	call.Req = resp.AppendCommand(call.Req, []byte("UNWATCH"))
	s.send(s.watching, call)
	s.queue = append(s.queue, reply{call: call, silent: true})
	s.watching = -1
}

// closePins closes the session's own connections.
func (s *Session) closePins() {
	for i, p := range s.pins {
		p.Close()
		delete(s.pins, i)
	}
	s.watching = -1
}
