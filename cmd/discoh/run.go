package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/discoh/discoh/admin"
	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/backends/health"
	"github.com/discoh/discoh/cmd/discoh/internal/embedded"
	"github.com/discoh/discoh/coherence"
	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/internal/memlimit"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/mcserver"
	"github.com/discoh/discoh/resp"
	"github.com/discoh/discoh/respserver"
)

// drainTimeout bounds how long a shutdown takes: clients' requests already read are answered
// until stopGrace before it; then the calls still out fail, and every client is closed.
var drainTimeout = 10 * time.Second

// stopGrace is the part of drainTimeout kept for closing: blocked clients' error replies
// (frontend's expired grace), failing what is in flight, closing the servers' connections.
const stopGrace = 500 * time.Millisecond

// served is one pool being served: its front end and its servers, and what /metrics reports.
type served struct {
	name  string
	srv   *frontend.Server
	pool  *backends.Pool
	admin admin.Pool
}

// run serves every pool of cfg until ctx ends, then drains and stops.
func run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	errc := make(chan error, len(cfg.Pools))
	go returnMemory(ctx)
	go memlimit.Watch(ctx, int64(cfg.MaxMemory), log)
	dbs, sources, err := openCoherence(ctx, cfg)
	if err != nil {
		return err
	}
	if dbs != nil {
		defer dbs.Close()
	}
	var pools []served
	for _, pc := range cfg.Pools {
		p, stop, err := startPool(pc, log, errc, coherenceFor(pc, dbs, sources, cfg, log))
		if err != nil {
			return err
		}
		stops = append(stops, stop)
		pools = append(pools, p)
	}
	adm, err := startAdmin(cfg.Admin, pools, log, errc)
	if err != nil {
		shutdown(pools, log)
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errc:
	}
	shutdown(pools, log)
	stopAdmin(adm)
	return err
}

// shutdown drains every pool at once: each stops accepting and answers what its clients sent,
// in parallel, so one pool's slow clients take no drain time from another's. When the drain time
// is up, the calls still out fail (a backlog of clients that do not read would otherwise be
// waited for) and the clients left are closed.
func shutdown(pools []served, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout-stopGrace)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range pools {
		wg.Go(func() {
			abort := context.AfterFunc(ctx, p.pool.Abort)
			if err := p.srv.Shutdown(ctx); err != nil {
				log.Warn("clients closed before their requests drained", "pool", p.name, "err", err)
			}
			abort()
			log.Info("pool stopped", "pool", p.name, "took", time.Since(start))
		})
	}
	wg.Wait()
}

// startPool starts one pool's embedded servers (if any), backends and listener.
func startPool(pc *config.Pool, log *slog.Logger, errc chan<- error, dir dirMaker) (served, func(), error) {
	specs, stopEmbedded, err := serverSpecs(pc)
	if err != nil {
		return served{}, nil, err
	}
	pool, err := backends.NewPool(backends.PoolConfig{
		Name: pc.Name, Servers: specs, Hash: pc.Hash, Distribution: pc.Distribution, HashTag: pc.HashTag,
		Replicas: pc.Replicas, AutoEject: pc.AutoEjectHosts, Options: backendOptions(pc), Failover: failover(pc, log),
	})
	if err != nil {
		stopEmbedded()
		return served{}, nil, fmt.Errorf("pool %s: %w", pc.Name, err)
	}
	ln, err := net.Listen("tcp", pc.Listen)
	if err != nil {
		pool.Close()
		stopEmbedded()
		return served{}, nil, fmt.Errorf("pool %s: %w", pc.Name, err)
	}
	d, err := dir(pool)
	if err != nil {
		ln.Close()
		pool.Close()
		stopEmbedded()
		return served{}, nil, fmt.Errorf("pool %s: %w", pc.Name, err)
	}
	srv, counters := frontendFor(pc, ln.Addr().String(), pool, d, log)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, frontend.ErrServerClosed) {
			errc <- fmt.Errorf("pool %s: %w", pc.Name, err)
		}
	}()
	warnIgnored(pc, log)
	log.Info("pool listening", "pool", pc.Name, "listen", ln.Addr().String(), "protocol", protocol(pc),
		"servers", len(specs), "embedded", pc.Embedded)
	ap := admin.Pool{Name: pc.Name, Protocol: protocol(pc), Listen: ln.Addr().String(), Front: srv,
		Servers: pool, Dir: d, Counters: counters}
	return served{pc.Name, srv, pool, ap}, func() {
		if d != nil {
			d.Close()
		}
		pool.Close()
		stopEmbedded()
	}, nil
}

