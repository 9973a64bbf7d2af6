package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// queryTimeout bounds each statement, so that a stuck database ends a worker's call rather
// than the run.
const queryTimeout = 5 * time.Second

// table is the checker's PostgreSQL table: one row per key, whose body embeds its version
// (see body.go).
type table struct {
	pool *pgxpool.Pool
	sql  statements
}

// statements are the table's SQL, with its name spliced in once.
type statements struct {
	create, fill, write, read, versions string
}

func newStatements(name string) statements {
	q := func(s string) string { return strings.ReplaceAll(s, "{t}", name) }
	return statements{
		create: q(`CREATE TABLE IF NOT EXISTS {t} (id int PRIMARY KEY, body text NOT NULL, version bigint NOT NULL)`),
		// Rows left by an earlier run keep their versions: values a cache still holds from
		// that run are then judged against the row they came from.
		fill: q(`INSERT INTO {t} (id, body, version)
			SELECT g, 'v1:' || $2::text, 1 FROM generate_series(0, $1::int - 1) g
			ON CONFLICT (id) DO NOTHING`),
		// SET expressions see the row before the update, hence version + 1 in both.
		write: q(`UPDATE {t} SET version = version + 1, body = 'v' || (version + 1) || ':' || $2::text
			WHERE id = $1 RETURNING version`),
		read:     q(`SELECT body FROM {t} WHERE id = $1`),
		versions: q(`SELECT id, version FROM {t} WHERE id < $1`),
	}
}

// openTable connects to dsn with at most conns connections and makes sure the table exists
// with a row for every key below keys.
func openTable(ctx context.Context, dsn, name string, conns, keys int) (*table, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("dsn: %w", err)
	}
	cfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	t := &table{pool: pool, sql: newStatements(name)}
	if err := t.prepare(ctx, keys); err != nil {
		pool.Close()
		return nil, fmt.Errorf("table %s: %w", name, err)
	}
	return t, nil
}

func (t *table) prepare(ctx context.Context, keys int) error {
	if _, err := t.pool.Exec(ctx, t.sql.create); err != nil {
		return err
	}
	_, err := t.pool.Exec(ctx, t.sql.fill, keys, "initial")
	return err
}

// write commits the next version of row id, with payload after the version, and returns the
// version.
func (t *table) write(ctx context.Context, id int, payload string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var version int64
	err := t.pool.QueryRow(ctx, t.sql.write, id, payload).Scan(&version)
	return version, err
}

// writeDelFirst is write done the wrong way round, as some apps do: the invalidation (del) runs
// inside the transaction, before COMMIT, so a reader or a pull in between still sees the old
// row. It measures that known limit of look-aside invalidation.
func (t *table) writeDelFirst(ctx context.Context, id int, payload string, del func() error) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	tx, err := t.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	var version int64
	if err := tx.QueryRow(ctx, t.sql.write, id, payload).Scan(&version); err != nil {
		return 0, err
	}
	if err := del(); err != nil {
		return 0, err
	}
	time.Sleep(time.Millisecond) // the app's work between its DEL and its COMMIT
	return version, tx.Commit(ctx)
}

// read returns row id's body: the look-aside reader's DB read.
func (t *table) read(ctx context.Context, id int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var body string
	err := t.pool.QueryRow(ctx, t.sql.read, id).Scan(&body)
	return body, err
}

// versions returns the version of every row below keys, indexed by id.
func (t *table) versions(ctx context.Context, keys int) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	rows, err := t.pool.Query(ctx, t.sql.versions, keys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]int64, keys)
	var id int
	var version int64
	for rows.Next() {
		if err := rows.Scan(&id, &version); err != nil {
			return nil, err
		}
		out[id] = version
	}
	return out, rows.Err()
}

func (t *table) close() { t.pool.Close() }
