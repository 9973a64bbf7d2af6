package respserver

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
)

// A client that asks discoh for INFO means the cache it talks to, which is the whole pool, as
// tools read it (redis-cli --stat, exporters): memory, keyspace and the servers' hit counters
// are the servers' figures summed, next to discoh's own sections. A server that is down or does
// not answer in the pool's timeout is left out of the sums, and the sections say how many are in.

// cmdInfo answers INFO [section ...]. When a section that sums the servers' figures is wanted,
// every server is asked for its INFO at once, each call bounded by the pool's timeout.
func cmdInfo(s *Session, args [][]byte, _ []byte) frontend.Action {
	want := make([]string, len(args)-1) // args point into the client's input, reused after dispatch
	for i, a := range args[1:] {
		want[i] = strings.ToLower(string(a))
	}
	if !wantsServers(want) {
		text := s.r.info(want, nil)
		s.queueLit(func(dst []byte) []byte { return resp.AppendBulkString(dst, text) })
		return frontend.Continue
	}
	sp := newSplit(func(s *Session, sp *split, replies [][]byte, dst []byte) []byte {
		return resp.AppendBulkString(dst, s.r.info(want, sumServers(sp.calls)))
	})
	sp.partial = true
	for _, sv := range s.r.pool.Servers {
		call := backends.NewCall()
		call.Req = resp.AppendCommand(call.Req, []byte("INFO")) // every Redis version's default sections
		sv.Send(call, backends.LaneRESP2, s.id)                 // RESP2: a bulk string whatever the client speaks
		sp.calls = append(sp.calls, call)
	}
	s.queue = append(s.queue, reply{split: sp})
	return frontend.Continue
}

// infoSections are discoh's sections in Redis's order; summed ones need the servers' INFO.
var infoSections = []struct {
	name   string
	summed bool
	write  func(r *Redis, b *strings.Builder, p *poolInfo)
}{
	{"server", false, (*Redis).infoServer},
	{"clients", false, (*Redis).infoClients},
	{"memory", true, (*Redis).infoMemory},
	{"persistence", true, (*Redis).infoPersistence},
	{"stats", true, (*Redis).infoStats},
	{"servers", false, (*Redis).infoServers},
	{"coherence", false, (*Redis).infoCoherence},
	{"keyspace", true, (*Redis).infoKeyspace},
}

// info writes the wanted sections; p holds the servers' figures when a summed section is wanted.
func (r *Redis) info(want []string, p *poolInfo) string {
	var b strings.Builder
	for _, sec := range infoSections {
		if !wanted(sec.name, want) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "# %s\r\n", strings.ToUpper(sec.name[:1])+sec.name[1:])
		sec.write(r, &b, p)
	}
	return b.String()
}

// wanted reports whether INFO with the (lowercased) arguments want lists section. As with Redis,
// no argument, all, everything and default all mean every section discoh has (none of them is
// left out of default), and a name Redis or discoh does not know is ignored.
func wanted(section string, want []string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		switch w {
		case section, "all", "everything", "default":
			return true
		}
	}
	return false
}

func wantsServers(want []string) bool {
	for _, sec := range infoSections {
		if sec.summed && wanted(sec.name, want) {
			return true
		}
	}
	return false
}

func (r *Redis) infoServer(b *strings.Builder, _ *poolInfo) {
	up := time.Since(r.started)
	fmt.Fprintf(b, "discoh_version:%s\r\nredis_version:%s\r\nredis_mode:standalone\r\n", proxy.Version, redisCompatVersion)
	fmt.Fprintf(b, "os:%s %s\r\ngo_version:%s\r\nprocess_id:%d\r\n", runtime.GOOS, runtime.GOARCH, runtime.Version(), os.Getpid())
	fmt.Fprintf(b, "pool:%s\r\nlisten:%s\r\n", r.Pool, r.Listen)
	fmt.Fprintf(b, "uptime_in_seconds:%d\r\nuptime_in_days:%d\r\n", int64(up.Seconds()), int64(up.Hours()/24))
}

// infoClients counts discoh's own clients: connected_clients those connected now,
// blocked_clients those waiting for a blocking command's reply (BLPOP, XREAD BLOCK, ...).
func (r *Redis) infoClients(b *strings.Builder, _ *poolInfo) {
	connected, _ := r.Front.Counts()
	fmt.Fprintf(b, "connected_clients:%d\r\n", connected)
	fmt.Fprintf(b, "blocked_clients:%d\r\n", r.Stats.Blocked.Load())
	if r.Front != nil {
		fmt.Fprintf(b, "clients_moved_off_loops:%d\r\nclients_back_on_loops:%d\r\n",
			r.Front.Moved.Load(), r.Front.Rejoined.Load())
	}
}

