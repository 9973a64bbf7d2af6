package respserver

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/resp"
	"github.com/discoh/discoh/respserver/commands"
)

// cmdSubscribe hands the client to the pool's pub/sub server: from here on the session relays
// bytes both ways (see Relay) until the client leaves subscriber mode.
func cmdSubscribe(s *Session, args [][]byte, _ []byte) frontend.Action {
	if !s.arity(args, 2, -1) {
		return frontend.Continue
	}
	return frontend.Hijack
}

// cmdUnsubscribe answers (P|S)UNSUBSCRIBE outside subscriber mode as Redis does: one reply per
// channel named (or one with no channel), each counting 0 subscriptions left.
func cmdUnsubscribe(s *Session, args [][]byte, _ []byte) frontend.Action {
	kind := []byte(strings.ToLower(string(args[0])))
	s.queueLit(func(dst []byte) []byte {
		if len(args) == 1 {
			return s.appendUnsubscribed(dst, kind, nil)
		}
		for _, ch := range args[1:] {
			dst = s.appendUnsubscribed(dst, kind, ch)
		}
		return dst
	})
	return frontend.Continue
}

func (s *Session) appendUnsubscribed(dst, kind, ch []byte) []byte {
	if s.resp3() {
		dst = append(dst, ">3\r\n"...)
	} else {
		dst = resp.AppendArrayLen(dst, 3)
	}
	dst = resp.AppendBulk(dst, kind)
	if ch == nil {
		dst = resp.AppendNull(dst, s.resp3())
	} else {
		dst = resp.AppendBulk(dst, ch)
	}
	return resp.AppendInt(dst, 0)
}

// Relay implements frontend.Hijacker: it connects the subscribing client to the pool's pub/sub
// server and relays until either side closes, or until the client leaves subscriber mode (RESET,
// or unsubscribing from its last channel). Relay then returns what the client sent after, for
// the session to go on with, and closes the server connection: it was the client's alone.
func (s *Session) Relay(client net.Conn, pending []byte) ([]byte, error) {
	client.SetReadDeadline(time.Time{}) // a subscriber may stay silent for as long as it likes
	sv := s.r.pool.Servers[pubSubServer]
	server, err := sv.DialRaw(s.lane)
	if err != nil {
		return refuseFirst(client, pending, "ERR backend "+sv.String()+": "+backends.Describe(err))
	}
	r := newRelay(client, server)
	if s.resp3() {
		r.clientReply = s.relayedClientReply
	}
	go r.replies()
	rest, err := r.requests(pending)
	r.leaving.Store(err == nil)
	server.Close()
	<-r.done
	return rest, err
}

// refuseFirst answers the first request in pending with msg and returns the rest.
func refuseFirst(client net.Conn, pending []byte, msg string) ([]byte, error) {
	var p resp.Parser
	n, _, _, err := p.Parse(pending, resp.Limits{})
	if err != nil || n == 0 {
		return nil, errors.New("respserver: no request to refuse")
	}
	if _, err := client.Write(resp.AppendError(nil, msg)); err != nil {
		return nil, err
	}
	return bytes.Clone(pending[n:]), nil // pending is the client's read buffer, given back next
}

// errRelayEnded: the server side of a relay ended while its requests side waited on it.
var errRelayEnded = errors.New("respserver: pub/sub server connection ended")

// relay carries one subscriber's bytes between its client and the pub/sub server. Its requests
// side refuses what a subscriber may not send; its replies side follows the subscription
// counts in the server's replies. To know where the server's replies to a request end, the
// requests side sends a PING carrying a token of its own (a sync) and waits until the replies
// side has written everything before the PING's reply, which it swallows.
type relay struct {
	client, server net.Conn
	mu             sync.Mutex // serialises writes to the client

	marker []byte    // the sync PING
	token  []byte    // its argument and CRLF: how its reply ends
	synced chan bool // a sync's reply arrived; true while still subscribed
	done   chan struct{}

	leaving atomic.Bool // the requests side ended the relay: the server closing is no failure

	// clientReply answers CLIENT REPLY, which Redis lets a RESP3 subscriber send (nil for a
	// RESP2 one, who may not), and returns the reply to send, if any.
	clientReply func(mode string) []byte

	plain, shard int64 // subscriptions to channels and patterns, and to shard channels
	parts        [][]byte
}

func newRelay(client, server net.Conn) *relay {
	token := "discoh-sync-" + strconv.FormatUint(rand.Uint64(), 36)
	return &relay{
		client: client, server: server,
		marker: resp.AppendCommand(nil, []byte("PING"), []byte(token)),
		token:  []byte(token + "\r\n"),
		synced: make(chan bool, 1),
		done:   make(chan struct{}),
	}
}

// say writes a reply of discoh's own to the client.
func (r *relay) say(reply []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.client.Write(reply)
	return err
}

// requests forwards the subscriber's requests. It returns the bytes from where the client left
// subscriber mode on, with a nil error, or an error when either side ended.
func (r *relay) requests(pending []byte) ([]byte, error) {
	var p resp.Parser
	buf := append(make([]byte, 0, max(len(pending), 4096)), pending...)
	for {
		n, args, _, err := p.Parse(buf, resp.Limits{})
		switch {
		case err != nil:
			r.sync()
			r.say(resp.AppendError(nil, err.Error()))
			return nil, err
		case n == 0:
			if buf, err = readMore(r.client, buf); err != nil {
				return nil, err
			}
			continue
		}
		if len(args) > 0 {
			leave, before, err := r.request(args, buf[:n])
			if err != nil {
				return nil, err
			}
			if leave && before {
				return buf, nil
			}
			if leave {
				return buf[n:], nil
			}
		}
		buf = buf[:copy(buf, buf[n:])]
	}
}

