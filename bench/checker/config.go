package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/discoh/discoh/bench/checker/cache"
)

// Defaults of the flags.
const (
	// DefaultDSN is the PostgreSQL of the test machine, which the tests use too.
	DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	// DefaultTable is the checker's own table; it is created if absent and never dropped.
	DefaultTable = "discoh_check"
	// DefaultKeys is enough keys for a long tail behind the hot ones.
	DefaultKeys = 1000
	// DefaultZipf makes the hottest key nearly a fifth of all traffic at 1000 keys, so that
	// writers and readers meet on it many times a second.
	DefaultZipf = 1.1
	// DefaultReaders outnumber the writers as in a read-mostly application.
	DefaultReaders = 32
	// DefaultPooled puts half the readers on a shared pool: GET and SET then often travel on
	// different connections, which a proxy cannot tie together by connection.
	DefaultPooled = 0.5
	// DefaultWriters is enough to keep the hot keys changing.
	DefaultWriters = 4
	// DefaultDuration is long enough for thousands of races at the defaults.
	DefaultDuration = 10 * time.Second
	// DefaultFillDelay is the widest pause between a reader's DB read and its SET: longer
	// than a write's UPDATE and DEL on loopback, so that writes land inside it.
	DefaultFillDelay = 5 * time.Millisecond
	// DefaultSettle lets fills still in flight, and a proxy's pulls, finish before the check
	// after the load.
	DefaultSettle = time.Second
	// DefaultKeyPrefix is the prefix of the keys, as in a source pattern "user:{id}".
	DefaultKeyPrefix = "user:"
	// DefaultDBConns keeps the checker a modest PostgreSQL client.
	DefaultDBConns = 16
)

// Presets are named sets of flag values for a workload shape. A flag given on the command
// line wins over its preset's value, whatever their order.
var presets = map[string][]presetFlag{
	// hot is hot-key contention: every reader and writer on 10 keys, 16 writers racing
	// each other's invalidations and many readers' fills (issue 14's measurement). The
	// database gets connections enough for the writers and the fills together.
	"hot": {{"keys", "10"}, {"writers", "16"}, {"readers", "64"}, {"db-conns", "32"}},
}

// presetFlag is one flag's value in a preset.
type presetFlag struct{ name, value string }

// Write modes: how writers invalidate the key of the row they changed.
const (
	ModeDel             = "update-then-del"   // UPDATE, COMMIT, then DEL
	ModeWriteThrough    = "write-through"     // UPDATE, COMMIT, then SET the new value
	ModeDelBeforeCommit = "del-before-commit" // UPDATE, DEL, then COMMIT
)

// maxDBConns stays well under PostgreSQL's default max_connections of 100.
const maxDBConns = 64

// ErrInvalid is matched by every problem Config.Validate reports.
var ErrInvalid = errors.New("checker: invalid flag")

// tableName is what the checker accepts as a table name: it is spliced into SQL.
var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Config is one checker run.
type Config struct {
	Protocol  string        // cache.Redis or cache.Memcached
	Addrs     []string      // the target: discoh instances, or a cache server
	DSN       string        // the PostgreSQL holding the table
	Table     string        // the table's name
	Keys      int           // keys and rows, numbered 0 to Keys-1
	Zipf      float64       // the Zipf exponent s (> 1) with which keys are picked
	Readers   int           // reader goroutines
	Pooled    float64       // the fraction of readers sharing a pooled client
	Writers   int           // writer goroutines, each on its own connection
	Duration  time.Duration // length of the load
	FillDelay time.Duration // each fill pauses a random time in [0, FillDelay] before its SET
	// DelBeforeCommit makes writers DEL inside their transaction, before COMMIT: a known limit.
	DelBeforeCommit bool
	// WriteThrough makes writers SET the new value after COMMIT instead of DEL.
	WriteThrough bool
	Settle       time.Duration // pause between the end of the load and the check of every key
	KeyPrefix    string        // keys are KeyPrefix + id
	DBConns      int           // PostgreSQL connections at most
	Seed         uint64        // seeds every goroutine's random numbers
	Preset       string        // the preset the other fields came from, if any
	// MinWrites and MinStale, if set, make the load go on past Duration, up to 4 times it,
	// until that many writes were acknowledged and that many stale reads seen: for tests on
	// a machine too busy for their usual rate, and for tests that must catch a stale read.
	// No flag sets them.
	MinWrites, MinStale int
}

