package proxy

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/discoh/discoh/coherence"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/resp"
)

// cmdInfo answers INFO with discoh's own sections: server, clients, stats and servers (the
// pool's backends and their state). Like Redis, INFO [section ...] picks sections.
func cmdInfo(s *Session, args [][]byte, _ []byte) frontend.Action {
	text := s.r.info(args[1:])
	s.queueLit(func(dst []byte) []byte { return resp.AppendBulkString(dst, text) })
	return frontend.Continue
}

var infoSections = []struct {
	name  string
	write func(r *Redis, b *strings.Builder)
}{
	{"server", (*Redis).infoServer},
	{"clients", (*Redis).infoClients},
	{"stats", (*Redis).infoStats},
	{"servers", (*Redis).infoServers},
	{"coherence", (*Redis).infoCoherence},
}

func (r *Redis) info(want [][]byte) string {
	var b strings.Builder
	for _, sec := range infoSections {
		if !wanted(sec.name, want) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "# %s\r\n", strings.ToUpper(sec.name[:1])+sec.name[1:])
		sec.write(r, &b)
	}
	return b.String()
}

func wanted(section string, want [][]byte) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		switch strings.ToLower(string(w)) {
		case section, "all", "everything", "default":
			return true
		}
	}
	return false
}

func (r *Redis) infoServer(b *strings.Builder) {
	up := time.Since(r.started)
	fmt.Fprintf(b, "discoh_version:%s\r\nredis_version:%s\r\nredis_mode:standalone\r\n", Version, redisCompatVersion)
	fmt.Fprintf(b, "os:%s %s\r\ngo_version:%s\r\nprocess_id:%d\r\n", runtime.GOOS, runtime.GOARCH, runtime.Version(), os.Getpid())
	fmt.Fprintf(b, "pool:%s\r\nlisten:%s\r\n", r.Pool, r.Listen)
	fmt.Fprintf(b, "uptime_in_seconds:%d\r\nuptime_in_days:%d\r\n", int64(up.Seconds()), int64(up.Hours()/24))
}

func (r *Redis) infoClients(b *strings.Builder) {
	connected, _ := clientCounts(r.Front)
	fmt.Fprintf(b, "connected_clients:%d\r\n", connected)
	if r.Front != nil {
		fmt.Fprintf(b, "clients_moved_off_loops:%d\r\nclients_back_on_loops:%d\r\n",
			r.Front.Moved.Load(), r.Front.Rejoined.Load())
	}
}

func (r *Redis) infoStats(b *strings.Builder) {
	_, total := clientCounts(r.Front)
	fmt.Fprintf(b, "total_connections_received:%d\r\n", total)
	fmt.Fprintf(b, "total_commands_processed:%d\r\n", r.Stats.Commands.Load())
	fmt.Fprintf(b, "total_error_replies:%d\r\n", r.Stats.Errors.Load())
	fmt.Fprintf(b, "backend_errors:%d\r\n", r.Stats.Backend.Load())
	fmt.Fprintf(b, "warm_copies:%d\r\n", r.Stats.WarmCopies.Load())
}

// infoServers lists each server as server<i>:name=...,addr=...,health=...,connected=...,
// requests=...,failures=...,downs=...,replay_queue=...
func (r *Redis) infoServers(b *strings.Builder) {
	fmt.Fprintf(b, "replicas:%d\r\n", r.pool.Replicas())
	for i, sv := range r.pool.Servers {
		health, _, downs := sv.Health()
		fmt.Fprintf(b, "server%d:name=%s,addr=%s,health=%s,connected=%v,requests=%d,failures=%d,downs=%d,replay_queue=%d\r\n",
			i, sv.Name, sv.Addr, health, sv.Connected(), sv.Requests.Load(), sv.Failures.Load(), downs, sv.ReplayQueue())
	}
}

// infoCoherence reports the coherence directory's counters.
func (r *Redis) infoCoherence(b *strings.Builder) {
	if r.Dir == nil {
		b.WriteString("coherence:off\r\n")
		return
	}
	writeCoherenceStats(r.Dir.Stats(), func(name string, v int64) { fmt.Fprintf(b, "%s:%d\r\n", name, v) })
}

// writeCoherenceStats hands each counter of st to put, named as INFO and stats name it.
func writeCoherenceStats(st coherence.Stats, put func(name string, v int64)) {
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"coherence_invalidations", st.Invalidations}, {"coherence_invalidate_errors", st.InvalidateErrors},
		{"coherence_pulls", st.Pulls}, {"coherence_pull_errors", st.PullErrors},
		{"coherence_pulls_shared", st.PullsShared}, {"coherence_rows_not_found", st.RowsNotFound},
		{"coherence_installs", st.Installs}, {"coherence_installs_stale", st.InstallsStale},
		{"coherence_fills_stored", st.FillsStored}, {"coherence_fills_refused", st.FillsRefused},
		{"coherence_guard_missing", st.GuardMissing}, {"coherence_guard_errors", st.GuardErrors},
		{"coherence_read_hits", st.ReadHits}, {"coherence_read_misses", st.ReadMisses},
		{"coherence_waits_served", st.WaitsServed},
	} {
		put(c.name, c.v)
	}
}

// clientCounts returns the clients front serves now and those it has admitted since it started
// (over max_clients ones are not), or zeros without a front end.
func clientCounts(front *frontend.Server) (connected, total int64) {
	if front == nil {
		return 0, 0
	}
	return int64(front.Clients()), front.Accepted.Load()
}