// request handles one request. leave reports that the client left subscriber mode, before
// this request (RESET, which the session then answers) or after it (the last unsubscribe).
func (r *relay) request(args [][]byte, raw []byte) (leave, before bool, err error) {
	switch name := strings.ToLower(string(args[0])); name {
	case "reset":
		_, err := r.sync()
		return err == nil, true, err
	case "unsubscribe", "punsubscribe", "sunsubscribe":
		if _, err := r.server.Write(raw); err != nil {
			return false, false, err
		}
		subscribed, err := r.sync()
		return !subscribed && err == nil, false, err
	case "subscribe", "psubscribe", "ssubscribe", "ping", "quit":
		_, err := r.server.Write(raw)
		return false, false, err
	case "client":
		if r.clientReply != nil && len(args) == 3 && strings.EqualFold(string(args[1]), "reply") {
			if _, err := r.sync(); err != nil {
				return false, false, err
			}
			if reply := r.clientReply(strings.ToLower(string(args[2]))); len(reply) > 0 {
				return false, false, r.say(reply)
			}
			return false, false, nil
		}
		fallthrough
	default:
		if _, err := r.sync(); err != nil {
			return false, false, err
		}
		return false, false, r.say(resp.AppendError(nil, "ERR Can't execute '"+fullName(args)+
			"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
	}
}

// sync waits until every reply to what was sent before it has been written to the client, and
// reports whether the client is still subscribed to anything.
func (r *relay) sync() (subscribed bool, err error) {
	if _, err := r.server.Write(r.marker); err != nil {
		return false, err
	}
	select {
	case subscribed := <-r.synced:
		return subscribed, nil
	case <-r.done:
		return false, errRelayEnded
	}
}

// replies writes the server's replies to the client, all of a read's in one write, until the
// server connection ends. A server that goes away while the client still listens closes the
// client too, as Redis's going away would.
func (r *relay) replies() {
	defer close(r.done)
	var scanner resp.ReplyScanner
	buf, out := make([]byte, 0, 32<<10), make([]byte, 0, 32<<10)
	for {
		n, err := r.server.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		used, ferr := r.frames(&scanner, buf, &out)
		if werr := r.flushOut(&out); werr != nil || ferr != nil || err != nil {
			if !r.leaving.Load() {
				r.client.Close()
			}
			return
		}
		buf = buf[:copy(buf, buf[used:])]
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // a reply larger than the buffer
		}
	}
}

// frames moves the whole replies at the start of buf to out, following the subscription counts;
// at a sync's reply it writes out first and then tells the requests side.
func (r *relay) frames(scanner *resp.ReplyScanner, buf []byte, out *[]byte) (int, error) {
	used := 0
	for used < len(buf) {
		n, err := scanner.Scan(buf[used:])
		if err != nil || n == 0 {
			return used, err
		}
		frame := buf[used : used+n]
		used += n
		if r.isSync(frame) {
			if err := r.flushOut(out); err != nil {
				return used, err
			}
			r.synced <- r.plain > 0 || r.shard > 0
			continue
		}
		r.count(frame)
		*out = append(*out, frame...)
	}
	return used, nil
}

func (r *relay) flushOut(out *[]byte) error {
	if len(*out) == 0 {
		return nil
	}
	err := r.say(*out)
	*out = (*out)[:0]
	return err
}

// isSync reports whether frame is the reply to a sync PING: the bulk token, or, from a RESP2
// subscriber, the array ["pong", token].
func (r *relay) isSync(frame []byte) bool {
	return len(frame) < len(r.token)+24 && (frame[0] == '$' || frame[0] == '*') &&
		bytes.HasSuffix(frame, r.token)
}

// count follows the subscription counts that (un)subscribe replies carry.
func (r *relay) count(frame []byte) {
	parts, err := resp.SplitArray(frame, r.parts[:0])
	r.parts = parts[:0]
	if err != nil || len(parts) != 3 {
		return
	}
	kind, _, err := resp.ParseBulk(parts[0])
	if err != nil {
		return
	}
	n, err := resp.ParseInt(parts[2])
	if err != nil {
		return
	}
	switch string(kind) {
	case "subscribe", "unsubscribe", "psubscribe", "punsubscribe":
		r.plain = n
	case "ssubscribe", "sunsubscribe":
		r.shard = n
	}
}

func readMore(c net.Conn, buf []byte) ([]byte, error) {
	if len(buf) == cap(buf) {
		buf = append(buf, 0)[:len(buf)]
	}
	n, err := c.Read(buf[len(buf):cap(buf)])
	return buf[:len(buf)+n], err
}

// relayedClientReply applies CLIENT REPLY sent while subscribed (RESP3): it holds once the
// client leaves subscriber mode; meanwhile only pub/sub messages and replies reach the client,
// which CLIENT REPLY never silences.
func (s *Session) relayedClientReply(mode string) []byte {
	switch {
	case !s.setClientReply(mode):
		return resp.AppendError(nil, "ERR syntax error")
	case mode == "on":
		return resp.AppendSimple(nil, "OK")
	}
	return nil
}

// fullName names a command as Redis does in errors: "get", or "client|reply" for a subcommand.
func fullName(args [][]byte) string {
	if cmd := commands.Lookup(args); cmd != nil {
		return cmd.Name
	}
	return strings.ToLower(string(args[0]))
}
