// Package respserver is discoh's Redis front end: it splits each client's input into RESP
// requests within hard limits and routes them to the servers of a pool: which server owns each
// key, how a multi-key command splits across servers and how the replies merge back in order,
// transactions, blocking commands, pub/sub, scripts, INFO, and the coherence directory's
// commands. The connections themselves are served by package frontend.
package respserver

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence"
	"github.com/discoh/discoh/frontend"
)

// redisCompatVersion is the Redis version discoh reports in HELLO: the command set it routes is
// Redis 7.0's, generated from COMMAND (see package commands).
const redisCompatVersion = "7.0.0"

// Redis routes the RESP commands of one pool's clients to the pool's servers.
type Redis struct {
	Pool   string // the pool's name, for INFO and logs
	Listen string
	// MaxReplyBytes is the largest reply held for a client (max_pending_output_bytes); a
	// larger one is replaced by an error. 0 = no limit.
	MaxReplyBytes int
	// Dir is the pool's coherence directory; nil when no source covers the pool.
	Dir *coherence.Directory
	// Front serves the pool's clients; INFO reports its event-loop counters. nil: none.
	Front   *frontend.Server
	pool    *backends.Pool
	log     *slog.Logger
	started time.Time
	free    sync.Pool // sessions shed between their clients' requests (see Session.Shed)

	Stats Stats
}

// Stats are the counters INFO reports.
type Stats struct {
	Commands   atomic.Int64 // requests dispatched
	Errors     atomic.Int64 // error replies sent, of any cause
	Backend    atomic.Int64 // requests that failed on a server (down, timeout)
	WarmCopies atomic.Int64 // values copied from a partner to a copy that missed them
	Blocked    atomic.Int64 // clients waiting now for a blocking command's reply
	ops        opsMeter     // instantaneous_ops_per_sec
}

// NewRedis returns the router for one pool.
func NewRedis(name, listen string, pool *backends.Pool, log *slog.Logger) *Redis {
	return &Redis{Pool: name, Listen: listen, pool: pool, log: log, started: time.Now()}
}

// Sessions can be served by event loops: a method that strayed from awaiter would silently
// give every client a goroutine.
var _ awaiter = (*Session)(nil)

// NewSession returns the Session of a client; for an event loop, one shed by another client.
func (r *Redis) NewSession(c frontend.Client) *Session {
	s, _ := r.free.Get().(*Session)
	if s == nil {
		s = &Session{r: r, watching: -1}
	}
	s.client, s.id = c, c.ID()
	if st, ok := c.Kept().(*clientState); ok {
		s.lane, s.name, s.carry = st.lane, st.name, st
	}
	return s
}
