package health

import (
	"strconv"
	"time"
)

// State is where a server stands with its Tracker.
type State int32

const (
	// StateUp: the server takes calls.
	StateUp State = iota
	// StateDown: calls fail fast; a background goroutine probes the server.
	StateDown
	// StateReturning: a probe succeeded and the OnReturn hook is replaying what
	// the server missed. Calls still fail fast.
	StateReturning
)

// String names the state for logs and status pages.
func (s State) String() string {
	switch s {
	case StateUp:
		return "up"
	case StateDown:
		return "down"
	case StateReturning:
		return "returning"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Stats is a snapshot of a Tracker, for INFO, metrics and the status page.
type Stats struct {
	State State
	// Failures counts consecutive failed calls and probes since the last
	// success, probe success included.
	Failures int64
	// Downs counts the times the server was marked down since New.
	Downs int64
	// Flaps counts the downs within the flap window; at FlapLimit and above
	// the hold-down is damped.
	Flaps int
	// LastErr is the latest error from a call, a probe or the OnReturn hook.
	LastErr error
	// DownSince is when the server was last marked down; zero if never.
	DownSince time.Time
	// NextProbe is when the next probe is due; zero unless one is scheduled.
	NextProbe time.Time
}
