// Package config holds discoh's configuration: typed structs loaded from a
// YAML file, overridden by DISCOH_... environment variables, and validated
// with errors that name the offending field.
//
// The file reuses twemproxy's (nutcracker) pool keys, so a nutcracker file
// works with few or no edits. Two layouts are accepted:
//
//	pools:                       # discoh's layout
//	  main: {listen: ..., servers: [...]}
//	admin: {listen: ""}
//	log: {level: info, format: text}
//
//	alpha: {listen: ..., servers: [...]}   # nutcracker's: pools at the top
//
// Environment variables override any known key, set in the file or not: the
// key path in upper case, dots and dashes turned into underscores, prefixed
// with DISCOH_ (DISCOH_POOLS_MAIN_LISTEN, DISCOH_LOG_LEVEL). A pool must exist
// in the file for its keys to be overridden; lists (servers) are given
// comma-separated. Empty variables are ignored. A DISCOH_ variable that names
// no pool of the file, or no key, is an error, as an unknown key in the file
// is; so is one for the databases or coherence sections, read from the file
// only.
//
// Only this package uses viper; the rest of discoh receives a *Config.
package config

import (
	"log/slog"
	"time"
)

// Config is discoh's whole configuration.
type Config struct {
	Pools     []*Pool // sorted by name
	Databases []Database
	Coherence Coherence
	Admin     Admin
	Log       Log
	// MaxMemory bounds the whole process, in bytes (max_memory; 0: no bound). It is Go's soft
	// memory limit, and past it discoh refuses large requests and serves pipelines one request
	// at a time until memory falls back under it.
	MaxMemory int
	Path      string // the file it was loaded from; "" when parsed from bytes
}

// Pool is one listener and the servers it shards keys over. Field comments
// give the YAML key where it differs from the field name.
type Pool struct {
	Name              string
	Listen            string // host:port
	Redis             bool   // false: memcached text protocol
	Hash              string // one of Hashes
	Distribution      string // one of Distributions
	HashTag           string // hash_tag: two characters, or "" for none
	Timeout           time.Duration
	ServerConnections int // server_connections, per server
	Embedded          bool
	Servers           []Server
	Replicas          int    // copies of each key, on distinct servers
	DataDir           string // data_dir: where missed invalidations are kept; "" = a temp dir
	ReplayLimit       int    // replay_limit: missed invalidations kept per server as they are

	Backlog            int
	Preconnect         bool
	AutoEjectHosts     bool          // auto_eject_hosts
	TCPKeepAlive       bool          // tcpkeepalive (twemproxy 0.5)
	ServerRetryTimeout time.Duration // server_retry_timeout
	ServerFailureLimit int           // server_failure_limit
	RedisAuth          string        // redis_auth
	RedisDB            int           // redis_db: must be 0

	Limits ClientLimits
}

// Server is one backend of a pool, written "host:port:weight [name]".
type Server struct {
	Addr   string // host:port
	Weight int
	Name   string // "" if none
}

// ClientLimits bounds what one client connection can make the proxy hold.
// Byte sizes accept a plain integer or a string with a k, kb, m, mb, g or gb
// suffix (powers of 1024).
type ClientLimits struct {
	MaxConnections        int           // client_connections; 0 = unlimited
	IdleTimeout           time.Duration // client_idle_timeout; 0 = never
	WriteTimeout          time.Duration // client_write_timeout
	MaxRequestBytes       int           // max_request_bytes
	MaxBulkBytes          int           // max_bulk_bytes
	MaxArgs               int           // max_args
	MaxInlineBytes        int           // max_inline_bytes
	MaxPendingOutputBytes int           // max_pending_output_bytes
	MaxPipeline           int           // max_pipeline: requests in flight
	ItemSizeMax           int           // item_size_max: memcached values
	// EventLoop (event_loop) serves the clients of a Redis pool from event loops instead of a
	// goroutine each, where the pool allows it (replicas 1, no coherence directory).
	EventLoop bool
}

// Admin configures the admin HTTP listener.
type Admin struct {
	Listen string // host:port; "" disables it
	Pprof  bool   // pprof: serve the Go profiler at /debug/pprof/
}

// Log configures discoh's logger.
type Log struct {
	Level  slog.Level // debug, info, warn or error
	Format string     // text or json
}

// Hashes are the key hash functions a pool may name, as in twemproxy.
var Hashes = []string{
	"one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64", "fnv1a_64",
	"fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins", "xxhash",
}

// Distributions are the ways a pool may map hashes to servers, as in
// twemproxy.
var Distributions = []string{"ketama", "modula", "random"}

// LogFormats are the accepted values of log.format.
var LogFormats = []string{"text", "json"}

