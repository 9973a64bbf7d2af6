package mcserver

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/proxy"
)

// A client that asks discoh for stats means the cache it talks to, which is the whole pool:
// plain stats sums the servers' counters (curr_items, get_hits, ...) beside discoh's own.
// Sub-commands whose numbers do not add up (slabs, items, settings) are answered per server.

// statsPerServer are the sub-commands answered with every server's reply, its STAT names
// prefixed with the server's name. memcached frames each of their replies as lines up to END,
// or one line (OK, an error). Others that memcached knows (sizes_enable, sizes_disable) reply
// with neither, so they are not forwarded; they are refused as memcached refuses a sub-command
// it does not know.
var statsPerServer = map[string]bool{"settings": true, "items": true, "slabs": true,
	"sizes": true, "conns": true, "detail": true, "cachedump": true, "extstore": true}

// notSummed are memcached's integer stats that describe one process rather than count
// anything: a sum of them means nothing. discoh reports its own pid, uptime and time.
var notSummed = map[string]bool{"pid": true, "uptime": true, "time": true, "pointer_size": true,
	"hash_power_level": true, "hash_is_expanding": true, "accepting_conns": true,
	"slab_reassign_running": true, "lru_crawler_running": true}

// stats answers stats and its sub-commands as memcached 1.6 does.
func (s *Session) stats(req *mcproto.Request) {
	var sub string
	if len(req.Args) > 0 {
		sub = string(req.Args[0])
	}
	switch {
	case sub == "":
		s.fanOut([]byte("stats\r\n"), mcproto.Stats, s.sumStats, false)
	case sub == "reset":
		// memcached ignores what follows reset, noreply included: it always answers RESET.
		s.m.Stats.reset()
		s.fanOut([]byte("stats reset\r\n"), mcproto.Stats, s.allSay("RESET\r\n"), false)
	case statsPerServer[sub]:
		s.fanOut(appendStatsLine(nil, req.Args), mcproto.Stats, s.perServerStats, false)
	default:
		// memcached's reply to a sub-command it does not know; "stats noreply" is one, as
		// stats takes no noreply.
		s.queueLit(func(dst []byte) []byte { return append(dst, "ERROR\r\n"...) })
	}
}

// appendStatsLine re-encodes a stats request with its arguments.
func appendStatsLine(dst []byte, args [][]byte) []byte {
	dst = append(dst, "stats"...)
	for _, a := range args {
		dst = append(append(dst, ' '), a...)
	}
	return append(dst, "\r\n"...)
}

// sumStats answers plain stats. A server that failed, or did not answer with stats, is left out
// of the sums; servers_summed says how many are in.
func (s *Session) sumStats(dst []byte, calls []*backends.Call) []byte {
	sums := statSums{index: map[string]int{}}
	for _, call := range calls {
		if call.Err == nil && mcproto.IsStatsList(call.Reply) {
			sums.add(call.Reply)
		}
	}
	return s.m.appendStats(dst, &sums)
}

// statSums adds up the servers' integer stats, in the order they list them.
type statSums struct {
	names   []string
	values  []uint64
	index   map[string]int
	servers int
}

func (t *statSums) add(reply []byte) {
	t.servers++
	for line := range bytes.Lines(reply) {
		name, value, ok := mcproto.ParseStat(line)
		if !ok || notSummed[string(name)] {
			continue
		}
		v, err := strconv.ParseUint(string(value), 10, 64)
		if err != nil {
			continue // version, rusage_user, ...: not a count
		}
		i, seen := t.index[string(name)]
		if !seen {
			i = len(t.names)
			t.index[string(name)] = i
			t.names, t.values = append(t.names, string(name)), append(t.values, 0)
		}
		t.values[i] += v
	}
}

