package main

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"
)

// A client that hangs up while blocked, or that leaves a WATCH behind, has its own server
// connection closed by discoh: that is discoh's decision, not a server failure, and must never
// take the server out for everyone else.
func TestAbandonedPinnedConnectionsKeepTheServerUp(t *testing.T) {
	for _, replicated := range []string{"", "    replicas: 2"} {
		t.Run("replicas="+strings.TrimSpace(strings.TrimPrefix(replicated, "    replicas:")), func(t *testing.T) {
			st := startRedisStack(t, 2, replicated)
			c := st.client(t, 2)
			if err := c.Set(t.Context(), "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			for range 3 { // more than server_failure_limit, with no success in between
				blocked := dialRaw(t, st.addr)
				blocked.send("*3\r\n$5\r\nBLPOP\r\n$5\r\nempty\r\n$1\r\n0\r\n")
				time.Sleep(50 * time.Millisecond) // let BLPOP reach the server
				blocked.nc.Close()
				time.Sleep(50 * time.Millisecond)
			}
			watcher := dialRaw(t, st.addr)
			watcher.send("*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n")
			watcher.expect("+OK\r\n")
			watcher.nc.Close()
			time.Sleep(50 * time.Millisecond)
			if got, err := c.Get(t.Context(), "k").Result(); got != "v" || err != nil {
				t.Fatalf("GET k after abandoned pinned connections = %q, %v; want v", got, err)
			}
			if info := c.Info(t.Context(), "servers").Val(); strings.Contains(info, "health=down") ||
				!strings.Contains(info, "failures=0") {
				t.Fatalf("servers after abandoned pinned connections:\n%s", info)
			}
		})
	}
}

// Redis serves the clients blocked on a key in the order they blocked; through discoh too, for
// clients that send their blocking commands one right after another. discoh runs on one
// processor here, as it does by default on this 2-core machine: with one event loop, "after"
// is the order the requests arrived in, as for Redis itself (with several loops, two requests
// a few microseconds apart are read in parallel, and neither came first).
func TestBlockedClientsServedInOrder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	st := startRedisStack(t, 1, "")
	c := st.client(t, 2)
	direct := st.direct(t, 0)
	for range 30 {
		first, second := dialRaw(t, st.addr), dialRaw(t, st.addr)
		first.send("*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n")
		second.send("*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n")
		waitBlocked(t, direct, 2)
		if err := c.RPush(t.Context(), "l", "a", "b").Err(); err != nil {
			t.Fatal(err)
		}
		first.expect("*2\r\n$1\r\nl\r\n$1\r\na\r\n")
		second.expect("*2\r\n$1\r\nl\r\n$1\r\nb\r\n")
		first.nc.Close()
		second.nc.Close()
	}
}

// waitBlocked waits until the server reports n blocked clients.
func waitBlocked(t *testing.T, direct *redis.Client, n int) {
	t.Helper()
	want := fmt.Sprintf("blocked_clients:%d\r", n)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if strings.Contains(direct.Info(t.Context(), "clients").Val(), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never had %d blocked clients", n)
		}
	}
}

// A subscriber leaves subscriber mode as with Redis: by RESET, or by unsubscribing from
// everything; the connection then takes any command again. Each step's bytes are Redis's own.
func TestSubscriberModeEnds(t *testing.T) {
	st := startRedisStack(t, 3, "")
	const subscribed = "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
	for _, tc := range []struct {
		name, send, want string
	}{
		{"unsubscribe outside subscriber mode", "UNSUBSCRIBE a b\r\nPUNSUBSCRIBE\r\n",
			"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n" +
				"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"},
		{"reset", "SUBSCRIBE ch\r\nRESET\r\nSET key:1 v\r\n", subscribed + "+RESET\r\n+OK\r\n"},
		{"unsubscribe from everything, pipelined", "SUBSCRIBE ch\r\nPSUBSCRIBE p*\r\nUNSUBSCRIBE\r\nGET key:1\r\nPUNSUBSCRIBE\r\nGET key:1\r\n",
			subscribed + "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n" +
				"*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n" +
				"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n" +
				"*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n$1\r\nv\r\n"},
		{"ping while subscribed", "SUBSCRIBE ch\r\nPING\r\nUNSUBSCRIBE ch\r\nPING\r\n",
			subscribed + "*2\r\n$4\r\npong\r\n$0\r\n\r\n*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n+PONG\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, st.addr)
			c.send(tc.send)
			c.expect(tc.want)
		})
	}
	// RESP3 subscribers get push replies; leaving works the same.
	c := dialRaw(t, st.addr)
	c.send("HELLO 3\r\n")
	if _, err := readReply(c.r); err != nil {
		t.Fatal(err)
	}
	c.send("SUBSCRIBE ch\r\nUNSUBSCRIBE ch\r\nGET key:1\r\n")
	c.expect(">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n>3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n$1\r\nv\r\n")
}