// Pool defaults. Where twemproxy has a default, it is kept.
const (
	// DefaultHash and DefaultDistribution are twemproxy's defaults, so an
	// existing fleet keeps its key placement.
	DefaultHash         = "fnv1a_64"
	DefaultDistribution = "ketama"

	// DefaultTimeout bounds each backend request. twemproxy waits forever
	// by default, which turns a dead backend into hung clients. One second
	// is hundreds of times a healthy cache round trip, yet shorter than
	// common client timeouts (go-redis reads for 3s), so the client gets
	// the proxy's error instead of timing out blind.
	DefaultTimeout = time.Second

	// DefaultServerConnections is twemproxy's: one pipelined connection
	// per server carries a great deal of traffic.
	DefaultServerConnections = 1

	// DefaultReplicas keeps one copy of each key, as twemproxy does.
	DefaultReplicas = 1

	// DefaultReplayLimit bounds the missed invalidations a down server's
	// queue keeps as they are: enough for minutes of deletes at a busy
	// site, small enough to replay in seconds. Beyond it the queue keeps a
	// 2 MB filter of the keys, and the returning server is repaired (its
	// keys listed, those in the filter deleted) instead of replayed.
	DefaultReplayLimit = 100_000

	// DefaultBacklog is twemproxy's listen backlog.
	DefaultBacklog = 512

	// DefaultServerRetryTimeout and DefaultServerFailureLimit are
	// twemproxy's: eject after 2 failures, retry after 30s.
	DefaultServerRetryTimeout = 30 * time.Second
	DefaultServerFailureLimit = 2
)

// Client limit defaults.
const (
	// DefaultMaxConnections of 0 means unlimited, as in twemproxy; the
	// process's file descriptor limit still applies.
	DefaultMaxConnections = 0

	// DefaultIdleTimeout of 0 never closes idle clients: connection pools
	// keep connections idle on purpose, and Redis's own timeout is 0.
	DefaultIdleTimeout time.Duration = 0

	// DefaultWriteTimeout drops a client that does not read its replies
	// for 10s, so a stuck client cannot pin buffers forever.
	DefaultWriteTimeout = 10 * time.Second

	// DefaultMaxRequestBytes and DefaultMaxBulkBytes match Redis's
	// proto-max-bulk-len (512MB): nothing Redis accepts is refused.
	DefaultMaxRequestBytes = 512 << 20
	DefaultMaxBulkBytes    = 512 << 20

	// DefaultMaxArgs is the multibulk length cap older Redis versions
	// enforced (1024*1024): far more than any real command sends, few
	// enough that argument headers alone cannot exhaust memory.
	DefaultMaxArgs = 1024 * 1024

	// DefaultMaxInlineBytes is Redis's PROTO_INLINE_MAX_SIZE (64KB), the
	// longest inline command it reads; it also bounds memcached command
	// lines, which leaves room for multi-gets of hundreds of keys.
	DefaultMaxInlineBytes = 64 << 10

	// DefaultMaxPendingOutputBytes bounds the reply bytes discoh holds for one
	// client: a batch of pipelined requests whose replies came to more makes
	// the client's next batches shorter, and a single reply larger than it is
	// replaced by an error. 64 MB lets a client pipeline hundreds of large
	// values while a few such clients cannot exhaust the host; raise it for
	// values larger than that (Redis's own ceiling is 512 MB).
	DefaultMaxPendingOutputBytes = 64 << 20

	// DefaultMaxPipeline bounds the requests one client has in flight.
	// 1024 keeps backends busy without letting one client queue unbounded
	// work; further requests wait in the socket buffer.
	DefaultMaxPipeline = 1024

	// DefaultItemSizeMax is memcached's default -I (1MB), the largest
	// value a memcached pool accepts.
	DefaultItemSizeMax = 1 << 20

	// DefaultEventLoop is on: event loops cost less CPU per request and far less memory per
	// client than a goroutine per client (see bench/results).
	DefaultEventLoop = true
)

// Log defaults.
const (
	DefaultLogLevel  = slog.LevelInfo
	DefaultLogFormat = "text"
)

// DefaultPool returns a pool with every default set and no listener or
// servers.
func DefaultPool(name string) *Pool {
	return &Pool{
		Name:               name,
		Hash:               DefaultHash,
		Distribution:       DefaultDistribution,
		Timeout:            DefaultTimeout,
		ServerConnections:  DefaultServerConnections,
		Replicas:           DefaultReplicas,
		ReplayLimit:        DefaultReplayLimit,
		Backlog:            DefaultBacklog,
		ServerRetryTimeout: DefaultServerRetryTimeout,
		ServerFailureLimit: DefaultServerFailureLimit,
		Limits:             DefaultClientLimits(),
	}
}

// DefaultClientLimits returns the default per-pool client limits.
func DefaultClientLimits() ClientLimits {
	return ClientLimits{
		MaxConnections:        DefaultMaxConnections,
		IdleTimeout:           DefaultIdleTimeout,
		WriteTimeout:          DefaultWriteTimeout,
		MaxRequestBytes:       DefaultMaxRequestBytes,
		MaxBulkBytes:          DefaultMaxBulkBytes,
		MaxArgs:               DefaultMaxArgs,
		MaxInlineBytes:        DefaultMaxInlineBytes,
		MaxPendingOutputBytes: DefaultMaxPendingOutputBytes,
		MaxPipeline:           DefaultMaxPipeline,
		ItemSizeMax:           DefaultItemSizeMax,
		EventLoop:             DefaultEventLoop,
	}
}

// Pool returns the pool called name, or nil.
func (c *Config) Pool(name string) *Pool {
	for _, p := range c.Pools {
		if p.Name == name {
			return p
		}
	}
	return nil
}
