package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/discoh/discoh/coherence"
)

// collector reads every pool's counters at each scrape, as constant metrics: the request path
// keeps its own atomic counters and pays nothing for /metrics.
type collector struct{ pools []Pool }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("discoh_"+name, help, labels, nil)
}

var (
	poolInfo       = desc("pool_info", "A pool discoh serves (always 1).", "pool", "protocol", "listen")
	clients        = desc("client_connections", "Client connections open now.", "pool")
	clientsTotal   = desc("client_connections_accepted_total", "Client connections accepted since start.", "pool")
	clientsRefused = desc("client_connections_rejected_total", "Client connections refused over max_clients.", "pool")
	movedOff       = desc("clients_moved_off_loops_total", "Clients moved from an event loop to a goroutine of their own.", "pool")
	movedBack      = desc("clients_back_on_loops_total", "Moved clients handed back to an event loop.", "pool")

	serverUp       = desc("server_up", "1 when discoh sends the server requests, 0 while it is ejected.", "pool", "server", "addr")
	serverHealth   = desc("server_health", "The server's health state (always 1, state in the label).", "pool", "server", "state")
	serverConn     = desc("server_connected", "1 when discoh holds a connection to the server.", "pool", "server")
	serverReqs     = desc("server_requests_total", "Requests sent to the server.", "pool", "server")
	serverFails    = desc("server_failures_total", "Requests to the server that ended in an error.", "pool", "server")
	serverDowns    = desc("server_downs_total", "Times the server was ejected.", "pool", "server")
	replayQueue    = desc("server_replay_queue_keys", "Keys whose invalidation waits for the server's return.", "pool", "server")
	replayOverflow = desc("server_replay_overflowed", "1 when the server's replay queue overflowed: it is repaired before it serves again.", "pool", "server")
	recopied       = desc("server_recopied_keys_total", "Keys copied back to the server after it came back empty.", "pool", "server")
)

