// Package embedded starts in-process cache servers, so the shipped configuration runs on a
// machine with nothing but Go. They listen on loopback ports like real servers and discoh talks
// to them over TCP, through the same code as to real ones.
package embedded

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
)

// Redis is an in-process Redis-compatible server (miniredis).
type Redis struct {
	m *miniredis.Miniredis
}

// StartRedis starts a server on addr ("127.0.0.1:0" picks a free port).
func StartRedis(addr string) (*Redis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(addr); err != nil {
		return nil, fmt.Errorf("embedded: redis on %s: %w", addr, err)
	}
	m.Server().SetPreHook(refuseCommandSubcommands)
	return &Redis{m: m}, nil
}

// refuseCommandSubcommands answers COMMAND's subcommands (DOCS, COUNT, INFO, ...) as a Redis
// without them does: miniredis answers every one with its COMMAND table, which redis-cli 7
// cannot read as COMMAND DOCS (it aborts). Told the subcommand is unknown, redis-cli falls back
// to its built-in help. COMMAND alone still answers.
func refuseCommandSubcommands(c *server.Peer, cmd string, args ...string) bool {
	if cmd != "COMMAND" || len(args) == 0 {
		return false
	}
	c.WriteError(fmt.Sprintf("ERR unknown subcommand '%s'. Try COMMAND HELP.", args[0]))
	return true
}

// Addr is the address the server listens on.
func (r *Redis) Addr() string { return r.m.Addr() }

// Close stops the server.
func (r *Redis) Close() { r.m.Close() }
