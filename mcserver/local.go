package mcserver

import (
	"strconv"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/proxy"
)

// dispatchLocal answers the commands that concern no single key.
func (s *Session) dispatchLocal(req *mcproto.Request) frontend.Action {
	switch req.Kind {
	case mcproto.Quit:
		return frontend.CloseAfter
	case mcproto.Version:
		s.queueLit(func(dst []byte) []byte {
			return append(dst, "VERSION "+memcachedCompatVersion+"-discoh-"+proxy.Version+"\r\n"...)
		})
	case mcproto.Verbosity:
		s.queueOK(req.Noreply)
	case mcproto.FlushAll:
		s.flushAll(req)
	case mcproto.Stats:
		s.stats(req)
	case mcproto.Discoh:
		s.discoh(req)
	default:
		s.queueLit(func(dst []byte) []byte { return append(dst, "ERROR\r\n"...) })
	}
	return frontend.Continue
}

func (s *Session) queueOK(noreply bool) {
	if !noreply {
		s.queueLit(func(dst []byte) []byte { return append(dst, "OK\r\n"...) })
	}
}

// flushAll sends flush_all (with its delay) to every server. The client hears OK once all
// did, or the first failure.
func (s *Session) flushAll(req *mcproto.Request) {
	line := []byte("flush_all")
	if req.Exptime != 0 {
		line = strconv.AppendInt(append(line, ' '), req.Exptime, 10)
	}
	line = append(line, "\r\n"...)
	s.fanOut(line, mcproto.FlushAll, s.allSay("OK\r\n"), req.Noreply)
}

// fanOut sends line to every server and queues the reply merge makes of theirs.
func (s *Session) fanOut(line []byte, kind mcproto.Kind, merge mcMerge, noreply bool) {
	g := &mcFanOut{merge: merge}
	for i := range s.m.pool.Servers {
		g.calls = append(g.calls, s.sendEncoded(i, line, kind, false))
	}
	s.queue = append(s.queue, mcReply{fanOut: g, noreply: noreply})
}

// mcFanOut is a command sent to every server.
type mcFanOut struct {
	calls []*backends.Call
	merge mcMerge
}

// mcMerge appends the client's reply to a fanned-out command, once every call is in.
type mcMerge func(dst []byte, calls []*backends.Call) []byte

func (g *mcFanOut) finish(dst []byte, noreply bool) []byte {
	for _, call := range g.calls {
		call.Wait()
	}
	n := len(dst)
	dst = g.merge(dst, g.calls) // even for noreply: a failure is counted
	for _, call := range g.calls {
		call.Release()
	}
	if noreply {
		return dst[:n]
	}
	return dst
}

// allSay merges the replies of a command every server answers alike: the first failure, or ok.
func (s *Session) allSay(ok string) mcMerge {
	return func(dst []byte, calls []*backends.Call) []byte {
		for _, call := range calls {
			switch {
			case call.Err != nil:
				return s.appendBackendError(dst, call)
			case string(call.Reply) != ok:
				return append(dst, call.Reply...)
			}
		}
		return append(dst, ok...)
	}
}
