package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/embedded"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
	"github.com/discoh/discoh/respserver"
)

// drainTimeout bounds how long a shutdown waits for clients' in-flight requests.
const drainTimeout = 10 * time.Second

// run serves every pool of cfg until ctx ends, then drains and stops.
func run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	errc := make(chan error, len(cfg.Pools))
	var servers []*frontend.Server
	for _, pc := range cfg.Pools {
		srv, stop, err := startPool(pc, log, errc)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
		servers = append(servers, srv)
	}
	var err error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errc:
	}
	shutdown(servers, log)
	return err
}

func shutdown(servers []*frontend.Server, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("clients closed before their requests drained", "err", err)
		}
	}
}

// startPool starts one pool's embedded servers (if any), backends and listener.
func startPool(pc *config.Pool, log *slog.Logger, errc chan<- error) (*frontend.Server, func(), error) {
	if !pc.Redis {
		return nil, nil, fmt.Errorf("pool %s: memcached pools are not supported yet", pc.Name)
	}
	specs, stopEmbedded, err := serverSpecs(pc)
	if err != nil {
		return nil, nil, err
	}
	pool, err := backends.NewPool(specs, pc.Hash, pc.Distribution, pc.HashTag, &backends.Options{
		Timeout:   pc.Timeout,
		Conns:     pc.ServerConnections,
		Framer:    backends.RedisFramer,
		Handshake: backends.RedisHandshake(pc.RedisAuth),
	})
	if err != nil {
		stopEmbedded()
		return nil, nil, fmt.Errorf("pool %s: %w", pc.Name, err)
	}
	ln, err := net.Listen("tcp", pc.Listen)
	if err != nil {
		pool.Close()
		stopEmbedded()
		return nil, nil, fmt.Errorf("pool %s: %w", pc.Name, err)
	}
	router := proxy.NewRedis(pc.Name, ln.Addr().String(), pool, log)
	router.MaxReplyBytes = pc.Limits.MaxPendingOutputBytes
	srv := respserver.New(router, redisLimits(pc.Limits), log)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, frontend.ErrServerClosed) {
			errc <- fmt.Errorf("pool %s: %w", pc.Name, err)
		}
	}()
	log.Info("pool listening", "pool", pc.Name, "listen", ln.Addr().String(), "protocol", "redis", "servers", len(specs), "embedded", pc.Embedded)
	return srv, func() { pool.Close(); stopEmbedded() }, nil
}

// serverSpecs turns the config's servers into backend specs, first starting in-process servers
// for an embedded pool (port 0 picks a free port).
func serverSpecs(pc *config.Pool) ([]backends.ServerSpec, func(), error) {
	var started []*embedded.Redis
	stop := func() {
		for _, r := range started {
			r.Close()
		}
	}
	specs := make([]backends.ServerSpec, len(pc.Servers))
	for i, s := range pc.Servers {
		specs[i] = backends.ServerSpec{Addr: s.Addr, Name: s.Name, Weight: s.Weight}
		if !pc.Embedded {
			continue
		}
		r, err := embedded.StartRedis(s.Addr)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("pool %s: %w", pc.Name, err)
		}
		started = append(started, r)
		specs[i].Addr = r.Addr()
	}
	return specs, stop, nil
}

func redisLimits(l config.ClientLimits) respserver.Limits {
	return respserver.Limits{
		Request:         resp.Limits{MaxArgs: l.MaxArgs, MaxBulk: l.MaxBulkBytes, MaxInline: l.MaxInlineBytes},
		MaxRequestBytes: l.MaxRequestBytes,
		Conn:            connLimits(l),
	}
}

func connLimits(l config.ClientLimits) frontend.Limits {
	return frontend.Limits{
		MaxPipeline:    l.MaxPipeline,
		MaxConnections: l.MaxConnections,
		IdleTimeout:    l.IdleTimeout,
		WriteTimeout:   l.WriteTimeout,
	}
}
