package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/discoh/discoh/admin"
	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/mcserver"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/respserver"
)

// startAdmin serves the admin HTTP endpoint (/metrics, /healthz, /readyz) of pools on
// cfg.Listen; nil and no error when it names none.
func startAdmin(cfg config.Admin, pools []served, log *slog.Logger, errc chan<- error) (*admin.Server, error) {
	if cfg.Listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	var ps []admin.Pool
	for _, p := range pools {
		ps = append(ps, p.admin)
	}
	srv := admin.New(admin.Config{Listen: cfg.Listen, Pprof: cfg.Pprof, Version: proxy.Version}, ps, log)
	go func() {
		if err := srv.Serve(ln); err != nil {
			errc <- fmt.Errorf("admin: %w", err)
		}
	}()
	log.Info("admin listening", "listen", ln.Addr().String(), "pprof", cfg.Pprof)
	return srv, nil
}

// stopAdmin stops srv, if any: a scrape in flight gets stopGrace to finish.
func stopAdmin(srv *admin.Server) {
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		defer cancel()
		srv.Shutdown(ctx)
	}
}

// The counters each protocol's router keeps, as /metrics reports them. Names both protocols
// share have one help text.
const (
	helpBackendErrors = "Requests that failed on a server (down, timeout)."
	helpWarmCopies    = "Values copied from a partner to a copy that missed them."
)

func redisCounters(r *respserver.Redis) func() []admin.Counter {
	return func() []admin.Counter {
		st := &r.Stats
		return []admin.Counter{
			{Name: "commands", Help: "Commands dispatched.", Value: st.Commands.Load()},
			{Name: "error_replies", Help: "Error replies sent, of any cause.", Value: st.Errors.Load()},
			{Name: "backend_errors", Help: helpBackendErrors, Value: st.Backend.Load()},
			{Name: "warm_copies", Help: helpWarmCopies, Value: st.WarmCopies.Load()},
			{Name: "blocked_clients", Help: "Clients waiting now for a blocking command's reply.", Value: st.Blocked.Load(), Gauge: true},
		}
	}
}

func memcacheCounters(m *mcserver.Memcache) func() []admin.Counter {
	return func() []admin.Counter {
		st := &m.Stats
		return []admin.Counter{
			{Name: "cmd_get", Help: "Keys asked for by get, gets, gat and gats.", Value: st.CmdGet.Load()},
			{Name: "get_hits", Help: "Keys asked for that were found.", Value: st.GetHits.Load()},
			{Name: "get_misses", Help: "Keys asked for that were not found.", Value: st.GetMisses.Load()},
			{Name: "cmd_set", Help: "Storage commands (set, add, replace, append, prepend, cas).", Value: st.CmdSet.Load()},
			{Name: "cmd_touch", Help: "Touch commands.", Value: st.CmdTouch.Load()},
			{Name: "backend_errors", Help: helpBackendErrors, Value: st.BackendErrors.Load()},
			{Name: "warm_copies", Help: helpWarmCopies, Value: st.WarmCopies.Load()},
		}
	}
}
