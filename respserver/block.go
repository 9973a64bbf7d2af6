package respserver

import (
	"bytes"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/respserver/commands"
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
		s.queueError("ERR backend " + sv.String() + ": " + backends.Describe(err))
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
