package commands

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/respserver/commands/internal/redisproc"
)

// noKeysReply is how COMMAND GETKEYS answers for a command without keys.
const noKeysReply = "ERR The command has no key arguments"

// startRedis runs a redis-server for the test on a free loopback port.
func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	srv, err := redisproc.Start(t.Context(), "redis-server")
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestKeysMatchRedis asks the real server for the keys of every case with
// COMMAND GETKEYS, Redis's own answer, and compares it with Keys.
func TestKeysMatchRedis(t *testing.T) {
	rdb := startRedis(t)
	for _, tc := range keysCases {
		if tc.differs != "" {
			continue
		}
		t.Run(tc.line, func(t *testing.T) {
			args := split(tc.line)
			keys, err := Lookup(args).Keys(args, nil)
			redisKeys, redisErr := getKeys(t, rdb, args)
			switch {
			case err != nil && redisErr == nil:
				t.Errorf("Keys error = %v; Redis answers keys %q", err, redisKeys)
			case err == nil && redisErr != nil && !(len(keys) == 0 && redisErr.Error() == noKeysReply):
				t.Errorf("Keys = %q; Redis answers %v", names(args, keys), redisErr)
			case err == nil && redisErr == nil && !slices.Equal(names(args, keys), redisKeys):
				t.Errorf("Keys = %q; Redis answers %q", names(args, keys), redisKeys)
			}
		})
	}
}

// getKeys runs COMMAND GETKEYS; a Redis error reply comes back as error.
func getKeys(t *testing.T, rdb *redis.Client, args [][]byte) ([]string, error) {
	t.Helper()
	cmd := []any{"COMMAND", "GETKEYS"}
	for _, a := range args {
		cmd = append(cmd, string(a))
	}
	keys, err := rdb.Do(t.Context(), cmd...).StringSlice()
	var redisErr redis.Error
	if err != nil && !errors.As(err, &redisErr) {
		t.Fatalf("COMMAND GETKEYS: %v", err)
	}
	return keys, err
}

// names returns the arguments at the given indexes.
func names(args [][]byte, indexes []int) []string {
	out := make([]string, 0, len(indexes))
	for _, i := range indexes {
		out = append(out, string(args[i]))
	}
	return out
}

// TestTableMatchesRedis checks that the table lists exactly the commands
// the installed redis-server has; regenerate with go generate if not.
func TestTableMatchesRedis(t *testing.T) {
	rdb := startRedis(t)
	list, err := rdb.Do(t.Context(), "COMMAND", "LIST").StringSlice()
	if err != nil {
		t.Fatalf("COMMAND LIST: %v", err)
	}
	count, err := rdb.Do(t.Context(), "COMMAND", "COUNT").Int()
	if err != nil {
		t.Fatalf("COMMAND COUNT: %v", err)
	}
	if count != Count() {
		t.Errorf("Count() = %d; Redis has %d commands", Count(), count)
	}
	for _, name := range list { // Subcommands are listed as "parent|sub".
		args := split(strings.ReplaceAll(name, "|", " "))
		if c := Lookup(args); c == nil || c.Name != name {
			t.Errorf("Lookup(%q) = %v; want Redis's %q", args, c, name)
		}
	}
	info, err := rdb.InfoMap(t.Context(), "server").Result()
	if err != nil {
		t.Fatalf("INFO server: %v", err)
	}
	if got := info["Server"]["redis_version"]; got != RedisVersion {
		t.Errorf("redis-server is %s; the table is from %s", got, RedisVersion)
	}
}
