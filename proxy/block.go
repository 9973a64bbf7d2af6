package proxy

import (
	"bytes"
	"io"
	"net"

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

// routeBlocking sends a blocking command on the session's own connection to the keys' server.
// The wait is watched: if the client hangs up, the connection is closed so the server cannot
// hand an element to a client that is gone.
func (s *Session) routeBlocking(args [][]byte, raw []byte, keys []int) {
	server, same := s.owner(args, keys)
	if !same {
		s.queueError(errCrossSlot)
		return
	}
	sv := s.r.pool.Servers[server]
	p := s.blockers[sv]
	if p == nil {
		var err error
		if p, err = sv.Pin(s.lane, 0); err != nil {
			s.queueError("ERR backend " + sv.String() + ": " + err.Error())
			return
		}
		if s.blockers == nil {
			s.blockers = make(map[*backends.Server]*backends.Pinned)
		}
		s.blockers[sv] = p
	}
	call := s.newCall(raw, args)
	p.Send(call)
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
// server and copies bytes both ways until either side closes.
func (s *Session) Relay(client net.Conn, pending []byte) error {
	sv := s.r.pool.Servers[pubSubServer]
	server, err := sv.DialRaw(s.lane)
	if err != nil {
		msg := resp.AppendError(nil, "ERR backend "+sv.String()+": "+err.Error())
		client.Write(msg)
		return err
	}
	defer server.Close()
	if _, err := server.Write(pending); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		io.Copy(client, server)
		client.Close()
		close(done)
	}()
	io.Copy(server, client)
	server.Close()
	<-done
	return nil
}
