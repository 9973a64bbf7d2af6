// Package db runs the queries of coherent sources on the databases they name: one autocommit
// SELECT per pull, on a bounded pool of connections per database, each with a timeout.
//
// PostgreSQL (pgx), MySQL/MariaDB (go-sql-driver) and SQLite (modernc, pure Go) are
// supported through database/sql. A SQLite database can be the embedded default: with Demo
// set, Open creates a small users table on first start so that a fresh install has a source
// to pull from.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Defaults for the zero fields of Config.
const (
	// DefaultMaxConns bounds the connections to one database. Pulls are collapsed per key, so
	// concurrency is the number of distinct keys being pulled, not of readers.
	DefaultMaxConns = 8
	// DefaultTimeout bounds one query, connection included: a pull that takes longer leaves
	// its key deleted rather than holding readers.
	DefaultTimeout = 2 * time.Second
)

// Errors of this package. Query failures wrap the driver's error as well as ErrQuery.
var (
	ErrInvalid         = errors.New("db: invalid config")
	ErrUnknownDatabase = errors.New("db: unknown database")
	ErrQuery           = errors.New("db: query failed")
)

// drivers maps a Config.Driver to the database/sql driver name.
var drivers = map[string]string{"postgres": "pgx", "mysql": "mysql", "sqlite": "sqlite"}

// Config is one database that sources can name.
type Config struct {
	Name     string        // what Source.Database says
	Driver   string        // "postgres", "mysql" (MariaDB too) or "sqlite"
	DSN      string        // the driver's data source name; see DefaultSQLiteDSN
	MaxConns int           // open connections at most; 0 means DefaultMaxConns
	Timeout  time.Duration // per query; 0 means DefaultTimeout
	Demo     bool          // sqlite only: create and fill the demo users table if absent
}

// Validate reports every problem with c, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: databases.%s.%s: %s", ErrInvalid, c.Name, field, fmt.Sprintf(format, args...)))
	}
	if c.Name == "" {
		bad("name", "empty")
	}
	if _, ok := drivers[c.Driver]; !ok {
		bad("driver", "%q is not postgres, mysql or sqlite", c.Driver)
	}
	if c.DSN == "" && c.Driver != "sqlite" {
		bad("dsn", "empty")
	}
	if c.MaxConns < 0 {
		bad("max_conns", "%d is negative", c.MaxConns)
	}
	if c.Timeout < 0 {
		bad("timeout", "%v is negative", c.Timeout)
	}
	if c.Demo && c.Driver != "sqlite" {
		bad("demo", "only the sqlite driver has a demo table")
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Driver == "sqlite" && c.DSN == "" {
		c.DSN = DefaultSQLiteDSN
	}
	return c
}

// database is one configured database and its pool.
type database struct {
	name    string
	pool    *sql.DB
	timeout time.Duration
}

func open(ctx context.Context, c Config) (*database, error) {
	c = c.withDefaults()
	pool, err := sql.Open(drivers[c.Driver], c.DSN)
	if err != nil {
		return nil, fmt.Errorf("db %s: %w", c.Name, err)
	}
	pool.SetMaxOpenConns(c.MaxConns)
	pool.SetMaxIdleConns(c.MaxConns)
	pool.SetConnMaxIdleTime(time.Minute)
	if c.Demo {
		if err := createDemo(ctx, pool); err != nil {
			pool.Close()
			return nil, fmt.Errorf("db %s: demo table: %w", c.Name, err)
		}
	}
	return &database{name: c.Name, pool: pool, timeout: c.Timeout}, nil
}

// Databases are the configured databases by name. It is safe for concurrent use.
type Databases struct {
	byName   map[string]*database
	queries  atomic.Int64
	failures atomic.Int64
	notFound atomic.Int64
}

// Open validates cfgs and prepares a pool for each. Connections are made on first use (see
// Ping), so that a database that is down at start makes pulls fail closed instead of
// stopping the proxy; only a demo SQLite database is created at once.
func Open(ctx context.Context, cfgs []Config) (*Databases, error) {
	if err := validateAll(cfgs); err != nil {
		return nil, err
	}
	d := &Databases{byName: make(map[string]*database, len(cfgs))}
	for _, c := range cfgs {
		db, err := open(ctx, c)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.byName[c.Name] = db
	}
	return d, nil
}

func validateAll(cfgs []Config) error {
	var errs []error
	seen := make(map[string]bool)
	for i := range cfgs {
		errs = append(errs, cfgs[i].Validate())
		if seen[cfgs[i].Name] {
			errs = append(errs, fmt.Errorf("%w: databases.%s: name appears twice", ErrInvalid, cfgs[i].Name))
		}
		seen[cfgs[i].Name] = true
	}
	return errors.Join(errs...)
}

// Has reports whether a database of that name is configured, for validating sources.
func (d *Databases) Has(name string) bool { return d.byName[name] != nil }

// Ping connects to every database, for readiness checks.
func (d *Databases) Ping(ctx context.Context) error {
	var errs []error
	for name, db := range d.byName {
		if err := db.pool.PingContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("db %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Close closes every pool.
func (d *Databases) Close() error {
	var errs []error
	for _, db := range d.byName {
		errs = append(errs, db.pool.Close())
	}
	return errors.Join(errs...)
}

// Stats are the counters of Pull since Open.
type Stats struct {
	Queries  int64 // queries sent
	Failures int64 // queries that failed (error or timeout)
	NotFound int64 // queries that found no row, or a NULL value
}

// Stats returns the counters.
func (d *Databases) Stats() Stats {
	return Stats{Queries: d.queries.Load(), Failures: d.failures.Load(), NotFound: d.notFound.Load()}
}