// coherenceCounters names the directory's counters in /metrics.
var coherenceCounters = []struct {
	desc  *prometheus.Desc
	value func(coherence.Stats) int64
}{
	{desc("coherence_invalidations_total", "Invalidations acknowledged.", "pool"), func(s coherence.Stats) int64 { return s.Invalidations }},
	{desc("coherence_invalidate_errors_total", "Invalidations that failed (the client got an error).", "pool"), func(s coherence.Stats) int64 { return s.InvalidateErrors }},
	{desc("coherence_pulls_total", "Database queries run for pulls.", "pool"), func(s coherence.Stats) int64 { return s.Pulls }},
	{desc("coherence_pull_errors_total", "Pulls whose query failed or timed out.", "pool"), func(s coherence.Stats) int64 { return s.PullErrors }},
	{desc("coherence_pulls_shared_total", "Reads and pulls that joined a pull in flight.", "pool"), func(s coherence.Stats) int64 { return s.PullsShared }},
	{desc("coherence_pulls_skipped_total", "Background pulls not started because max_pulls were running.", "pool"), func(s coherence.Stats) int64 { return s.PullsSkipped }},
	{desc("coherence_rows_not_found_total", "Pulls that found no row.", "pool"), func(s coherence.Stats) int64 { return s.RowsNotFound }},
	{desc("coherence_installs_total", "Pulled values installed in the cache.", "pool"), func(s coherence.Stats) int64 { return s.Installs }},
	{desc("coherence_installs_stale_total", "Pulled values refused because a newer invalidation came first.", "pool"), func(s coherence.Stats) int64 { return s.InstallsStale }},
	{desc("coherence_fills_stored_total", "Client fills stored.", "pool"), func(s coherence.Stats) int64 { return s.FillsStored }},
	{desc("coherence_fills_refused_total", "Client fills refused (window, no lease, guard state missing).", "pool"), func(s coherence.Stats) int64 { return s.FillsRefused }},
	{desc("coherence_guard_missing_total", "Fills and installs refused because the guard state was evicted.", "pool"), func(s coherence.Stats) int64 { return s.GuardMissing }},
	{desc("coherence_guard_errors_total", "Reads, fills and installs that failed on the cache server.", "pool"), func(s coherence.Stats) int64 { return s.GuardErrors }},
	{desc("coherence_read_hits_total", "Coherent reads answered from the cache.", "pool"), func(s coherence.Stats) int64 { return s.ReadHits }},
	{desc("coherence_read_misses_total", "Coherent reads answered with a miss.", "pool"), func(s coherence.Stats) int64 { return s.ReadMisses }},
	{desc("coherence_reads_waited_total", "Reads of a pending key answered with the value its pull read.", "pool"), func(s coherence.Stats) int64 { return s.WaitsServed }},
	{desc("coherence_revalidations_total", "Second invalidations and pulls, revalidate after a client's.", "pool"), func(s coherence.Stats) int64 { return s.Revalidations }},
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, p := range c.pools {
		if p.Counters != nil {
			for _, k := range p.Counters() {
				ch <- counterDesc(k)
			}
		}
	}
	for _, d := range []*prometheus.Desc{poolInfo, clients, clientsTotal, clientsRefused, movedOff, movedBack,
		serverUp, serverHealth, serverConn, serverReqs, serverFails, serverDowns, replayQueue, replayOverflow, recopied} {
		ch <- d
	}
	for _, cc := range coherenceCounters {
		ch <- cc.desc
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	for _, p := range c.pools {
		ch <- prometheus.MustNewConstMetric(poolInfo, gauge, 1, p.Name, p.Protocol, p.Listen)
		if f := p.Front; f != nil {
			connected, total := f.Counts()
			ch <- prometheus.MustNewConstMetric(clients, gauge, float64(connected), p.Name)
			ch <- prometheus.MustNewConstMetric(clientsTotal, counter, float64(total), p.Name)
			ch <- prometheus.MustNewConstMetric(clientsRefused, counter, float64(f.Rejected.Load()), p.Name)
			ch <- prometheus.MustNewConstMetric(movedOff, counter, float64(f.Moved.Load()), p.Name)
			ch <- prometheus.MustNewConstMetric(movedBack, counter, float64(f.Rejoined.Load()), p.Name)
		}
		c.collectServers(ch, p)
		if p.Dir != nil {
			st := p.Dir.Stats()
			for _, cc := range coherenceCounters {
				ch <- prometheus.MustNewConstMetric(cc.desc, counter, float64(cc.value(st)), p.Name)
			}
		}
		if p.Counters != nil {
			collectCounters(ch, p)
		}
	}
}

func (c *collector) collectServers(ch chan<- prometheus.Metric, p Pool) {
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	for _, s := range p.Servers.Servers {
		state, _, downs := s.Health()
		ch <- prometheus.MustNewConstMetric(serverUp, gauge, boolValue(s.Up()), p.Name, s.Name, s.Addr)
		ch <- prometheus.MustNewConstMetric(serverHealth, gauge, 1, p.Name, s.Name, state)
		ch <- prometheus.MustNewConstMetric(serverConn, gauge, boolValue(s.Connected()), p.Name, s.Name)
		ch <- prometheus.MustNewConstMetric(serverReqs, counter, float64(s.Requests.Load()), p.Name, s.Name)
		ch <- prometheus.MustNewConstMetric(serverFails, counter, float64(s.Failures.Load()), p.Name, s.Name)
		ch <- prometheus.MustNewConstMetric(serverDowns, counter, float64(downs), p.Name, s.Name)
		ch <- prometheus.MustNewConstMetric(replayQueue, gauge, float64(s.ReplayQueue()), p.Name, s.Name)
		ch <- prometheus.MustNewConstMetric(replayOverflow, gauge, boolValue(s.ReplayOverflowed()), p.Name, s.Name)
		ch <- prometheus.MustNewConstMetric(recopied, counter, float64(s.Recopied()), p.Name, s.Name)
	}
}

// collectCounters reports the protocol's own counters of p.
func collectCounters(ch chan<- prometheus.Metric, p Pool) {
	for _, k := range p.Counters() {
		kind := prometheus.CounterValue
		if k.Gauge {
			kind = prometheus.GaugeValue
		}
		ch <- prometheus.MustNewConstMetric(counterDesc(k), kind, float64(k.Value), p.Name)
	}
}

func counterDesc(k Counter) *prometheus.Desc {
	if k.Gauge {
		return desc(k.Name, k.Help, "pool")
	}
	return desc(k.Name+"_total", k.Help, "pool")
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
