// Package mcserver is discoh's memcached front end: it splits each client's input into
// requests of the text protocol (package mcproto) within limits and routes them to the servers
// of a pool: multi-gets split by server, meta commands, cas, stats, and the coherence
// directory's commands. The connections themselves are served by package frontend.
package mcserver

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/mcproto"
)

// memcachedCompatVersion is what VERSION reports: the memcached release whose text protocol
// discoh speaks, with discoh's name after it (clients read the leading numbers).
const memcachedCompatVersion = "1.6.18"

// Memcache routes the memcached text-protocol requests of one pool's clients.
type Memcache struct {
	Pool   string
	Listen string
	Dir    *coherence.Directory // nil when no source covers the pool
	Front  *frontend.Server     // serves the pool's clients; stats reports its loop counters
	// MaxReplyBytes bounds the reply bytes one client's batch holds (max_pending_output_bytes,
	// see batchBound); 0 for no bound.
	MaxReplyBytes int
	pool          *backends.Pool
	log           *slog.Logger
	started       time.Time
	free          sync.Pool // sessions shed between their clients' requests (see Session.Shed)

	Stats Stats
}

// Stats are the counters `stats` reports, named as memcached names them.
type Stats struct {
	CmdGet        atomic.Int64 // keys asked for
	GetHits       atomic.Int64
	GetMisses     atomic.Int64
	CmdSet        atomic.Int64
	CmdTouch      atomic.Int64
	BackendErrors atomic.Int64
	WarmCopies    atomic.Int64 // values copied from a partner to a copy that missed them
}

// reset zeroes the counters, as stats reset zeroes memcached's.
func (st *Stats) reset() {
	for _, c := range []*atomic.Int64{&st.CmdGet, &st.GetHits, &st.GetMisses, &st.CmdSet,
		&st.CmdTouch, &st.BackendErrors, &st.WarmCopies} {
		c.Store(0)
	}
}

// Framer frames memcached replies by the request that caused them. A reply that cannot
// answer the request (STORED to a get) means the connection's replies are out of step.
func Framer(buf []byte, kind uint8) (int, error) {
	n, err := mcproto.ScanResponse(buf, mcproto.Kind(kind))
	if errors.Is(err, mcproto.ErrBadResponse) {
		return n, fmt.Errorf("%w: %w", backends.ErrOutOfStep, err)
	}
	return n, err
}

// Answers reports whether a memcached reply can answer the request (see
// mcproto.Answers): a get's reply names only keys it asked for.
func Answers(reply, req []byte, kind uint8) bool {
	return mcproto.Answers(reply, req, mcproto.Kind(kind))
}

// NewMemcache returns the router for one memcached pool.
func NewMemcache(name, listen string, pool *backends.Pool, log *slog.Logger) *Memcache {
	return &Memcache{Pool: name, Listen: listen, pool: pool, log: log, started: time.Now()}
}

// Sessions can be served by event loops (see the same check for Redis sessions).
var _ awaiter = (*Session)(nil)

// NewSession returns the Session of a client; for an event loop, one shed by another client.
func (m *Memcache) NewSession(c frontend.Client) *Session {
	s, _ := m.free.Get().(*Session)
	if s == nil {
		s = &Session{m: m}
	}
	s.client, s.id = c, c.ID()
	return s
}