// Scripts and functions work wherever their keys live: SCRIPT LOAD and FUNCTION LOAD reach
// every server (redis-py's register_script and Lock.release call EVALSHA on the keys' server),
// keyless calls run on the first server, and bad key counts get Redis's own words.
func TestScriptsAndFunctionsOnEveryServer(t *testing.T) {
	st := startRedisStack(t, 3, "")
	c := st.client(t, 2)
	ctx := t.Context()
	sha, err := c.ScriptLoad(ctx, "return redis.call('GET', KEYS[1])").Result()
	if err != nil {
		t.Fatal(err)
	}
	keys := spreadKeys(t, st, "script")
	for _, k := range keys {
		c.Set(ctx, k, "v:"+k, 0)
		if got, err := c.EvalSha(ctx, sha, []string{k}).Result(); got != "v:"+k || err != nil {
			t.Errorf("EVALSHA on %s = %v, %v; want v:%s", k, got, err, k)
		}
	}
	if got, err := c.ScriptExists(ctx, sha, "ffffffffffffffffffffffffffffffffffffffff").Result(); err != nil ||
		len(got) != 2 || !got[0] || got[1] {
		t.Errorf("SCRIPT EXISTS = %v, %v; want [true false]", got, err)
	}
	if got, err := c.Eval(ctx, "return 7", nil).Result(); got != int64(7) || err != nil {
		t.Errorf("keyless EVAL = %v, %v; want 7", got, err)
	}
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"eval", "return 1", "2", "a"}, "ERR Number of keys can't be greater than number of args"},
		{[]any{"eval", "return 1", "-1"}, "ERR Number of keys can't be negative"},
		{[]any{"eval", "return 1", "x"}, "ERR value is not an integer or out of range"},
		{[]any{"evalsha", "ffffffffffffffffffffffffffffffffffffffff", "0"}, "NOSCRIPT No matching script. Please use EVAL."},
	} {
		if err := c.Do(ctx, tc.args...).Err(); err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v; want %q", tc.args, err, tc.want)
		}
	}
	if err := c.Do(ctx, "script", "flush").Err(); err != nil {
		t.Fatal(err)
	}
	for i := range st.servers {
		if got := st.direct(t, i).ScriptExists(ctx, sha).Val(); len(got) != 1 || got[0] {
			t.Errorf("server %d still has the script after SCRIPT FLUSH: %v", i, got)
		}
	}

	lib := "#!lua name=discohlib\nredis.register_function('getk', function(keys) return redis.call('GET', keys[1]) end)"
	if got, err := c.FunctionLoad(ctx, lib).Result(); got != "discohlib" || err != nil {
		t.Fatalf("FUNCTION LOAD = %q, %v", got, err)
	}
	for _, k := range keys {
		if got, err := c.FCall(ctx, "getk", []string{k}).Result(); got != "v:"+k || err != nil {
			t.Errorf("FCALL on %s = %v, %v; want v:%s", k, got, err, k)
		}
	}
	if got, err := c.FunctionList(ctx, redis.FunctionListQuery{}).Result(); err != nil || len(got) != 1 {
		t.Errorf("FUNCTION LIST = %v, %v; want one library", got, err)
	}
	if err := c.FunctionDelete(ctx, "discohlib").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.FCall(ctx, "getk", []string{keys[0]}).Err(); err == nil || err.Error() != "ERR Function not found" {
		t.Errorf("FCALL after FUNCTION DELETE: %v; want ERR Function not found", err)
	}
}

// RANDOMKEY answers with a key of some server that has keys, nil only when none has any.
func TestRandomKey(t *testing.T) {
	st := startRedisStack(t, 3, "")
	c := st.client(t, 2)
	ctx := t.Context()
	if err := c.RandomKey(ctx).Err(); err != redis.Nil {
		t.Fatalf("RANDOMKEY on empty servers: %v; want nil", err)
	}
	keys := spreadKeys(t, st, "rk")
	c.Set(ctx, keys[len(keys)-1], "x", 0)
	for range 10 {
		if got, err := c.RandomKey(ctx).Result(); got != keys[len(keys)-1] || err != nil {
			t.Fatalf("RANDOMKEY = %q, %v; want %q, the only key", got, err, keys[len(keys)-1])
		}
	}
}

