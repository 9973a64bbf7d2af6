// Package admin is discoh's admin HTTP server: Prometheus metrics (/metrics), liveness
// (/healthz), readiness (/readyz) and, when enabled, the Go profiler (/debug/pprof/). It reads
// the pools' counters when asked and adds nothing to the request path.
package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence"
	"github.com/discoh/discoh/frontend"
)

// Pool is what the admin server reports of one pool.
type Pool struct {
	Name     string
	Protocol string // "redis" or "memcached"
	Listen   string
	Front    *frontend.Server
	Servers  *backends.Pool
	Dir      *coherence.Directory // nil without a coherence source
	// Counters returns the protocol's own counters (commands, hits, ...); nil for none.
	Counters func() []Counter
}

// Counter is one of a protocol's counters: discoh_<Name>_total, or discoh_<Name> for a gauge.
type Counter struct {
	Name  string
	Help  string
	Value int64
	Gauge bool // a level (clients blocked now), not a count since start
}

// Config configures the admin server (the config file's admin section).
type Config struct {
	Listen  string // host:port
	Pprof   bool   // serve /debug/pprof/
	Version string // discoh's, for the status page
}

// Server is the admin HTTP server.
type Server struct {
	http    *http.Server
	pools   []Pool
	log     *slog.Logger
	version string
	started time.Time
}

// New returns the admin server of pools; call Serve to start it.
func New(cfg Config, pools []Pool, log *slog.Logger) *Server {
	s := &Server{pools: pools, log: log, version: cfg.Version, started: time.Now()}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&collector{pools: pools})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /{$}", s.status)
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s
}

// Serve answers on ln until Shutdown; it warns when ln is reachable from other hosts.
func (s *Server) Serve(ln net.Listener) error {
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		s.log.Warn("the admin listener is reachable from other hosts: its metrics and profiles are not protected", "listen", a.String())
	}
	err := s.http.Serve(ln)
	if err == http.ErrServerClosed {
		return nil
	}
	return err
}

// Shutdown stops the server, waiting at most until ctx ends for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// readiness is /readyz's reply.
type readiness struct {
	Ready   bool     `json:"ready"`
	Reasons []string `json:"reasons,omitempty"`
}

// readyz answers 200 when every pool has at least one live copy of every key, 503 with the
// reasons otherwise.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	r := readiness{Reasons: s.unready()}
	r.Ready = len(r.Reasons) == 0
	w.Header().Set("Content-Type", "application/json")
	if !r.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(r)
}

// unready returns why some key of some pool has no live copy: none when all have one.
func (s *Server) unready() []string {
	var reasons []string
	for _, p := range s.pools {
		for _, set := range p.Servers.Unreachable() {
			reasons = append(reasons, "pool "+p.Name+": every copy down: "+strings.Join(set, ", "))
		}
	}
	return reasons
}
