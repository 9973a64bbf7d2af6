package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/discoh/discoh/bench/checker/cache"
)

// adminConns is the connections, and goroutines, with which the checker clears the keys
// before the load and reads them all after it.
const adminConns = 8

// check runs the workload of cfg against its target and checks every key after the load.
// Its error is a setup failure (database, table, target unreachable); failed calls during
// the load are counted in the Result instead.
func check(ctx context.Context, cfg Config, log *slog.Logger) (Result, error) {
	return checkWith(ctx, cfg, cache.Dial, log, nil)
}

// dialFunc makes a client of the target; cache.Dial is the real one.
type dialFunc func(protocol, addr string, conns int) (cache.Client, error)

// checkWith is check with the target's clients made by dial. If started is not nil, it is
// called as the load starts, once the setup is done.
func checkWith(ctx context.Context, cfg Config, dial dialFunc, log *slog.Logger, started func()) (Result, error) {
	t, err := openTable(ctx, cfg.DSN, cfg.Table, cfg.DBConns, cfg.Keys)
	if err != nil {
		return Result{}, err
	}
	defer t.close()
	cl, err := dialClients(cfg, dial)
	if err != nil {
		return Result{}, err
	}
	defer cl.close()
	if err := clearKeys(ctx, cl.admin, cfg); err != nil {
		return Result{}, fmt.Errorf("clear keys on %s: %w", cfg.target(), err)
	}
	log.Info("load starting", "target", cfg.target(), "table", cfg.Table, "seed", cfg.Seed)
	l := newLoad(cfg, t, log)
	began := time.Now()
	if started != nil {
		started()
	}
	l.run(ctx, cl.readers, cl.writers)
	res := l.stats.result()
	res.Config, res.Elapsed, res.Interrupted = cfg, time.Since(began), ctx.Err() != nil
	time.Sleep(cfg.Settle)
	res.After, err = sweep(context.WithoutCancel(ctx), cl.admin, t, cfg)
	if err != nil {
		return res, fmt.Errorf("check after the load: %w", err)
	}
	return res, nil
}

// clients are a run's clients of the target.
type clients struct {
	admin   cache.Client // clears and checks the keys
	readers []reader
	writers []cache.Client // one connection each
	all     []cache.Client
}

// dialClients makes the clients of cfg: a connection of its own for each writer and for
// each single-connection reader, and one pool shared by the pooled readers with as many
// connections as they are. With several target addresses, the clients take them in turn,
// so that writers invalidate through one discoh instance while readers read through another.
func dialClients(cfg Config, dialTarget dialFunc) (*clients, error) {
	cl := &clients{}
	var err error
	dial := func(conns int) cache.Client {
		addr := cfg.Addrs[len(cl.all)%len(cfg.Addrs)]
		c, e := dialTarget(cfg.Protocol, addr, conns)
		if e != nil {
			err = e
			return nil
		}
		cl.all = append(cl.all, c)
		return c
	}
	cl.admin = dial(adminConns)
	n := cfg.pooledReaders()
	if n > 0 {
		pool := dial(n)
		for range n {
			cl.readers = append(cl.readers, reader{c: pool, kind: pooled})
		}
	}
	for range cfg.Readers - n {
		cl.readers = append(cl.readers, reader{c: dial(1), kind: single})
	}
	for range cfg.Writers {
		cl.writers = append(cl.writers, dial(1))
	}
	if err != nil {
		cl.close()
		return nil, err
	}
	return cl, nil
}

func (cl *clients) close() {
	for _, c := range cl.all {
		c.Close()
	}
}
