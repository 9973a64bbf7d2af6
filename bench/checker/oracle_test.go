package main

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/discoh/discoh/bench/checker/cache"
	"github.com/discoh/discoh/internal/testproc"
	"github.com/jackc/pgx/v5/pgxpool"
)

// guarded makes real cache clients coherent, as an oracle that the checker must pass:
// a SET stores its body only if the body's version is still the row's, checked and stored
// under a per-key lock that DEL takes too. A writer commits before its DEL, so once a DEL
// returns, every value stored later was checked against that commit or a newer one: no read
// that begins after the DEL can hit an older version (G1), nor can a racing fill survive it
// (G2).
type guarded struct {
	prefix string
	db     *pgxpool.Pool
	table  string
	locks  []sync.Mutex // by row id
}

// dial is a dialFunc whose clients all share g's locks.
func (g *guarded) dial(protocol, addr string, conns int) (cache.Client, error) {
	c, err := cache.Dial(protocol, addr, conns)
	if err != nil {
		return nil, err
	}
	return guardedClient{Client: c, g: g}, nil
}

type guardedClient struct {
	cache.Client
	g *guarded
}

func (c guardedClient) Set(ctx context.Context, key, value string) error {
	id := c.g.id(key)
	c.g.locks[id].Lock()
	defer c.g.locks[id].Unlock()
	var current int64
	err := c.g.db.QueryRow(ctx, "SELECT version FROM "+c.g.table+" WHERE id = $1", id).Scan(&current)
	if err != nil {
		return err
	}
	if v, err := bodyVersion(value); err != nil || v != current {
		return err // outdated: not stored, and the client is none the wiser
	}
	return c.Client.Set(ctx, key, value)
}

func (c guardedClient) Del(ctx context.Context, key string) error {
	id := c.g.id(key)
	c.g.locks[id].Lock()
	defer c.g.locks[id].Unlock()
	return c.Client.Del(ctx, key)
}

func (g *guarded) id(key string) int {
	id, err := strconv.Atoi(strings.TrimPrefix(key, g.prefix))
	if err != nil {
		panic("guarded: key " + key + " is not the checker's")
	}
	return id
}

// TestCoherentTargetHasNoStaleReads runs the checker against the guarded oracle over a real
// redis-server: the same races as on the plain server, and the checker must count no stale
// read and no inconsistent key. This is the result it owes discoh.
func TestCoherentTargetHasNoStaleReads(t *testing.T) {
	srv := testproc.Redis(t)
	cfg := testConfig(t, cache.Redis, 1500*time.Millisecond, srv.Addr)
	db, err := pgxpool.New(t.Context(), DefaultDSN+"&pool_max_conns=4")
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(db.Close)
	g := &guarded{prefix: cfg.KeyPrefix, db: db, table: cfg.Table, locks: make([]sync.Mutex, cfg.Keys)}
	res := runCheck(t, cfg, g.dial)
	if res.Writes < minWrites || res.Hits == 0 {
		t.Fatalf("%d writes, %d hits; want %d writes at least and some hits", res.Writes, res.Hits, minWrites)
	}
	if res.Stale != 0 || res.After.Inconsistent != 0 {
		t.Errorf("stale %d, inconsistent after %d; want 0 and 0", res.Stale, res.After.Inconsistent)
	}
	if res.Errors != 0 || res.Malformed != 0 {
		t.Errorf("%d errors, %d malformed hits; want 0", res.Errors, res.Malformed)
	}
}
