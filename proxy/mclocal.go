package proxy

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/mcproto"
)

// dispatchLocal answers the commands that concern no single key.
func (s *MemcacheSession) dispatchLocal(req *mcproto.Request) frontend.Action {
	switch req.Kind {
	case mcproto.Quit:
		return frontend.CloseAfter
	case mcproto.Version:
		s.queueLit(func(dst []byte) []byte {
			return append(dst, "VERSION "+memcachedCompatVersion+"-discoh-"+Version+"\r\n"...)
		})
	case mcproto.Verbosity:
		s.queueOK(req.Noreply)
	case mcproto.FlushAll:
		s.flushAll(req)
	case mcproto.Stats:
		s.queueLit(s.m.appendStats)
	default:
		s.queueLit(func(dst []byte) []byte { return append(dst, "ERROR\r\n"...) })
	}
	return frontend.Continue
}

func (s *MemcacheSession) queueOK(noreply bool) {
	if !noreply {
		s.queueLit(func(dst []byte) []byte { return append(dst, "OK\r\n"...) })
	}
}

// flushAll sends flush_all (with its delay) to every server. The client hears OK once all
// did, or the first failure.
func (s *MemcacheSession) flushAll(req *mcproto.Request) {
	line := []byte("flush_all")
	if req.Exptime != 0 {
		line = strconv.AppendInt(append(line, ' '), req.Exptime, 10)
	}
	line = append(line, "\r\n"...)
	g := &mcFanOut{}
	for i := range s.m.pool.Servers {
		call := backends.NewCall()
		call.Req = append(call.Req, line...)
		call.Kind = uint8(mcproto.FlushAll)
		s.send(i, call)
		g.calls = append(g.calls, call)
	}
	s.queue = append(s.queue, mcReply{fanOut: g, noreply: req.Noreply})
}

// mcFanOut is a command sent to every server; the first failure, if any, is the reply.
type mcFanOut struct {
	calls []*backends.Call
}

func (g *mcFanOut) finish(s *MemcacheSession, dst []byte, noreply bool) []byte {
	var failed []byte
	for _, call := range g.calls {
		call.Wait()
		if failed == nil && call.Err != nil {
			failed = s.appendBackendError(nil, call)
		} else if failed == nil && string(call.Reply) != "OK\r\n" {
			failed = append([]byte(nil), call.Reply...)
		}
		call.Release()
	}
	switch {
	case noreply:
		return dst
	case failed != nil:
		return append(dst, failed...)
	}
	return append(dst, "OK\r\n"...)
}

// appendStats writes discoh's own stats, named as memcached names them, and each server's.
func (m *Memcache) appendStats(dst []byte) []byte {
	now := time.Now()
	stat := func(name string, v any) { dst = fmt.Appendf(dst, "STAT %s %v\r\n", name, v) }
	stat("pid", os.Getpid())
	stat("uptime", int64(now.Sub(m.started).Seconds()))
	stat("time", now.Unix())
	stat("version", memcachedCompatVersion+"-discoh-"+Version)
	connected, total := clientCounts(m.Front)
	stat("curr_connections", connected)
	stat("total_connections", total)
	if m.Front != nil {
		stat("clients_moved_off_loops", m.Front.Moved.Load())
		stat("clients_back_on_loops", m.Front.Rejoined.Load())
	}
	stat("cmd_get", m.Stats.CmdGet.Load())
	stat("cmd_set", m.Stats.CmdSet.Load())
	stat("cmd_touch", m.Stats.CmdTouch.Load())
	stat("get_hits", m.Stats.GetHits.Load())
	stat("get_misses", m.Stats.GetMisses.Load())
	stat("backend_errors", m.Stats.BackendErrors.Load())
	stat("warm_copies", m.Stats.WarmCopies.Load())
	if m.Dir != nil {
		writeCoherenceStats(m.Dir.Stats(), func(name string, v int64) { stat(name, v) })
	}
	stat("replicas", m.pool.Replicas())
	for i, sv := range m.pool.Servers {
		prefix := "server" + strconv.Itoa(i) + "_"
		health, _, downs := sv.Health()
		stat(prefix+"name", sv.Name)
		stat(prefix+"addr", sv.Addr)
		stat(prefix+"health", health)
		stat(prefix+"connected", sv.Connected())
		stat(prefix+"requests", sv.Requests.Load())
		stat(prefix+"failures", sv.Failures.Load())
		stat(prefix+"downs", downs)
		stat(prefix+"replay_queue", sv.ReplayQueue())
	}
	return append(dst, "END\r\n"...)
}
