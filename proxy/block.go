package proxy

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/proxy/commands"
	"github.com/discoh/discoh/resp"
)

// isBlocking reports whether the command may wait on the server (BLPOP, BLMOVE, BZPOPMIN, XREAD
// BLOCK ...): such a command gets a connection of its own so it holds up no other client.
func isBlocking(cmd *commands.Command, args [][]byte) bool {
	if cmd.Flags&commands.Blocking == 0 {
		return false
	}
	if cmd.Name != "xread" && cmd.Name != "xreadgroup" {
		return true
	}
	for _, a := range args[1:] {
		if bytes.EqualFold(a, []byte("block")) {
			return true
		}
	}
	return false
}

// routeBlocking sends a blocking command on the session's own connection to the keys' server,
// written before the client's next request is read, so blocked clients queue at the server in
// the order discoh read their commands. The wait is watched: if the client hangs up, the connection is closed so the server cannot
// hand an element to a client that is gone.
func (s *Session) routeBlocking(args [][]byte, raw []byte, keys []int) {
	server, same := s.owner(args, keys)
	if !same {
		s.queueError(errCrossSlot)
		return
	}
	sv := s.r.pool.Servers[server]
	call := s.newCall(raw, args)
	p, err := sv.Block(s.blockers[sv], s.lane, call)
	if err != nil {
		call.Release()
		s.queueError("ERR backend " + sv.String() + ": " + err.Error())
		return
	}
	if s.blockers == nil {
		s.blockers = make(map[*backends.Server]*backends.Pinned)
	}
	s.blockers[sv] = p
	s.queue = append(s.queue, reply{call: call, blocking: true})
}

func (s *Session) closeBlockers() {
	for sv, p := range s.blockers {
		p.Close()
		delete(s.blockers, sv)
	}
}

// cmdSubscribe hands the client to the pool's pub/sub server: from here on the session relays
// bytes both ways (see Relay).
func cmdSubscribe(s *Session, args [][]byte, _ []byte) frontend.Action {
	if !s.arity(args, 2, -1) {
		return frontend.Continue
	}
	return frontend.Hijack
}

// Relay implements respserver.Session: it connects the subscribing client to the pub/sub
// server and relays until either side closes. Replies go back as the server sends them; of the
// client's requests only the ones Redis allows a subscriber pass, so no other command can reach
// a server that does not own its keys.
func (s *Session) Relay(client net.Conn, pending []byte) error {
	client.SetReadDeadline(time.Time{}) // a subscriber may stay silent for as long as it likes
	sv := s.r.pool.Servers[pubSubServer]
	server, err := sv.DialRaw(s.lane)
	if err != nil {
		client.Write(resp.AppendError(nil, "ERR backend "+sv.String()+": "+err.Error()))
		return err
	}
	var mu sync.Mutex // serialises writes to the client
	done := make(chan struct{})
	go func() {
		relayReplies(client, server, &mu)
		client.Close()
		close(done)
	}()
	relayRequests(client, server, pending, &mu)
	server.Close()
	<-done
	return nil
}

func relayReplies(client, server net.Conn, mu *sync.Mutex) {
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			mu.Lock()
			_, werr := client.Write(buf[:n])
			mu.Unlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// relayRequests forwards the subscriber's requests, refusing the ones a subscriber may not send.
func relayRequests(client, server net.Conn, buf []byte, mu *sync.Mutex) {
	var p resp.Parser
	buf = append(make([]byte, 0, max(len(buf), 4096)), buf...)
	for {
		n, args, _, err := p.Parse(buf, resp.Limits{})
		switch {
		case err != nil:
			mu.Lock()
			client.Write(resp.AppendError(nil, err.Error()))
			mu.Unlock()
			return
		case n > 0 && len(args) > 0 && !subscriberCommand(args[0]):
			mu.Lock()
			client.Write(resp.AppendError(nil, "ERR Can't execute '"+strings.ToLower(string(args[0]))+
				"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
			mu.Unlock()
		case n > 0:
			if _, err := server.Write(buf[:n]); err != nil {
				return
			}
		}
		if n > 0 {
			buf = buf[:copy(buf, buf[n:])]
			continue
		}
		if buf, err = readMore(client, buf); err != nil {
			return
		}
	}
}

func readMore(c net.Conn, buf []byte) ([]byte, error) {
	if len(buf) == cap(buf) {
		buf = append(buf, 0)[:len(buf)]
	}
	n, err := c.Read(buf[len(buf):cap(buf)])
	return buf[:len(buf)+n], err
}

func subscriberCommand(name []byte) bool {
	switch strings.ToLower(string(name)) {
	case "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe",
		"ping", "quit", "reset":
		return true
	}
	return false
}
