package respserver

import (
	"strconv"
	"strings"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
)

// handler answers a command in the proxy, or routes it in a way of its own.
type handler func(s *Session, args [][]byte, raw []byte) frontend.Action

// local is a command the proxy answers or routes itself. mayBlock marks those that wait, dial a
// connection or take the client over: an event loop does not run them (see Session.mayBlock).
type local struct {
	run      handler
	mayBlock bool
}

var localHandlers map[string]local

func init() {
	localHandlers = map[string]local{
		"ping": {run: cmdPing}, "echo": {run: cmdEcho}, "quit": {run: cmdQuit},
		"hello": {run: cmdHello}, "auth": {run: cmdAuth}, "select": {run: cmdSelect},
		"time": {run: cmdTime}, "client": {run: cmdClient}, "info": {run: cmdInfo},
		"command": {run: cmdCommand},
		"dbsize":  {run: cmdFanOut(mergeSum)}, "flushall": {run: cmdFanOut(mergeOK)},
		"flushdb": {run: cmdFanOut(mergeOK)}, "keys": {run: cmdFanOut(mergeConcat)},
		"scan":    {run: cmdScan},
		"publish": {run: cmdPubSubServer}, "spublish": {run: cmdPubSubServer},
		"pubsub": {run: cmdPubSubServer},

		"reset": {cmdReset, true}, "multi": {cmdMulti, true}, "exec": {cmdExec, true},
		"discard": {cmdDiscard, true}, "watch": {cmdWatch, true}, "unwatch": {cmdUnwatch, true},
		"subscribe": {cmdSubscribe, true}, "psubscribe": {cmdSubscribe, true},
		"ssubscribe": {cmdSubscribe, true}, "discoh": {cmdDiscoh, true},
		"unsubscribe": {run: cmdUnsubscribe}, "punsubscribe": {run: cmdUnsubscribe},
		"sunsubscribe": {run: cmdUnsubscribe},
		"move":         {run: refuse(errOnlyDB0("MOVE"))}, "swapdb": {run: refuse(errOnlyDB0("SWAPDB"))},
		"migrate": {run: refuse("ERR MIGRATE is not supported: discoh does not let clients make servers connect elsewhere")},
		"copy":    {run: cmdCopy},
		"script":  {run: cmdScript}, "function": {run: cmdFunction}, "randomkey": {run: cmdRandomKey},
	}
}

