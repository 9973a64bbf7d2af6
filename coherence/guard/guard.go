// Package guard keeps a coherent key's guard state in the cache server that owns the key, so
// that every discoh instance in front of that server sees the same state and no other
// service is needed.
//
// The guard state of a key k is its version (bumped by every invalidation), the end of its
// coherence window, what the directory knows of the value (pull pending, row absent, value
// stored) and a fill lease. Each operation reads and changes the value and the guard state
// in one atomic step on k's server: a Lua script over k and a sidecar hash on Redis
// ([Redis]), a gets/cas round on one item whose value starts with a hidden header on
// memcached ([Memcache]). Both implement [Guard].
//
// How the operations keep the guarantees of DESIGN.md section 4:
//   - Invalidate bumps the version, drops the value and opens the window (G1).
//   - Install stores a pulled value only if the version is still the one the pull was
//     started for, so a pull that read the database before a newer invalidation loses (G3).
//   - Fill (a client's SET) is refused inside the window, where the directory's pull is
//     authoritative, and outside it unless a read missed since the last invalidation or
//     store (the lease): a fill that read the database before an invalidation finds the
//     lease gone (G2).
//   - Install and Fill refuse when the guard state is gone, since it may have been evicted
//     with the tombstone that should have stopped them, and report GuardMissing (G5).
package guard

import (
	"context"
	"errors"
	"time"
)

// Errors of the guard operations. An operation that returns an error may or may not have
// taken effect on the server; the caller must treat the key as unknown.
var (
	// ErrBackend wraps an error reply from the cache server.
	ErrBackend = errors.New("guard: server error")
	// ErrProtocol means a reply was not what the operation sends back.
	ErrProtocol = errors.New("guard: unexpected reply")
	// ErrContended means other writers kept changing the key while an operation retried.
	ErrContended = errors.New("guard: key changed on every attempt")
)

// Version identifies one invalidation of a key. Versions of a key only grow: each is at
// least the previous plus one and at least the time of the invalidation in microseconds,
// so a guard state recreated after an eviction does not repeat an old version.
type Version uint64

// Value is what a fill or an install stores.
type Value struct {
	Data  []byte
	Flags uint32        // memcached client flags; Redis has none and ignores them
	TTL   time.Duration // expiry of the value; 0 keeps it until evicted
}

// State is what a read found.
type State uint8

// The states of a read.
const (
	// Miss: no value. The read granted a fill lease; a Pending key outside its window and a
	// key whose pull found no row read as Miss too.
	Miss State = iota
	// Hit: the value is in Reading.Value.
	Hit
	// Pending: invalidated, inside its window, and no pull has installed a value yet.
	// Reading.Version is the invalidation a pull must be started for.
	Pending
)

var stateNames = [...]string{Miss: "miss", Hit: "hit", Pending: "pending"}

func (s State) String() string { return stateNames[s] }

// Reading is the result of Read.
type Reading struct {
	State   State
	Value   Value   // Data and Flags when Hit; Data is the caller's to keep
	Version Version // when Pending
}

// Outcome says whether a fill or an install was stored, and if not, why.
type Outcome uint8

// The outcomes of Install and Fill.
const (
	Stored Outcome = iota
	// RefusedWindow: a fill inside the window after an invalidation (G2).
	RefusedWindow
	// RefusedNoLease: a fill with no read miss since the last invalidation or store; it may
	// carry a value read from the database before that invalidation (G2).
	RefusedNoLease
	// RefusedStale: an install for a version that a newer invalidation replaced (G3).
	RefusedStale
	// GuardMissing: the key has no guard state, so it may have been evicted along with the
	// tombstone that would have refused this write; refused (G5).
	GuardMissing
)

var outcomeNames = [...]string{
	Stored: "stored", RefusedWindow: "refused: window", RefusedNoLease: "refused: no lease",
	RefusedStale: "refused: stale version", GuardMissing: "refused: guard state missing",
}

func (o Outcome) String() string { return outcomeNames[o] }

// Guard is the guard state of the keys of one pool of cache servers. Every method runs on
// the server that owns key, atomically.
type Guard interface {
	// Invalidate bumps key's version, deletes its value and opens a window during which
	// client fills are refused. It returns the new version, which a pull passes to Install.
	Invalidate(ctx context.Context, key []byte, window time.Duration) (Version, error)
	// Install stores a pulled value if key's version is still v.
	Install(ctx context.Context, key []byte, v Version, val Value) (Outcome, error)
	// InstallAbsent records, if key's version is still v, that the pull found no row, so
	// that reads stop waiting for a pull.
	InstallAbsent(ctx context.Context, key []byte, v Version) (Outcome, error)
	// Fill stores a client's value if the window is closed and a read missed since the last
	// invalidation or store.
	Fill(ctx context.Context, key []byte, val Value) (Outcome, error)
	// Read returns key's value, or Pending, or Miss. A miss grants a fill lease that lasts
	// leaseFor, and creates the guard state if there was none.
	Read(ctx context.Context, key []byte, leaseFor time.Duration) (Reading, error)
}

// msCeil is d in whole milliseconds, rounded up so that a window is never shortened.
func msCeil(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