// Commands that would move data where discoh never reads (another database) or make a server
// connect to an address a client chooses are refused, and nothing moves.
func TestCommandsThatEscapeDatabaseZeroAreRefused(t *testing.T) {
	st := startRedisStack(t, 1, "")
	c := st.client(t, 2)
	ctx := t.Context()
	c.Set(ctx, "k", "v", 0)
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"move", "k", "1"}, "ERR MOVE is not supported: discoh serves only DB 0"},
		{[]any{"copy", "k", "k2", "db", "1"}, "ERR COPY ... DB is not supported: discoh serves only DB 0"},
		{[]any{"swapdb", "0", "1"}, "ERR SWAPDB is not supported: discoh serves only DB 0"},
		{[]any{"select", "1"}, "ERR DB index is out of range (discoh serves only DB 0)"},
		{[]any{"migrate", "127.0.0.1", "1", "k", "0", "1000"}, "ERR MIGRATE is not supported: discoh does not let clients make servers connect elsewhere"},
	} {
		if err := c.Do(ctx, tc.args...).Err(); err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v; want %q", tc.args, err, tc.want)
		}
	}
	if got, err := c.Get(ctx, "k").Result(); got != "v" || err != nil {
		t.Errorf("GET k after the refusals = %q, %v; want v", got, err)
	}
	if got, err := c.Do(ctx, "copy", "k", "k2", "db", "0").Result(); got != int64(1) || err != nil {
		t.Errorf("COPY k k2 DB 0 = %v, %v; want 1", got, err)
	}
	if err := c.Do(ctx, "copy", "k", "k3", "db", "x").Err(); err == nil || err.Error() != "ERR value is not an integer or out of range" {
		t.Errorf("COPY k k3 DB x: %v; want Redis's own refusal", err)
	}
}

// A client of a server that is down is told so in words it can act on: which server, since
// when, when discoh tries again, and why.
func TestDownServerErrorSaysWhatHappened(t *testing.T) {
	st := startRedisStack(t, 1, "")
	c := st.client(t, 2)
	ctx := t.Context()
	st.servers[0].Kill()
	var err error
	for range 3 { // server_failure_limit is 2
		err = c.Get(ctx, "k").Err()
	}
	want := regexp.MustCompile(`^ERR backend s1 \(127\.0\.0\.1:\d+\): down since \d\d:\d\d:\d\d, retrying in [0-9.]+m?s \(last error: .*connection refused\)$`)
	if err == nil || !want.MatchString(err.Error()) {
		t.Fatalf("GET with the server down: %v; want it to match %s", err, want)
	}
}

// A bad key count is refused in Redis's own words, whatever the command.
func TestBadKeyCountsWordedAsRedis(t *testing.T) {
	st := startRedisStack(t, 2, "")
	c := st.client(t, 2)
	direct := st.direct(t, 0)
	ctx := t.Context()
	for _, args := range [][]any{
		{"sintercard", "2", "a"},
		{"zunion", "0", "a"},
		{"zunionstore", "d", "-12", "a"},
		{"lmpop", "x", "a", "left"},
		{"eval", "return 1", "01", "a"},
	} {
		want := direct.Do(ctx, args...).Err()
		if got := c.Do(ctx, args...).Err(); want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("%v through discoh: %v; directly: %v", args, got, want)
		}
	}
}

// Errors for subcommands name them as Redis does ('xgroup|help'), and an unknown subcommand of
// a container command gets Redis's own words (found by Redis's stream unit, run through
// discoh).
func TestSubcommandErrorsWordedAsRedis(t *testing.T) {
	st := startRedisStack(t, 1, "")
	c := st.client(t, 2)
	direct := st.direct(t, 0)
	ctx := t.Context()
	for _, args := range [][]any{
		{"xgroup", "help", "xxx"},
		{"xinfo", "help", "xxx"},
		{"xgroup", "create", "s"},
		{"xinfo", "consumers", "s"},
		{"memory", "usage"},
		{"object", "freq"},
		{"object", "foo"},
		{"memory", "foo"},
		{"xinfo", "foo", "s"},
		{"script", "foo"},
		{"function", "foo"},
		{"client", "foo"},
		{"object"},
		{"get"},
		{"nosuchcommand", "a"},
	} {
		want := direct.Do(ctx, args...).Err()
		if got := c.Do(ctx, args...).Err(); want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("%v through discoh: %v; directly: %v", args, got, want)
		}
	}
}