// localHandler finds the proxy's own handler for a command name, case-insensitively, without
// allocating; its run is nil when the proxy has none.
func localHandler(name []byte) local {
	var buf [16]byte
	if len(name) > len(buf) {
		return local{}
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return localHandlers[string(buf[:len(name)])]
}

// arity queues Redis's arity error when args has fewer than least or more than most elements
// (most < 0: no upper bound) and reports whether it was fine.
func (s *Session) arity(args [][]byte, least, most int) bool {
	if len(args) < least || (most >= 0 && len(args) > most) {
		s.queueError(wrongArity(arityName(s.cmd, args)))
		return false
	}
	return true
}

func cmdPing(s *Session, args [][]byte, _ []byte) frontend.Action {
	if !s.arity(args, 1, 2) {
		return frontend.Continue
	}
	if len(args) == 2 {
		s.queueLit(func(dst []byte) []byte { return resp.AppendBulk(dst, args[1]) })
	} else {
		s.queueSimple("PONG")
	}
	return frontend.Continue
}

func cmdEcho(s *Session, args [][]byte, _ []byte) frontend.Action {
	if s.arity(args, 2, 2) {
		s.queueLit(func(dst []byte) []byte { return resp.AppendBulk(dst, args[1]) })
	}
	return frontend.Continue
}

func cmdQuit(s *Session, _ [][]byte, _ []byte) frontend.Action {
	s.queueSimple("OK")
	return frontend.CloseAfter
}

// cmdAuth answers as a Redis whose default user has no password: AUTH default <anything>
// succeeds, so clients configured with a password connect; the one-argument form is refused
// in Redis's words. discoh has no client authentication of its own yet.
func cmdAuth(s *Session, args [][]byte, _ []byte) frontend.Action {
	switch {
	case !s.arity(args, 2, 3):
	case len(args) == 3 && string(args[1]) == "default":
		s.queueSimple("OK")
	case len(args) == 3:
		s.queueError("WRONGPASS invalid username-password pair or user is disabled.")
	default:
		s.queueError(errAuthNoPassword)
	}
	return frontend.Continue
}

const errAuthNoPassword = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"

func cmdSelect(s *Session, args [][]byte, _ []byte) frontend.Action {
	switch {
	case !s.arity(args, 2, 2):
	case string(args[1]) == "0":
		s.queueSimple("OK")
	default:
		s.queueError("ERR DB index is out of range (discoh serves only DB 0)")
	}
	return frontend.Continue
}

func cmdTime(s *Session, args [][]byte, _ []byte) frontend.Action {
	if !s.arity(args, 1, 1) {
		return frontend.Continue
	}
	now := time.Now()
	s.queueLit(func(dst []byte) []byte {
		dst = resp.AppendArrayLen(dst, 2)
		dst = resp.AppendBulkString(dst, strconv.FormatInt(now.Unix(), 10))
		return resp.AppendBulkString(dst, strconv.Itoa(now.Nanosecond()/1000))
	})
	return frontend.Continue
}

func cmdReset(s *Session, _ [][]byte, _ []byte) frontend.Action {
	s.tx, s.name, s.lane, s.replyOff, s.skipping = nil, "", backends.LaneRESP2, false, false
	s.closeBlockers()
	s.closePins()
	s.queueSimple("RESET")
	return frontend.Continue
}

// cmdHello switches the protocol version and answers with the server's description.
func cmdHello(s *Session, args [][]byte, _ []byte) frontend.Action {
	lane := s.lane
	if len(args) >= 2 {
		switch string(args[1]) {
		case "2":
			lane = backends.LaneRESP2
		case "3":
			lane = backends.LaneRESP3
		default:
			s.queueError("NOPROTO unsupported protocol version")
			return frontend.Continue
		}
	}
	for i := 2; i < len(args); i++ {
		switch strings.ToLower(string(args[i])) {
		case "auth":
			if i+2 >= len(args) || string(args[i+1]) != "default" {
				s.queueError("WRONGPASS invalid username-password pair or user is disabled.")
				return frontend.Continue
			}
			i += 2
		case "setname":
			if i+1 >= len(args) {
				s.queueError("ERR Syntax error in HELLO option 'setname'")
				return frontend.Continue
			}
			i++
			if !validClientName(args[i]) {
				s.queueError(errClientName)
				return frontend.Continue
			}
			s.name = string(args[i])
		default:
			s.queueError("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
			return frontend.Continue
		}
	}
	if lane != s.lane {
		s.closeBlockers()
		s.closePins()
		s.lane = lane
	}
	s.queueLit(s.appendHello)
	return frontend.Continue
}

func (s *Session) appendHello(dst []byte) []byte {
	proto := int64(2)
	if s.resp3() {
		proto = 3
	}
	dst = resp.AppendMapLen(dst, 8, s.resp3())
	dst = appendField(dst, "server", "redis")
	dst = appendField(dst, "version", redisCompatVersion)
	dst = resp.AppendInt(resp.AppendBulkString(dst, "proto"), proto)
	dst = resp.AppendInt(resp.AppendBulkString(dst, "id"), int64(s.id))
	dst = appendField(dst, "mode", "standalone")
	dst = appendField(dst, "role", "master")
	dst = resp.AppendArrayLen(resp.AppendBulkString(dst, "modules"), 0)
	return appendField(dst, "proxy", "discoh "+proxy.Version)
}

func appendField(dst []byte, name, value string) []byte {
	return resp.AppendBulkString(resp.AppendBulkString(dst, name), value)
}

const errClientName = "ERR Client names cannot contain spaces, newlines or special characters."

// validClientName reports whether name may name a client, as Redis decides: printable ASCII
// other than space ('!' to '~'), or empty.
func validClientName(name []byte) bool {
	for _, c := range name {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// cmdClient answers the CLIENT subcommands that concern this client alone.
func cmdClient(s *Session, args [][]byte, _ []byte) frontend.Action {
	if !s.arity(args, 2, -1) {
		return frontend.Continue
	}
	switch sub := strings.ToLower(string(args[1])); {
	case sub == "id" && len(args) == 2:
		s.queueLit(func(dst []byte) []byte { return resp.AppendInt(dst, int64(s.id)) })
	case sub == "getname" && len(args) == 2:
		s.queueLit(s.appendName)
	case sub == "setname" && len(args) == 3:
		if !validClientName(args[2]) {
			s.queueError(errClientName)
		} else {
			s.name = string(args[2])
			s.queueSimple("OK")
		}
	case sub == "setinfo" && len(args) == 4:
		s.queueSimple("OK")
	case sub == "reply" && len(args) == 3:
		switch mode := strings.ToLower(string(args[2])); {
		case !s.setClientReply(mode):
			s.queueError("ERR syntax error")
		case mode == "on":
			s.queueSimple("OK")
		}
	case s.cmd == nil:
		s.queueError(unknownSub(args))
	default:
		s.queueError("ERR unsupported command 'CLIENT " + strings.ToUpper(sub) + "'")
	}
	return frontend.Continue
}

// setClientReply switches the client's replies on, off, or off for the next command, as CLIENT
// REPLY mode does (only ON is answered), and reports false for a mode that is none of these.
// Pub/sub messages and subscription replies still reach a subscriber, as with Redis.
func (s *Session) setClientReply(mode string) bool {
	switch mode {
	case "on":
		s.replyOff, s.skipping = false, false
	case "off":
		s.replyOff = true
	case "skip":
		s.skipping = !s.replyOff
	default:
		return false
	}
	return true
}

func (s *Session) appendName(dst []byte) []byte {
	if s.name == "" {
		return resp.AppendNull(dst, s.resp3())
	}
	return resp.AppendBulkString(dst, s.name)
}

// cmdCommand forwards COMMAND and its subcommands to the first server: the servers run the
// Redis that discoh routes for, so their answer describes the commands it accepts.
func cmdCommand(s *Session, args [][]byte, raw []byte) frontend.Action {
	s.forward(0, raw, args)
	return frontend.Continue
}

// cmdPubSubServer sends publishing and PUBSUB queries to the pool's pub/sub server, where
// every subscriber of the pool is connected.
func cmdPubSubServer(s *Session, args [][]byte, raw []byte) frontend.Action {
	if s.arity(args, 2, -1) {
		s.forward(pubSubServer, raw, args)
	}
	return frontend.Continue
}

// pubSubServer is the server of a pool where publishers and subscribers meet.
const pubSubServer = 0

// refuse answers a command discoh does not offer with msg.
func refuse(msg string) handler {
	return func(s *Session, _ [][]byte, _ []byte) frontend.Action {
		s.queueError(msg)
		return frontend.Continue
	}
}

// errOnlyDB0 refuses a command that would move data to a database discoh never reads.
func errOnlyDB0(what string) string {
	return "ERR " + what + " is not supported: discoh serves only DB 0"
}

// cmdCopy routes COPY as any keyed command, unless it names a database other than 0 (one
// that is no number is left to the server to refuse).
func cmdCopy(s *Session, args [][]byte, raw []byte) frontend.Action {
	for i := 3; i+1 < len(args); i++ {
		if !strings.EqualFold(string(args[i]), "db") {
			continue
		}
		if db, err := strconv.ParseInt(string(args[i+1]), 10, 64); err == nil && db != 0 {
			s.queueError(errOnlyDB0("COPY ... DB"))
			return frontend.Continue
		}
	}
	if s.check(s.cmd, args) {
		s.route(s.cmd, args, raw)
	}
	return frontend.Continue
}