// warnIgnored names the twemproxy keys a pool sets that discoh accepts but does not act on yet,
// so an operator moving a nutcracker config over is not misled.
func warnIgnored(pc *config.Pool, log *slog.Logger) {
	d := config.DefaultPool(pc.Name)
	ignored := map[string]bool{
		"preconnect": pc.Preconnect,
		"backlog":    pc.Backlog != d.Backlog,
	}
	for key, set := range ignored {
		if set {
			log.Warn("config key accepted but not used yet", "pool", pc.Name, "key", key)
		}
	}
}

func protocol(pc *config.Pool) string {
	if pc.Redis {
		return "redis"
	}
	return "memcached"
}

func backendOptions(pc *config.Pool) backends.Options {
	opts := backends.Options{Timeout: pc.Timeout, Conns: pc.ServerConnections}
	if pc.Redis {
		opts.Framer, opts.Handshake = respserver.Framer, respserver.Handshake(pc.RedisAuth)
	} else {
		opts.Framer, opts.Answers = mcserver.Framer, mcserver.Answers
	}
	return opts
}

// failover sets up health tracking and the replay of missed invalidations, with twemproxy's
// server_failure_limit and server_retry_timeout.
func failover(pc *config.Pool, log *slog.Logger) *backends.Failover {
	if pc.Embedded {
		return nil // in-process servers live and die with discoh
	}
	h := health.DefaultConfig()
	h.FailureLimit, h.RetryTimeout = pc.ServerFailureLimit, pc.ServerRetryTimeout
	h.MaxBackoff = max(h.MaxBackoff, h.RetryTimeout)
	dir := pc.DataDir
	if dir == "" {
		// One directory per listener: two instances on a host must not share replay queues.
		dir = filepath.Join(os.TempDir(), "discoh", strings.NewReplacer(":", "_", "/", "_").Replace(pc.Listen))
	}
	proto := respserver.Protocol()
	if !pc.Redis {
		proto = mcserver.Protocol()
	}
	return &backends.Failover{Health: h, DataDir: dir, ReplayLimit: pc.ReplayLimit, Protocol: proto, Log: log}
}

// frontendFor builds the pool's client-facing server for its protocol, and the counters of its
// router for /metrics.
func frontendFor(pc *config.Pool, listen string, pool *backends.Pool, dir *coherence.Directory, log *slog.Logger) (*frontend.Server, func() []admin.Counter) {
	if !pc.Redis {
		router := mcserver.NewMemcache(pc.Name, listen, pool, log)
		router.Dir, router.MaxReplyBytes = dir, pc.Limits.MaxPendingOutputBytes
		srv := mcserver.New(router, mcserver.Limits{
			Request: mcproto.Limits{ItemSizeMax: pc.Limits.ItemSizeMax, MaxKeys: pc.Limits.MaxArgs},
			Conn:    connLimits(pc, dir),
		}, log)
		router.Front = srv
		return srv, memcacheCounters(router)
	}
	router := respserver.NewRedis(pc.Name, listen, pool, log)
	router.MaxReplyBytes = pc.Limits.MaxPendingOutputBytes
	router.Dir = dir
	srv := respserver.New(router, redisLimits(pc, dir), log)
	router.Front = srv
	return srv, redisCounters(router)
}

// embeddedServer is an in-process cache server of an embedded pool.
type embeddedServer interface {
	Addr() string
	Close()
}

func startEmbedded(redis bool, addr string) (embeddedServer, error) {
	if redis {
		return embedded.StartRedis(addr)
	}
	return embedded.StartMemcached(addr)
}

// serverSpecs turns the config's servers into backend specs, first starting in-process servers
// for an embedded pool (port 0 picks a free port).
func serverSpecs(pc *config.Pool) ([]backends.ServerSpec, func(), error) {
	var started []embeddedServer
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
		r, err := startEmbedded(pc.Redis, s.Addr)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("pool %s: %w", pc.Name, err)
		}
		started = append(started, r)
		specs[i].Addr = r.Addr()
	}
	return specs, stop, nil
}

func redisLimits(pc *config.Pool, dir *coherence.Directory) respserver.Limits {
	l := pc.Limits
	return respserver.Limits{
		Request:         resp.Limits{MaxArgs: l.MaxArgs, MaxBulk: l.MaxBulkBytes, MaxInline: l.MaxInlineBytes},
		MaxRequestBytes: l.MaxRequestBytes,
		Conn:            connLimits(pc, dir),
	}
}

func connLimits(pc *config.Pool, dir *coherence.Directory) frontend.Limits {
	l := pc.Limits
	return frontend.Limits{
		MaxPipeline:    l.MaxPipeline,
		MaxConnections: l.MaxConnections,
		IdleTimeout:    l.IdleTimeout,
		WriteTimeout:   l.WriteTimeout,
		// Sessions that may wait on the directory would leave the loop at once.
		EventLoop: l.EventLoop && dir == nil,
	}
}
