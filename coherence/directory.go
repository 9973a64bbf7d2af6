package coherence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/discoh/discoh/coherence/db"
	"github.com/discoh/discoh/coherence/flight"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/coherence/source"
)

// Errors of the directory.
var (
	// ErrNotCoherent means no source covers the key: the proxy should forward the request.
	ErrNotCoherent = errors.New("coherence: no source covers the key")
	// ErrInvalid is matched by every problem Config.Validate reports.
	ErrInvalid = errors.New("coherence: invalid config")
)

// Defaults for the zero fields of Config.
const (
	// DefaultWindow is how long after an invalidation client fills are refused. It must
	// outlast the slowest look-aside fill (app reads the database, then SETs) that can race
	// with an invalidation: a fill delayed longer can win (DESIGN.md section 4, known limits).
	DefaultWindow = 60 * time.Second
	// DefaultReadWait bounds how long a read of a pending key waits for the pull before it
	// answers a miss: about a slow query, short enough that a client never times out.
	DefaultReadWait = time.Second
	// DefaultPullTimeout bounds one pull, query and install together.
	DefaultPullTimeout = 5 * time.Second
	// DefaultMaxPulls bounds the background pulls started by invalidations; beyond it keys
	// stay pending and the next reader pulls them.
	DefaultMaxPulls = 64
	// DefaultRevalidate is how long after an invalidation the key is invalidated and pulled a
	// second time (see revalidate.go): about the longest an app's transaction runs between
	// its DEL and its COMMIT, so the second pull reads the committed row.
	DefaultRevalidate = time.Second
)

// Config tunes a Directory. Zero fields take the defaults above.
type Config struct {
	Window      time.Duration
	ReadWait    time.Duration
	PullTimeout time.Duration
	MaxPulls    int
	Revalidate  time.Duration
	Logger      *slog.Logger // nil discards
}

// Validate reports every negative setting, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		neg  bool
	}{
		{"window", c.Window < 0}, {"read_wait", c.ReadWait < 0},
		{"pull_timeout", c.PullTimeout < 0}, {"max_pulls", c.MaxPulls < 0},
		{"revalidate", c.Revalidate < 0},
	} {
		if f.neg {
			errs = append(errs, fmt.Errorf("%w: coherence.%s is negative", ErrInvalid, f.name))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	c.Window = orDefault(c.Window, DefaultWindow)
	c.ReadWait = orDefault(c.ReadWait, DefaultReadWait)
	c.PullTimeout = orDefault(c.PullTimeout, DefaultPullTimeout)
	c.MaxPulls = orDefault(c.MaxPulls, DefaultMaxPulls)
	c.Revalidate = orDefault(c.Revalidate, DefaultRevalidate)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Puller reads a source's value for one key from its database. *db.Databases is one.
type Puller interface {
	Pull(ctx context.Context, src *source.Source, params []any) (db.Row, error)
}

// Directory is the coherence directory of one pool. It is safe for concurrent use.
type Directory struct {
	cfg     Config
	sources *source.Set
	puller  Puller
	guard   guard.Guard
	flights flight.Group[pullKey, pulled]
	stats   counters
	warn    rateLimited

	// ctx bounds background pulls; Close cancels it.
	ctx        context.Context
	cancel     context.CancelFunc
	slots      chan struct{} // one per background pull in flight
	background sync.WaitGroup
	recheck    recheck // second pulls due after invalidations
}

// New returns the directory of the keys that sources cover, pulling through puller and
// keeping guard state through g.
func New(sources *source.Set, puller Puller, g guard.Guard, cfg Config) (*Directory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := &Directory{cfg: cfg, sources: sources, puller: puller, guard: g,
		slots: make(chan struct{}, cfg.MaxPulls)}
	d.warn.log = cfg.Logger
	d.recheck.due = map[string]*dueRecheck{}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d, nil
}

// Covers reports whether key is coherent: a source covers it. It allocates nothing, so the
// proxy can ask for every key.
func (d *Directory) Covers(key []byte) bool { return d.sources.Covers(key) }

// Close stops starting background pulls, cancels those running and waits for them.
func (d *Directory) Close() {
	d.closeRechecks()
	d.cancel()
	d.waitRechecks()
	d.background.Wait()
	d.flights.Wait()
}