// CLIENT REPLY OFF, SKIP and ON silence replies as Redis does; a subscriber still gets its
// subscription replies and messages.
func TestClientReply(t *testing.T) {
	st := startRedisStack(t, 2, "")
	script := "CLIENT REPLY OFF\r\nSET key:1 a\r\nGET key:1\r\nCLIENT REPLY ON\r\nGET key:1\r\n" +
		"CLIENT REPLY SKIP\r\nGET key:1\r\nGET key:1\r\nCLIENT REPLY OFF\r\nPSUBSCRIBE ch*\r\n"
	want := "+OK\r\n$1\r\na\r\n$1\r\na\r\n*3\r\n$10\r\npsubscribe\r\n$3\r\nch*\r\n:1\r\n"
	for _, addr := range []string{st.servers[0].Addr, st.addr} { // Redis itself, then discoh
		c := dialRaw(t, addr)
		c.send(script)
		c.expect(want)
	}
}

// A memcached multi-get of any number of keys is answered, as memcached answers it (discoh
// used to refuse more than 4,096 keys with SERVER_ERROR out of memory writing get response).
func TestMemcacheMultiGetOfManyKeys(t *testing.T) {
	st := startMemcacheStack(t, 2, "")
	mc := memcache.New(st.addr)
	mc.Timeout = 10 * time.Second
	const n = 20000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("many:%d", i)
		if i%3 == 0 {
			if err := mc.Set(&memcache.Item{Key: keys[i], Value: []byte(keys[i])}); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := dialRaw(t, st.addr)
	c.nc.SetDeadline(time.Now().Add(20 * time.Second))
	c.send("get " + strings.Join(keys, " ") + "\r\n")
	for i := 0; i < n; i += 3 {
		c.expect(fmt.Sprintf("VALUE %s 0 %d\r\n%s\r\n", keys[i], len(keys[i]), keys[i]))
	}
	c.expect("END\r\n")
}

// A RESP3 subscriber may send CLIENT REPLY, as with Redis; a RESP2 one may not.
func TestClientReplyWhileSubscribed(t *testing.T) {
	st := startRedisStack(t, 2, "")
	for _, addr := range []string{st.servers[0].Addr, st.addr} { // Redis itself, then discoh
		c := dialRaw(t, addr)
		c.send("HELLO 3\r\n")
		if _, err := readReply(c.r); err != nil {
			t.Fatal(err)
		}
		c.send("SUBSCRIBE ch\r\nCLIENT REPLY OFF\r\nCLIENT REPLY ON\r\nUNSUBSCRIBE ch\r\n")
		c.expect(">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n+OK\r\n>3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n")
		c2 := dialRaw(t, addr)
		c2.send("SUBSCRIBE ch\r\nCLIENT REPLY OFF\r\n")
		c2.expect("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n-ERR Can't execute 'client|reply'")
	}
}

// A transaction runs on its server as it comes, so the server's own refusals while queueing
// (OOM under maxmemory) reach the client at once and make EXEC abort, byte for byte as with
// Redis; and a DISCARD after them works.
func TestTransactionQueuedOnTheServer(t *testing.T) {
	st := startRedisStack(t, 1, "")
	direct := st.direct(t, 0)
	ctx := t.Context()
	if err := direct.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.ConfigSet(context.Background(), "maxmemory", "0") })
	want := sameAsRedis(t, st, "MULTI\r\nSET x 1\r\nGET x\r\nEXEC\r\nMULTI\r\nSET x 1\r\nDISCARD\r\nPING\r\n", 8)
	if !strings.Contains(want, "OOM") || !strings.Contains(want, "EXECABORT") {
		t.Errorf("Redis itself answered\n%s\nwant an OOM while queueing and an EXECABORT", want)
	}
}

// A command Redis refuses inside MULTI (SAVE, SHUTDOWN, ...) is refused at once, as Redis does,
// and EXEC aborts: byte for byte as Redis itself answers (found by Redis's multi unit).
func TestNoMultiCommandsRefusedInsideMulti(t *testing.T) {
	st := startRedisStack(t, 1, "")
	sameAsRedis(t, st, "MULTI\r\nSET x 1\r\nSAVE\r\nEXEC\r\nMULTI\r\nSHUTDOWN\r\nEXEC\r\nGET x\r\n", 8)
}

// sameAsRedis sends script to the stack's first server, then to discoh, reads n replies from
// each, reports where discoh's differ, and returns Redis's.
func sameAsRedis(t *testing.T, st *stack, script string, n int) (want string) {
	t.Helper()
	for i, addr := range []string{st.servers[0].Addr, st.addr} { // Redis itself, then discoh
		c := dialRaw(t, addr)
		c.send(script)
		var got strings.Builder
		for range n {
			r, err := readReply(c.r)
			if err != nil {
				t.Fatal(err)
			}
			got.WriteString(r + "\n")
		}
		if i == 0 {
			want = got.String()
			continue
		}
		if got.String() != want {
			t.Errorf("through discoh:\n%s\nwant, as Redis itself:\n%s", got.String(), want)
		}
	}
	return want
}