// perServerStats answers a stats sub-command with every server's lines, STAT names prefixed
// with the server's name ("STAT m1:items:1:number 5"), under one END. Servers that failed
// are left out. A one-line reply (OK, or a refusal such as a bad cachedump's CLIENT_ERROR)
// is passed on from the first server that gave it: every server runs the same memcached.
func (s *Session) perServerStats(dst []byte, calls []*backends.Call) []byte {
	answered := false
	for _, call := range calls {
		switch {
		case call.Err != nil:
		case !mcproto.IsStatsList(call.Reply):
			return append(dst, call.Reply...)
		default:
			answered = true
		}
	}
	if !answered && len(calls) > 0 {
		return s.appendBackendError(dst, calls[0]) // every server failed
	}
	for _, call := range calls {
		if call.Err == nil {
			dst = appendPrefixed(dst, serverName(call.Server), call.Reply)
		}
	}
	return mcproto.AppendEnd(dst)
}

// appendPrefixed appends a stats reply's lines but its END, prefixing STAT names with server.
// Other lines (cachedump's ITEM, detail dump's PREFIX) name keys, which say their server.
func appendPrefixed(dst []byte, server string, reply []byte) []byte {
	for line := range bytes.Lines(reply) {
		rest, isStat := bytes.CutPrefix(line, []byte("STAT "))
		switch {
		case string(line) == "END\r\n":
		case isStat:
			dst = append(append(append(dst, "STAT "...), server...), ':')
			dst = append(dst, rest...)
		default:
			dst = append(dst, line...)
		}
	}
	return dst
}

func serverName(sv *backends.Server) string {
	if sv.Name == "" {
		return sv.Addr
	}
	return sv.Name
}

// appendStats writes plain stats: discoh's identity, the servers' counters summed, and
// discoh's own counters and each server's state. discoh's own counters that memcached names
// too take a discoh_ prefix, as the plain names hold the servers' sums.
func (m *Memcache) appendStats(dst []byte, sums *statSums) []byte {
	now := time.Now()
	stat := func(name string, v any) { dst = fmt.Appendf(dst, "STAT %s %v\r\n", name, v) }
	stat("pid", os.Getpid())
	stat("uptime", int64(now.Sub(m.started).Seconds()))
	stat("time", now.Unix())
	stat("version", memcachedCompatVersion+"-discoh-"+proxy.Version)
	for i, name := range sums.names {
		dst = mcproto.AppendStat(dst, name, sums.values[i])
	}
	stat("servers_summed", sums.servers)
	connected, total := m.Front.Counts()
	stat("discoh_curr_connections", connected)
	stat("discoh_total_connections", total)
	if m.Front != nil {
		stat("clients_moved_off_loops", m.Front.Moved.Load())
		stat("clients_back_on_loops", m.Front.Rejoined.Load())
	}
	stat("discoh_cmd_get", m.Stats.CmdGet.Load())
	stat("discoh_cmd_set", m.Stats.CmdSet.Load())
	stat("discoh_cmd_touch", m.Stats.CmdTouch.Load())
	stat("discoh_get_hits", m.Stats.GetHits.Load())
	stat("discoh_get_misses", m.Stats.GetMisses.Load())
	stat("backend_errors", m.Stats.BackendErrors.Load())
	stat("warm_copies", m.Stats.WarmCopies.Load())
	if m.Dir != nil {
		proxy.WriteCoherenceStats(m.Dir.Stats(), func(name string, v int64) { stat(name, v) })
	}
	stat("replicas", m.pool.Replicas())
	for i, sv := range m.pool.Servers {
		m.appendServerState(stat, "server"+strconv.Itoa(i)+"_", sv)
	}
	return mcproto.AppendEnd(dst)
}

// appendServerState writes one server's state, its names prefixed.
func (m *Memcache) appendServerState(stat func(string, any), prefix string, sv *backends.Server) {
	health, _, downs := sv.Health()
	stat(prefix+"name", sv.Name)
	stat(prefix+"addr", sv.Addr)
	stat(prefix+"health", health)
	stat(prefix+"connected", sv.Connected())
	stat(prefix+"requests", sv.Requests.Load())
	stat(prefix+"failures", sv.Failures.Load())
	stat(prefix+"downs", downs)
	stat(prefix+"replay_queue", sv.ReplayQueue())
	stat(prefix+"replay_overflowed", proxy.BoolInt(sv.ReplayOverflowed()))
	stat(prefix+"recopied", sv.Recopied())
}