// infoMemory sums the servers' memory figures. redis-cli --stat reads the first used_memory in
// the text, so no line before used_memory:N may contain that name (the closing comment comes
// after it).
func (r *Redis) infoMemory(b *strings.Builder, p *poolInfo) {
	if p.maxmemoryUnset {
		p.memory.zero("maxmemory")
	}
	p.memory.write(b)
	p.writeSummed(b, "The figures above")
}

// infoPersistence sums the servers' persistence figures: a flag such as
// aof_rewrite_in_progress is then the number of servers where it is set.
func (r *Redis) infoPersistence(b *strings.Builder, p *poolInfo) {
	p.persistence.write(b)
	p.writeSummed(b, "flags and counts")
}

// infoStats reports discoh's own counters, then the servers' keyspace_hits and friends summed.
func (r *Redis) infoStats(b *strings.Builder, p *poolInfo) {
	_, total := r.Front.Counts()
	commands := r.Stats.Commands.Load()
	fmt.Fprintf(b, "total_connections_received:%d\r\n", total)
	fmt.Fprintf(b, "total_commands_processed:%d\r\n", commands)
	fmt.Fprintf(b, "instantaneous_ops_per_sec:%d\r\n", r.Stats.ops.sample(time.Now(), r.started, commands))
	fmt.Fprintf(b, "total_error_replies:%d\r\n", r.Stats.Errors.Load())
	fmt.Fprintf(b, "backend_errors:%d\r\n", r.Stats.Backend.Load())
	fmt.Fprintf(b, "warm_copies:%d\r\n", r.Stats.WarmCopies.Load())
	p.stats.write(b)
	p.writeSummed(b, "keyspace hits, keyspace misses, expired keys and evicted keys")
}

// infoServers lists each server as server<i>:name=...,addr=...,health=...,connected=...,
// requests=...,failures=...,downs=...,replay_queue=...,recopied=... (keys copied back to it
// after it came back restarted or empty),replay_overflowed=0|1 (the queue overflowed: the
// server is repaired by listing its keys on its return)
func (r *Redis) infoServers(b *strings.Builder, _ *poolInfo) {
	fmt.Fprintf(b, "replicas:%d\r\n", r.pool.Replicas())
	for i, sv := range r.pool.Servers {
		health, _, downs := sv.Health()
		fmt.Fprintf(b, "server%d:name=%s,addr=%s,health=%s,connected=%v,requests=%d,failures=%d,downs=%d,replay_queue=%d,recopied=%d,replay_overflowed=%d\r\n",
			i, sv.Name, sv.Addr, health, sv.Connected(), sv.Requests.Load(), sv.Failures.Load(), downs, sv.ReplayQueue(),
			sv.Recopied(), proxy.BoolInt(sv.ReplayOverflowed()))
	}
}

// infoCoherence reports the coherence directory's counters.
func (r *Redis) infoCoherence(b *strings.Builder, _ *poolInfo) {
	if r.Dir == nil {
		b.WriteString("coherence:off\r\n")
		return
	}
	proxy.WriteCoherenceStats(r.Dir.Stats(), func(name string, v int64) { fmt.Fprintf(b, "%s:%d\r\n", name, v) })
}

// infoKeyspace writes db0 (the only database discoh serves) summed over the servers, or, as
// Redis does for an empty database, no db line. Other databases on the servers are not shown.
func (r *Redis) infoKeyspace(b *strings.Builder, p *poolInfo) {
	if p.keys > 0 {
		fmt.Fprintf(b, "db0:keys=%d,expires=%d,avg_ttl=%d\r\n", p.keys, p.expires, p.avgTTL())
	}
	if p.servers != p.summed {
		// Only when a server is missing: parsers of this section expect db lines alone.
		fmt.Fprintf(b, "# db0 above sums %d of the pool's %d servers\r\n", p.summed, p.servers)
	}
}

// summedStats are the servers' stats fields INFO stats sums. Other server counters
// (connections, commands, network bytes) count discoh's traffic to the servers, not the
// clients', and discoh reports its own under those names.
var summedStats = []string{"keyspace_hits", "keyspace_misses", "expired_keys", "evicted_keys"}

