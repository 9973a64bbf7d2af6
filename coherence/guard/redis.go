package guard

import (
	"bytes"
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/discoh/discoh/resp"
)

// RedisDoer sends one command to the Redis server that owns key and returns its raw RESP2
// reply: one complete frame, which may be an error reply. The guard reads the reply before
// its next call and keeps no part of it.
type RedisDoer interface {
	Do(ctx context.Context, key []byte, args ...[]byte) (reply []byte, err error)
}

// Redis is the guard state on Redis: the value under its key, as clients stored it, and a
// sidecar hash (RedisSidecar) on the same server, both changed only by Lua scripts. The
// scripts run with EVALSHA, falling back to EVAL when the server does not have them cached.
type Redis struct {
	do RedisDoer
}

// NewRedis returns the guard that sends its scripts through do.
func NewRedis(do RedisDoer) *Redis { return &Redis{do: do} }

// sidecarSuffix ends the name of every sidecar. Its NUL byte keeps it apart from the keys
// applications use; the proxy should refuse client keys that end with it.
const sidecarSuffix = "\x00discoh"

// RedisSidecar returns the name of key's sidecar hash. Only the guard's scripts touch it, and
// they run on key's server, so it needs no hash tag.
func RedisSidecar(key []byte) []byte {
	return append(append(make([]byte, 0, len(key)+len(sidecarSuffix)), key...), sidecarSuffix...)
}

// IsRedisSidecar reports whether key names a sidecar.
func IsRedisSidecar(key []byte) bool { return bytes.HasSuffix(key, []byte(sidecarSuffix)) }

// script is one Lua script and its SHA1, which EVALSHA names it by.
type script struct {
	src string
	sha []byte
}

//go:embed lua/prelude.lua
var prelude string

//go:embed lua/invalidate.lua
var invalidateLua string

//go:embed lua/install.lua
var installLua string

//go:embed lua/fill.lua
var fillLua string

//go:embed lua/read.lua
var readLua string

var (
	invalidateScript = newScript(invalidateLua)
	installScript    = newScript(installLua)
	fillScript       = newScript(fillLua)
	readScript       = newScript(readLua)
)

func newScript(body string) *script {
	src := prelude + body
	sum := sha1.Sum([]byte(src))
	return &script{src: src, sha: []byte(hex.EncodeToString(sum[:]))}
}

// Invalidate implements Guard.
func (r *Redis) Invalidate(ctx context.Context, key []byte, window time.Duration) (Version, error) {
	reply, err := r.run(ctx, invalidateScript, key, msArg(max(window, time.Millisecond)))
	if err != nil {
		return 0, err
	}
	return parseVersion(reply)
}

// Install implements Guard.
func (r *Redis) Install(ctx context.Context, key []byte, v Version, val Value) (Outcome, error) {
	return r.outcome(r.run(ctx, installScript, key, versionArg(v), []byte("1"), val.Data, msArg(val.TTL)))
}

// InstallAbsent implements Guard.
func (r *Redis) InstallAbsent(ctx context.Context, key []byte, v Version) (Outcome, error) {
	return r.outcome(r.run(ctx, installScript, key, versionArg(v), []byte("0"), nil, []byte("0")))
}

// Fill implements Guard.
func (r *Redis) Fill(ctx context.Context, key []byte, val Value) (Outcome, error) {
	return r.outcome(r.run(ctx, fillScript, key, val.Data, msArg(val.TTL)))
}

// Read implements Guard.
func (r *Redis) Read(ctx context.Context, key []byte, leaseFor time.Duration) (Reading, error) {
	// Fast path: the script starts with GET and answers a hit with no side effect, so a plain
	// GET that hits gives the same answer at the cost of a GET, not of a script.
	if reply, err := r.do.Do(ctx, key, []byte("GET"), key); err == nil {
		if data, null, err := resp.ParseBulk(reply); err == nil && !null {
			return Reading{State: Hit, Value: Value{Data: bytes.Clone(data)}}, nil
		}
	}
	reply, err := r.run(ctx, readScript, key, msArg(max(leaseFor, time.Millisecond)))
	if err != nil {
		return Reading{}, err
	}
	return parseReading(reply)
}

// run calls s on key and its sidecar, by SHA1 first and by source if the server has not
// cached it (after a restart or SCRIPT FLUSH).
func (r *Redis) run(ctx context.Context, s *script, key []byte, args ...[]byte) ([]byte, error) {
	call := append([][]byte{[]byte("EVALSHA"), s.sha, []byte("2"), key, RedisSidecar(key)}, args...)
	reply, err := r.do.Do(ctx, key, call...)
	if err == nil && bytes.HasPrefix(reply, []byte("-NOSCRIPT")) {
		call[0], call[1] = []byte("EVAL"), []byte(s.src)
		reply, err = r.do.Do(ctx, key, call...)
	}
	if err != nil {
		return nil, err
	}
	if resp.IsError(reply) {
		return nil, fmt.Errorf("%w: %s", ErrBackend, bytes.TrimRight(reply[1:], "\r\n"))
	}
	return reply, nil
}

// redisOutcomes maps the scripts' replies to outcomes.
var redisOutcomes = map[string]Outcome{
	"stored": Stored, "window": RefusedWindow, "nolease": RefusedNoLease,
	"stale": RefusedStale, "missing": GuardMissing,
}

func (r *Redis) outcome(reply []byte, err error) (Outcome, error) {
	if err != nil {
		return 0, err
	}
	word, _, err := resp.ParseBulk(reply)
	out, ok := redisOutcomes[string(word)]
	if err != nil || !ok {
		return 0, fmt.Errorf("%w: %q", ErrProtocol, reply)
	}
	return out, nil
}

func parseReading(reply []byte) (Reading, error) {
	var parts [2][]byte
	frames, err := resp.SplitArray(reply, parts[:0])
	if err != nil || len(frames) == 0 {
		return Reading{}, fmt.Errorf("%w: %q", ErrProtocol, reply)
	}
	word, _, err := resp.ParseBulk(frames[0])
	switch {
	case err == nil && string(word) == "hit" && len(frames) == 2:
		data, _, err := resp.ParseBulk(frames[1])
		return Reading{State: Hit, Value: Value{Data: bytes.Clone(data)}}, err
	case err == nil && string(word) == "pending" && len(frames) == 2:
		v, err := parseVersion(frames[1])
		return Reading{State: Pending, Version: v}, err
	case err == nil && string(word) == "miss":
		return Reading{State: Miss}, nil
	}
	return Reading{}, fmt.Errorf("%w: %q", ErrProtocol, reply)
}

// parseVersion reads a version from a bulk string reply.
func parseVersion(reply []byte) (Version, error) {
	b, _, err := resp.ParseBulk(reply)
	v, perr := strconv.ParseUint(string(b), 10, 64)
	if err != nil || perr != nil || v == 0 {
		return 0, fmt.Errorf("%w: version %q", ErrProtocol, reply)
	}
	return Version(v), nil
}

func versionArg(v Version) []byte { return strconv.AppendUint(nil, uint64(v), 10) }

func msArg(d time.Duration) []byte { return strconv.AppendInt(nil, msCeil(max(d, 0)), 10) }
