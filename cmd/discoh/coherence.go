package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence"
	"github.com/discoh/discoh/coherence/db"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/coherence/source"
	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/mcserver"
	"github.com/discoh/discoh/respserver"
)

// openCoherence connects the configured databases and compiles the sources; both are nil when
// the config has no sources.
func openCoherence(ctx context.Context, cfg *config.Config) (*db.Databases, *source.Set, error) {
	if len(cfg.Coherence.Sources) == 0 {
		return nil, nil, nil
	}
	var srcs []source.Source
	for _, s := range cfg.Coherence.Sources {
		srcs = append(srcs, source.Source{Pattern: s.Pattern, Database: s.Database, Query: s.Query,
			Params: s.Params, TTL: s.TTL, Flags: s.Flags, Pools: s.Pools})
	}
	set, err := source.NewSet(srcs)
	if err != nil {
		return nil, nil, err
	}
	var dbcfgs []db.Config
	for _, d := range cfg.Databases {
		dbcfgs = append(dbcfgs, db.Config{Name: d.Name, Driver: d.Driver, DSN: d.DSN,
			MaxConns: d.MaxConns, Timeout: d.Timeout, Demo: d.Demo})
	}
	dbs, err := db.Open(ctx, dbcfgs)
	if err != nil {
		return nil, nil, fmt.Errorf("coherence: %w", err)
	}
	return dbs, set, nil
}

// dirMaker builds a pool's coherence directory once its backends exist; nil when none.
type dirMaker func(pool *backends.Pool) (*coherence.Directory, error)

func coherenceFor(pc *config.Pool, dbs *db.Databases, sources *source.Set, cfg *config.Config, log *slog.Logger) dirMaker {
	return func(pool *backends.Pool) (*coherence.Directory, error) {
		if sources == nil {
			return nil, nil
		}
		mine := sources.ForPool(pc.Name)
		if mine.Len() == 0 {
			return nil, nil
		}
		var g guard.Guard = respserver.NewGuard(pool)
		if !pc.Redis {
			g = mcserver.NewGuard(pool)
		}
		co := cfg.Coherence
		return coherence.New(mine, dbs, g, coherence.Config{Window: co.Window, ReadWait: co.ReadWait,
			PullTimeout: co.PullTimeout, MaxPulls: co.MaxPulls, Revalidate: co.Revalidate,
			Logger: log.With("pool", pc.Name)})
	}
}