// notSummedMemory are the servers' integer memory fields a sum of which means nothing.
var notSummedMemory = map[string]bool{"total_system_memory": true, "used_memory_peak_time": true}

// poolInfo is the servers' INFO figures added up.
type poolInfo struct {
	servers, summed int // servers in the pool; those whose INFO is in the sums
	memory, stats   infoSums
	persistence     infoSums
	keys, expires   int64
	ttlWeight       float64 // each server's avg_ttl times its expires, summed
	maxmemoryUnset  bool    // some server has no maxmemory: the pool has no limit
}

// sumServers adds up the INFO replies of the calls that got one.
func sumServers(calls []*backends.Call) *poolInfo {
	p := newPoolInfo(len(calls))
	for _, call := range calls {
		if call.Err != nil {
			continue
		}
		text, _, err := resp.ParseBulk(call.Reply)
		if err != nil || resp.IsError(call.Reply) {
			continue // an error reply, or no INFO: not summed
		}
		p.add(text)
	}
	return p
}

func newPoolInfo(servers int) *poolInfo {
	p := &poolInfo{servers: servers}
	// Always there, as tools expect them, even when no server answered (a sum over none is 0).
	p.memory.seed("used_memory", "used_memory_human")
	p.stats.seed(summedStats...)
	return p
}

// add sums one server's INFO text.
func (p *poolInfo) add(text []byte) {
	p.summed++
	section := ""
	for line := range bytes.Lines(text) {
		line = bytes.TrimRight(line, "\r\n")
		if name, ok := bytes.CutPrefix(line, []byte("# ")); ok {
			section = strings.ToLower(string(name))
			continue
		}
		name, value, ok := strings.Cut(string(line), ":")
		if !ok {
			continue
		}
		switch section {
		case "memory":
			p.addMemory(name, value)
		case "persistence":
			if !strings.Contains(name, "time") { // times and durations: a sum means nothing
				p.persistence.add(name, value)
			}
		case "stats":
			if p.stats.has(name) {
				p.stats.addInt(name, value)
			}
		case "keyspace":
			if name == "db0" {
				p.addKeyspace(value)
			}
		}
	}
}

func (p *poolInfo) addMemory(name, value string) {
	switch {
	case notSummedMemory[name]:
	case name == "maxmemory" && value == "0":
		p.maxmemoryUnset = true
		p.memory.addInt(name, value)
	default:
		p.memory.add(name, value)
	}
}

// addKeyspace adds a db line's value, keys=N,expires=M,avg_ttl=T.
func (p *poolInfo) addKeyspace(value string) {
	var keys, expires, ttl int64
	for field := range strings.SplitSeq(value, ",") {
		k, v, _ := strings.Cut(field, "=")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "keys":
			keys = n
		case "expires":
			expires = n
		case "avg_ttl":
			ttl = n
		}
	}
	p.keys += keys
	p.expires += expires
	p.ttlWeight += float64(ttl) * float64(expires)
}

// avgTTL is the servers' avg_ttl weighted by their keys with a TTL, in milliseconds.
func (p *poolInfo) avgTTL() int64 {
	if p.expires == 0 {
		return 0
	}
	return int64(p.ttlWeight/float64(p.expires) + 0.5)
}

// writeSummed ends a section of sums with how many servers are in them, as a field and as a
// comment last (go-redis takes a comment line for a section header). The comment names no
// field and has no colon: redis-cli reads the first occurrence of a name, other parsers split
// lines at the first colon.
func (p *poolInfo) writeSummed(b *strings.Builder, what string) {
	fmt.Fprintf(b, "servers_summed:%d\r\n", p.summed)
	fmt.Fprintf(b, "# %s are sums over %d of the pool's %d servers\r\n", what, p.summed, p.servers)
}

// infoSums adds up the servers' fields of one INFO section in the order they list them:
// integers are summed, *_human figures are written again from their sum, a text is kept when
// every server gives the same one, and ratios are worked out again from the sums where discoh
// knows how (mem_fragmentation_ratio) or left out.
type infoSums struct {
	names []string
	index map[string]int
	ints  []int64
	kinds []sumKind
	texts []string
}

type sumKind uint8

