package health

import (
	"errors"
	"fmt"
	"time"
)

// ErrBadConfig wraps every problem Config.Validate reports.
var ErrBadConfig = errors.New("health: bad config")

// Defaults, returned by DefaultConfig.
const (
	// DefaultFailureLimit and DefaultRetryTimeout are twemproxy's
	// server_failure_limit and server_retry_timeout, so a fleet moving from
	// it sees servers ejected and retried on the same schedule.
	DefaultFailureLimit = 2
	DefaultRetryTimeout = 30 * time.Second

	// DefaultMaxBackoff stops flap damping's doubling of the hold-down at 5
	// minutes: a server that keeps failing under load soon after it returns
	// is kept out for at most that long at a time.
	DefaultMaxBackoff = 5 * time.Minute

	// DefaultFlapWindow and DefaultFlapLimit: a server that goes down 3
	// times within 10 minutes is failing in a way probes do not see (it
	// answers PING but times out under load), so its hold-down doubles.
	DefaultFlapWindow = 10 * time.Minute
	DefaultFlapLimit  = 3
)

// maxFlapHistory bounds the downs a Tracker remembers. The hold-down stops
// doubling at MaxBackoff long before that many flaps.
const maxFlapHistory = 64

// Config says when a server is marked down and how it is probed until it is back.
type Config struct {
	// FailureLimit is how many consecutive failed calls mark the server down
	// (twemproxy's server_failure_limit). At least 1.
	FailureLimit int
	// RetryTimeout is the hold-down: the delay from going down to the first
	// probe (twemproxy's server_retry_timeout). Positive.
	RetryTimeout time.Duration
	// MaxBackoff caps the hold-down that flap damping doubles (failed probes
	// are retried within max(RetryTimeout, 1s), see backoff). At least
	// RetryTimeout.
	MaxBackoff time.Duration
	// FlapWindow and FlapLimit damp flapping: when a server goes down for the
	// FlapLimit-th time within FlapWindow, its hold-down doubles, and doubles
	// again with every further down in the window, up to MaxBackoff.
	// FlapLimit 0 turns damping off; otherwise FlapWindow must be positive.
	FlapWindow time.Duration
	FlapLimit  int
}

// DefaultConfig returns the defaults above.
func DefaultConfig() Config {
	return Config{
		FailureLimit: DefaultFailureLimit,
		RetryTimeout: DefaultRetryTimeout,
		MaxBackoff:   DefaultMaxBackoff,
		FlapWindow:   DefaultFlapWindow,
		FlapLimit:    DefaultFlapLimit,
	}
}

// Validate reports every problem in c, each naming its field and wrapping
// ErrBadConfig, joined with errors.Join; nil if there are none.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, args...)...))
	}
	if c.FailureLimit < 1 {
		bad("FailureLimit %d must be at least 1", c.FailureLimit)
	}
	if c.RetryTimeout <= 0 {
		bad("RetryTimeout %v must be positive", c.RetryTimeout)
	}
	if c.MaxBackoff < c.RetryTimeout {
		bad("MaxBackoff %v must be at least RetryTimeout %v", c.MaxBackoff, c.RetryTimeout)
	}
	if c.FlapLimit < 0 {
		bad("FlapLimit %d must not be negative", c.FlapLimit)
	}
	if c.FlapLimit > 0 && c.FlapWindow <= 0 {
		bad("FlapWindow %v must be positive when FlapLimit is set", c.FlapWindow)
	}
	return errors.Join(errs...)
}

// holdDown is the delay before the first probe after the flaps-th down
// within the flap window (this one included).
func (c Config) holdDown(flaps int) time.Duration {
	d := c.RetryTimeout
	if c.FlapLimit == 0 {
		return d
	}
	for n := c.FlapLimit; n <= flaps && d < c.MaxBackoff; n++ {
		d *= 2
	}
	return min(d, c.MaxBackoff)
}

// backoff is the delay after a failed probe that followed a delay of d: it doubles up to the
// longer of RetryTimeout and maxProbeGap. A server that comes back is then found within that
// time however long it was away (a restarted server rejoins in a second, not after a doubled
// delay grown while it was dead), and a dead one costs a probe (a connect) every RetryTimeout
// per proxy, as twemproxy's retries do.
func (c Config) backoff(d time.Duration) time.Duration {
	return min(2*d, max(c.RetryTimeout, maxProbeGap))
}

// maxProbeGap is the longest wait between failed probes of a pool whose RetryTimeout is shorter.
const maxProbeGap = time.Second