// registerFlags binds c's fields to flags of fs, with the defaults.
func (c *Config) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Protocol, "protocol", cache.Redis, "the target's protocol: redis or memcached")
	fs.Func("addr", "the target, host:port: discoh, or a cache server; several discoh instances comma-separated", func(s string) error {
		c.Addrs = strings.Split(s, ",")
		return nil
	})
	fs.StringVar(&c.DSN, "dsn", DefaultDSN, "PostgreSQL connection string")
	fs.StringVar(&c.Table, "table", DefaultTable, "the table (id int primary key, body text, version bigint), created if absent")
	fs.IntVar(&c.Keys, "keys", DefaultKeys, "keys (and rows)")
	fs.Float64Var(&c.Zipf, "zipf", DefaultZipf, "Zipf exponent s > 1 of key popularity; higher is hotter")
	fs.IntVar(&c.Readers, "readers", DefaultReaders, "reader goroutines")
	fs.Float64Var(&c.Pooled, "pooled", DefaultPooled, "fraction of readers sharing a pooled client; the others have a connection each")
	fs.IntVar(&c.Writers, "writers", DefaultWriters, "writer goroutines")
	fs.DurationVar(&c.Duration, "duration", DefaultDuration, "length of the load")
	fs.DurationVar(&c.FillDelay, "fill-delay", DefaultFillDelay, "a fill pauses a random time in [0, this] between its DB read and its SET")
	fs.BoolVar(&c.DelBeforeCommit, "del-before-commit", false, "writers DEL inside their transaction, before COMMIT (a known limit of invalidation)")
	fs.BoolVar(&c.WriteThrough, "write-through", false, "writers SET the new value after COMMIT instead of DEL (write-through apps)")
	fs.DurationVar(&c.Settle, "settle", DefaultSettle, "pause after the load before checking every key against the DB")
	fs.StringVar(&c.KeyPrefix, "key-prefix", DefaultKeyPrefix, "keys are this prefix and the row id")
	fs.IntVar(&c.DBConns, "db-conns", DefaultDBConns, "PostgreSQL connections at most")
	fs.Uint64Var(&c.Seed, "seed", 0, "random seed; 0 picks one from the clock (the report shows it)")
	fs.StringVar(&c.Preset, "preset", "", "a workload shape whose flag values apply where no flag is given: "+strings.Join(presetNames(), ", "))
}

// applyPreset sets, on fs, the values of c's preset for the flags the command line did not
// give. Call it after fs.Parse.
func (c *Config) applyPreset(fs *flag.FlagSet) error {
	if c.Preset == "" {
		return nil
	}
	p, ok := presets[c.Preset]
	if !ok {
		return fmt.Errorf("%w: -preset: %q is not one of %s", ErrInvalid, c.Preset, strings.Join(presetNames(), ", "))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, f := range p {
		if given[f.name] {
			continue
		}
		if err := fs.Set(f.name, f.value); err != nil {
			return fmt.Errorf("-preset %s: -%s %s: %w", c.Preset, f.name, f.value, err)
		}
	}
	return nil
}

// presetNames returns the presets' names, sorted.
func presetNames() []string {
	var names []string
	for name := range presets {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Validate reports every problem with c, each naming its flag.
func (c *Config) Validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: -%s: %s", ErrInvalid, flag, fmt.Sprintf(format, args...)))
	}
	if c.Protocol != cache.Redis && c.Protocol != cache.Memcached {
		bad("protocol", "%q is not %s or %s", c.Protocol, cache.Redis, cache.Memcached)
	}
	if len(c.Addrs) == 0 {
		bad("addr", "empty; give the target's host:port")
	}
	for _, a := range c.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("addr", "%q is not host:port", a)
		}
	}
	if c.DSN == "" {
		bad("dsn", "empty")
	}
	if !tableName.MatchString(c.Table) {
		bad("table", "%q is not a lower-case SQL identifier", c.Table)
	}
	if c.Keys < 1 {
		bad("keys", "%d is below 1", c.Keys)
	}
	if c.WriteThrough && c.DelBeforeCommit {
		bad("write-through", "and -del-before-commit are two different write patterns; pick one")
	}
	if _, ok := presets[c.Preset]; c.Preset != "" && !ok {
		bad("preset", "%q is not one of %s", c.Preset, strings.Join(presetNames(), ", "))
	}
	if !(c.Zipf > 1) {
		bad("zipf", "%v is not above 1", c.Zipf)
	}
	if c.Readers < 1 {
		bad("readers", "%d is below 1", c.Readers)
	}
	if !(c.Pooled >= 0 && c.Pooled <= 1) {
		bad("pooled", "%v is not a fraction in [0, 1]", c.Pooled)
	}
	if c.Writers < 1 {
		bad("writers", "%d is below 1", c.Writers)
	}
	if c.Duration <= 0 {
		bad("duration", "%v is not positive", c.Duration)
	}
	if c.FillDelay < 0 {
		bad("fill-delay", "%v is negative", c.FillDelay)
	}
	if c.Settle < 0 {
		bad("settle", "%v is negative", c.Settle)
	}
	if c.KeyPrefix == "" || strings.ContainsFunc(c.KeyPrefix, notKeyByte) {
		bad("key-prefix", "%q is empty or has spaces or control characters", c.KeyPrefix)
	}
	if c.DBConns < 1 || c.DBConns > maxDBConns {
		bad("db-conns", "%d is not in [1, %d]", c.DBConns, maxDBConns)
	}
	return errors.Join(errs...)
}

// notKeyByte reports the runes a memcached key cannot hold.
func notKeyByte(r rune) bool { return r <= ' ' || r == 0x7f }

// pooledReaders is how many readers share the pooled client.
func (c *Config) pooledReaders() int {
	return int(c.Pooled*float64(c.Readers) + 0.5)
}

// mode is the writers' write mode, one of the Mode constants.
func (c *Config) mode() string {
	switch {
	case c.WriteThrough:
		return ModeWriteThrough
	case c.DelBeforeCommit:
		return ModeDelBeforeCommit
	}
	return ModeDel
}

// target names the target as a URL: redis://host:port or memcached://host:port.
func (c *Config) target() string {
	return c.Protocol + "://" + strings.Join(c.Addrs, ",")
}