const (
	sumInt     sumKind = iota
	sumHuman           // the name less _human, written as bytesToHuman does
	sumText            // the servers' common text
	sumDiffers         // a text the servers do not agree on: left out
	sumRatio           // mem_fragmentation_ratio, used_memory_rss / used_memory
	sumSkip            // a ratio or percentage discoh does not recompute
)

func (t *infoSums) seed(names ...string) {
	for _, n := range names {
		t.slot(n, kindOf(n, "0"))
	}
}

func (t *infoSums) has(name string) bool {
	_, ok := t.index[name]
	return ok
}

// slot returns name's index, adding it as kind if new.
func (t *infoSums) slot(name string, kind sumKind) int {
	if t.index == nil {
		t.index = map[string]int{}
	}
	i, ok := t.index[name]
	if !ok {
		i = len(t.names)
		t.index[name] = i
		t.names, t.ints, t.kinds, t.texts = append(t.names, name), append(t.ints, 0), append(t.kinds, kind), append(t.texts, "")
	}
	return i
}

// kindOf says how a field whose value is value is summed.
func kindOf(name, value string) sumKind {
	switch {
	case strings.HasSuffix(name, "_human"):
		return sumHuman
	case name == "mem_fragmentation_ratio":
		return sumRatio
	}
	if _, err := strconv.ParseInt(value, 10, 64); err == nil {
		return sumInt
	}
	if _, err := strconv.ParseFloat(strings.TrimSuffix(value, "%"), 64); err == nil {
		return sumSkip
	}
	return sumText
}

func (t *infoSums) add(name, value string) {
	i := t.slot(name, kindOf(name, value))
	switch t.kinds[i] {
	case sumInt:
		t.addInt(name, value)
	case sumText:
		if t.texts[i] == "" {
			t.texts[i] = value
		} else if t.texts[i] != value {
			t.kinds[i] = sumDiffers
		}
	}
}

func (t *infoSums) addInt(name, value string) {
	i := t.slot(name, sumInt)
	n, err := strconv.ParseInt(value, 10, 64)
	if err == nil && t.kinds[i] == sumInt {
		t.ints[i] += n
	}
}

// zero sets an integer field to 0 (maxmemory when some server has no limit).
func (t *infoSums) zero(name string) {
	if i, ok := t.index[name]; ok && t.kinds[i] == sumInt {
		t.ints[i] = 0
	}
}

func (t *infoSums) value(name string) int64 {
	if i, ok := t.index[name]; ok && t.kinds[i] == sumInt {
		return t.ints[i]
	}
	return 0
}

func (t *infoSums) write(b *strings.Builder) {
	for i, name := range t.names {
		switch t.kinds[i] {
		case sumInt:
			fmt.Fprintf(b, "%s:%d\r\n", name, t.ints[i])
		case sumText:
			fmt.Fprintf(b, "%s:%s\r\n", name, t.texts[i])
		case sumHuman:
			base := strings.TrimSuffix(name, "_human")
			if j, ok := t.index[base]; ok && t.kinds[j] == sumInt {
				fmt.Fprintf(b, "%s:%s\r\n", name, bytesToHuman(t.ints[j]))
			}
		case sumRatio:
			if used := t.value("used_memory"); used > 0 {
				fmt.Fprintf(b, "%s:%.2f\r\n", name, float64(t.value("used_memory_rss"))/float64(used))
			}
		}
	}
}

// bytesToHuman writes n as Redis writes its *_human figures: 1023B, 1.00K, 4.50M, ...
func bytesToHuman(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	d := float64(n)
	for _, unit := range []string{"K", "M", "G", "T", "P"} {
		d /= 1024
		if d < 1024 || unit == "P" {
			return strconv.FormatFloat(d, 'f', 2, 64) + unit
		}
	}
	return "" // not reached
}

// opsMeter works out instantaneous_ops_per_sec: the commands per second between two INFO
// calls at least a second apart (the first from discoh's start). redis-cli --stat asks every
// second; a client that asks rarely gets the average since its previous INFO.
type opsMeter struct {
	mu       sync.Mutex
	at       time.Time
	commands int64
	rate     int64
}

// sample returns the rate at now, commands having been dispatched since started.
func (m *opsMeter) sample(now, started time.Time, commands int64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at.IsZero() {
		m.at = started
	}
	if d := now.Sub(m.at); d >= time.Second {
		m.rate = int64(float64(commands-m.commands)/d.Seconds() + 0.5)
		m.at, m.commands = now, commands
	}
	return m.rate
}
