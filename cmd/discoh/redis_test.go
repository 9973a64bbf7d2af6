package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestKeysSpreadOverServers(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := t.Context()
	for _, proto := range []int{2, 3} {
		c := st.client(t, proto)
		for i := range 300 {
			key := fmt.Sprintf("spread:%d:%d", proto, i)
			if err := c.Set(ctx, key, i, 0).Err(); err != nil {
				t.Fatalf("RESP%d SET %s: %v", proto, key, err)
			}
			got, err := c.Get(ctx, key).Int()
			if err != nil || got != i {
				t.Fatalf("RESP%d GET %s = %d, %v; want %d", proto, key, got, err, i)
			}
		}
	}
	checkPlacement(t, st, "spread:", 600)
}

// checkPlacement checks that every key with prefix sits on the server the ketama ring over the
// names s1..sN picks (the names twemproxy would hash), and that every server got some.
func checkPlacement(t *testing.T, st *stack, prefix string, want int) {
	t.Helper()
	ctx := t.Context()
	r := testRing(len(st.servers))
	total := 0
	for i := range st.servers {
		keys, err := st.direct(t, i).Keys(ctx, prefix+"*").Result()
		if err != nil || len(keys) == 0 {
			t.Errorf("server %d holds %d keys (%v); want some", i, len(keys), err)
		}
		for _, k := range keys {
			if owner := r.Owner([]byte(k)); owner != i {
				t.Errorf("key %s on server %d; ketama says %d", k, i, owner)
			}
		}
		total += len(keys)
	}
	if total != want {
		t.Errorf("servers hold %d keys in all; want %d", total, want)
	}
}

func TestMultiKeyCommandsSplitAndMerge(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := t.Context()
	c := st.client(t, 3)
	var keys []string
	var pairs []any
	for i := range 20 {
		keys = append(keys, fmt.Sprintf("mk:%d", i))
		pairs = append(pairs, keys[i], fmt.Sprintf("v%d", i))
	}
	if err := c.MSet(ctx, pairs...).Err(); err != nil {
		t.Fatalf("MSET: %v", err)
	}
	query := append([]string{"mk:missing"}, keys...)
	vals, err := c.MGet(ctx, query...).Result()
	if err != nil {
		t.Fatalf("MGET: %v", err)
	}
	if vals[0] != nil {
		t.Errorf("MGET missing key = %v; want nil", vals[0])
	}
	for i, v := range vals[1:] {
		if v != fmt.Sprintf("v%d", i) {
			t.Fatalf("MGET[%d] = %v; want v%d", i+1, v, i)
		}
	}
	checkInt(t, "EXISTS", c.Exists(ctx, append(keys, "mk:missing", keys[0])...), 21)
	checkInt(t, "TOUCH", c.Touch(ctx, keys[:10]...), 10)
	checkInt(t, "UNLINK", c.Unlink(ctx, keys[:5]...), 5)
	checkInt(t, "DEL", c.Del(ctx, keys...), 15)
	checkInt(t, "EXISTS after DEL", c.Exists(ctx, keys...), 0)
}

func checkInt(t *testing.T, what string, cmd *redis.IntCmd, want int64) {
	t.Helper()
	got, err := cmd.Result()
	if err != nil || got != want {
		t.Errorf("%s = %d, %v; want %d", what, got, err, want)
	}
}

func TestCrossServerCommandsNeedHashTags(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := t.Context()
	c := st.client(t, 2)
	keys := spreadKeys(t, st, "set")
	err := c.SUnionStore(ctx, keys[0], keys[1], keys[2]).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Errorf("SUNIONSTORE across servers: err = %v; want CROSSSLOT", err)
	}
	c.SAdd(ctx, "{u1}a", "x", "y")
	c.SAdd(ctx, "{u1}b", "y", "z")
	checkInt(t, "SUNIONSTORE with hash tags", c.SUnionStore(ctx, "{u1}dst", "{u1}a", "{u1}b"), 3)
	if err := c.Rename(ctx, "{u1}dst", "{u1}moved").Err(); err != nil {
		t.Errorf("RENAME within a hash tag: %v", err)
	}
}

// spreadKeys returns three keys owned by three different servers (the first three servers of
// the stack), by the ring the stacks use.
func spreadKeys(t *testing.T, st *stack, prefix string) []string {
	t.Helper()
	r := testRing(len(st.servers))
	owners := map[int]string{}
	for i := 0; len(owners) < 3 && i < 10000; i++ {
		key := fmt.Sprintf("%s:%d:%s", prefix, i, strings.Repeat("k", i%13))
		if _, ok := owners[r.Owner([]byte(key))]; !ok {
			owners[r.Owner([]byte(key))] = key
		}
	}
	if len(owners) < 3 {
		t.Fatalf("found keys on %d servers; want 3", len(owners))
	}
	return []string{owners[0], owners[1], owners[2]}
}

func TestCommandErrorsKeepTheConnection(t *testing.T) {
	st := startRedisStack(t, 2, "")
	ctx := t.Context()
	c := st.client(t, 2)
	c.Options().PoolSize = 1
	cases := []struct {
		args []any
		want string
	}{
		{[]any{"nosuchcommand", "x"}, "ERR unknown command 'nosuchcommand', with args beginning with: 'x'"},
		{[]any{"mset", "key:1", "v", "key:2"}, "ERR wrong number of arguments for 'mset' command"},
		{[]any{"auth", "secret"}, "ERR AUTH <password> called without any password configured"},
		{[]any{"config", "get", "maxmemory"}, "ERR unsupported command 'config'"},
		{[]any{"get"}, "ERR wrong number of arguments for 'get' command"},
		{[]any{"select", "1"}, "ERR DB index is out of range"},
		{[]any{"lastsave"}, "ERR unsupported command 'lastsave'"},
	}
	for _, tc := range cases {
		err := c.Do(ctx, tc.args...).Err()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: err = %v; want prefix %q", tc.args, err, tc.want)
		}
		if got := c.Ping(ctx).Val(); got != "PONG" {
			t.Fatalf("PING after %v = %q; want PONG", tc.args, got)
		}
	}
}

func TestPipelineKeepsOrder(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := t.Context()
	for _, proto := range []int{2, 3} {
		c := st.client(t, proto)
		pipe := c.Pipeline()
		const n = 3000
		for i := range n {
			key := fmt.Sprintf("pipe:%d", i%97)
			pipe.Incr(ctx, key)
			pipe.Get(ctx, key)
		}
		cmds, err := pipe.Exec(ctx)
		if err != nil {
			t.Fatalf("RESP%d pipeline: %v", proto, err)
		}
		counts := map[string]int64{}
		for i := 0; i < len(cmds); i += 2 {
			key := cmds[i].Args()[1].(string)
			counts[key]++
			incr := cmds[i].(*redis.IntCmd).Val()
			get, _ := cmds[i+1].(*redis.StringCmd).Int64()
			if incr != get || incr != counts[key]+int64(proto-2)*int64(countOf(n, key)) {
				t.Fatalf("RESP%d reply %d: INCR %s = %d, GET = %d; want both %d", proto, i, key, incr, get, counts[key])
			}
		}
	}
}

// countOf is how many times a key of TestPipelineKeepsOrder was incremented in one round.
func countOf(n int, key string) int {
	var i int
	fmt.Sscanf(key, "pipe:%d", &i)
	c := 0
	for j := range n {
		if j%97 == i {
			c++
		}
	}
	return c
}

func TestTransactions(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := t.Context()
	c := st.client(t, 3)
	cmds, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "{acct}a", 10, 0)
		p.IncrBy(ctx, "{acct}a", 5)
		p.Get(ctx, "{acct}a")
		return nil
	})
	if err != nil {
		t.Fatalf("MULTI/EXEC: %v", err)
	}
	if got := cmds[2].(*redis.StringCmd).Val(); got != "15" {
		t.Errorf("GET inside EXEC = %q; want 15", got)
	}
	keys := spreadKeys(t, st, "tx")
	_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, keys[0], 1, 0)
		p.Set(ctx, keys[1], 1, 0)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "EXECABORT") && !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Errorf("MULTI across servers: err = %v; want CROSSSLOT/EXECABORT", err)
	}
	testWatch(t, c)
}

// testWatch runs go-redis's optimistic-locking counter from several goroutines: every
// increment must land exactly once.
func testWatch(t *testing.T, c *redis.Client) {
	ctx := t.Context()
	const workers, each = 4, 25
	incr := func() error {
		return c.Watch(ctx, func(tx *redis.Tx) error {
			n, err := tx.Get(ctx, "{w}counter").Int()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "{w}counter", n+1, 0)
				return nil
			})
			return err
		}, "{w}counter")
	}
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for range each {
				for {
					err := incr()
					if errors.Is(err, redis.TxFailedErr) {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatalf("WATCH increment: %v", err)
		}
	}
	if got, _ := c.Get(ctx, "{w}counter").Int(); got != workers*each {
		t.Errorf("counter = %d; want %d", got, workers*each)
	}
}

func TestBlockingCommands(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := t.Context()
	waiter, pusher := st.client(t, 2), st.client(t, 3)
	got := make(chan []string, 1)
	go func() {
		v, _ := waiter.BLPop(ctx, 5*time.Second, "queue").Result()
		got <- v
	}()
	time.Sleep(200 * time.Millisecond)
	if err := pusher.Set(ctx, "other", "still served while BLPOP waits", 0).Err(); err != nil {
		t.Fatalf("SET while another client blocks: %v", err)
	}
	pusher.RPush(ctx, "queue", "job1")
	select {
	case v := <-got:
		if !slices.Equal(v, []string{"queue", "job1"}) {
			t.Errorf("BLPOP = %v; want [queue job1]", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BLPOP did not return after RPUSH")
	}
	start := time.Now()
	err := waiter.BLPop(ctx, time.Second, "empty").Err()
	if !errors.Is(err, redis.Nil) || time.Since(start) < 900*time.Millisecond {
		t.Errorf("BLPOP timeout: err = %v after %v; want redis.Nil after ~1s", err, time.Since(start))
	}
}

func TestPubSub(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := t.Context()
	for _, proto := range []int{2, 3} {
		sub := st.client(t, proto).Subscribe(ctx, "news")
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatalf("RESP%d SUBSCRIBE: %v", proto, err)
		}
		n, err := st.client(t, 2).Publish(ctx, "news", "hello").Result()
		if err != nil || n != 1 {
			t.Fatalf("PUBLISH = %d, %v; want 1 subscriber", n, err)
		}
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil || msg.Payload != "hello" {
			t.Fatalf("RESP%d message = %v, %v; want hello", proto, msg, err)
		}
		sub.Close()
	}
}

func TestScanKeysDBSizeFlush(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := t.Context()
	c := st.client(t, 2)
	want := map[string]bool{}
	for i := range 250 {
		k := fmt.Sprintf("scan:%d", i)
		want[k] = true
		c.Set(ctx, k, i, 0)
	}
	checkInt(t, "DBSIZE", c.DBSize(ctx), 250)
	seen := map[string]bool{}
	iter := c.Scan(ctx, 0, "scan:*", 20).Iterator()
	for iter.Next(ctx) {
		seen[iter.Val()] = true
	}
	if err := iter.Err(); err != nil || len(seen) != 250 {
		t.Errorf("SCAN found %d keys, err %v; want 250", len(seen), err)
	}
	keys, err := c.Keys(ctx, "scan:1*").Result()
	if err != nil || len(keys) != 111 {
		t.Errorf("KEYS scan:1* = %d keys, %v; want 111", len(keys), err)
	}
	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
	checkInt(t, "DBSIZE after FLUSHALL", c.DBSize(ctx), 0)
}

func TestLocalCommands(t *testing.T) {
	st := startRedisStack(t, 2, "")
	ctx := context.Background()
	c := st.client(t, 3)
	c.Options().PoolSize = 1
	if err := c.Do(ctx, "client", "setname", "worker-7").Err(); err != nil {
		t.Fatalf("CLIENT SETNAME: %v", err)
	}
	if got := c.Do(ctx, "client", "getname").Val(); got != "worker-7" {
		t.Errorf("CLIENT GETNAME = %v; want worker-7", got)
	}
	for _, bad := range [][]any{{"client", "setname", "a b"}, {"client", "setname", "tab\there"},
		{"hello", "3", "setname", "a\nb"}} {
		err := c.Do(ctx, bad...).Err()
		if err == nil || !strings.Contains(err.Error(), "Client names cannot contain spaces") {
			t.Errorf("%v: %v; want Redis's invalid client name error", bad, err)
		}
	}
	if got := c.Do(ctx, "client", "getname").Val(); got != "worker-7" {
		t.Errorf("CLIENT GETNAME after refused names = %v; want worker-7", got)
	}
	if id, err := c.ClientID(ctx).Result(); err != nil || id < 1 {
		t.Errorf("CLIENT ID = %d, %v", id, err)
	}
	if got := c.Echo(ctx, "hi").Val(); got != "hi" {
		t.Errorf("ECHO = %q", got)
	}
	if tm, err := c.Time(ctx).Result(); err != nil || time.Since(tm).Abs() > time.Minute {
		t.Errorf("TIME = %v, %v", tm, err)
	}
	info, err := c.Info(ctx).Result()
	for _, want := range []string{"# Server", "discoh_version:", "# Servers", "server0:name=s1", "server1:name=s2", "total_commands_processed:"} {
		if err != nil || !strings.Contains(info, want) {
			t.Errorf("INFO lacks %q (err %v):\n%s", want, err, info)
		}
	}
	if n, err := c.Do(ctx, "command", "count").Int(); err != nil || n < 200 {
		t.Errorf("COMMAND COUNT = %d, %v", n, err)
	}
}

func TestServerDownFailsFastAndOthersServe(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := t.Context()
	c := st.client(t, 2)
	keys := spreadKeys(t, st, "down")
	for _, k := range keys {
		c.Set(ctx, k, "v", 0)
	}
	st.servers[1].Kill()
	for range 3 {
		start := time.Now()
		err := c.Get(ctx, keys[1]).Err()
		if err == nil || !strings.Contains(err.Error(), "backend s2") {
			t.Errorf("GET on a dead server: err = %v; want an error naming s2", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("GET on a dead server took %v; want a fast failure", d)
		}
	}
	for _, k := range []string{keys[0], keys[2]} {
		if got := c.Get(ctx, k).Val(); got != "v" {
			t.Errorf("GET %s on a live server = %q; want v", k, got)
		}
	}
}

func TestShutdownDrainsInFlightRequests(t *testing.T) {
	st := startRedisStack(t, 2, "")
	ctx := t.Context()
	c := st.client(t, 2)
	done := make(chan error, 1)
	go func() { done <- c.BLPop(ctx, time.Second, "nothing").Err() }()
	time.Sleep(200 * time.Millisecond)
	if err := st.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := <-done; !errors.Is(err, redis.Nil) {
		t.Errorf("BLPOP in flight at shutdown: err = %v; want its normal timeout reply (redis.Nil)", err)
	}
}

func TestMSetWithOddArgumentsAcrossServers(t *testing.T) {
	st := startRedisStack(t, 3, "")
	c := dialRaw(t, st.addr)
	keys := spreadKeys(t, st, "odd")
	c.send(fmt.Sprintf("MSET %s 1 %s 2 %s\r\nPING\r\n", keys[0], keys[1], keys[2]))
	c.expect("-ERR wrong number of arguments for 'mset' command\r\n+PONG\r\n")
}

func TestUnwatchInsideMultiIsQueued(t *testing.T) {
	st := startRedisStack(t, 2, "")
	c := dialRaw(t, st.addr)
	c.send("WATCH {w}k\r\nMULTI\r\nUNWATCH\r\nSET {w}k 1\r\n")
	c.expect("+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n")
	other := st.client(t, 2)
	other.Set(t.Context(), "{w}k", "changed", 0)
	c.send("EXEC\r\nGET {w}k\r\n")
	c.expect("*-1\r\n$7\r\nchanged\r\n")
}

func TestSubscriberCannotSendOtherCommands(t *testing.T) {
	st := startRedisStack(t, 3, "")
	c := dialRaw(t, st.addr)
	c.send("SUBSCRIBE ch\r\n")
	c.expect("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")
	c.send("SET key:10 x\r\n")
	c.expect("-ERR Can't execute 'set': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
	c.send("UNSUBSCRIBE ch\r\n")
	c.expect("*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n")
}

func TestClientsWithPasswordConnect(t *testing.T) {
	st := startRedisStack(t, 2, "")
	for _, proto := range []int{2, 3} {
		c := redis.NewClient(&redis.Options{Addr: st.addr, Protocol: proto, Password: "anything"})
		if err := c.Ping(t.Context()).Err(); err != nil {
			t.Errorf("RESP%d client with a password: %v", proto, err)
		}
		c.Close()
	}
}

func TestShutdownEndsForeverBlockedClients(t *testing.T) {
	old := drainTimeout
	drainTimeout = 300 * time.Millisecond
	t.Cleanup(func() { drainTimeout = old })
	st := startRedisStack(t, 2, "")
	c := st.client(t, 2)
	done := make(chan error, 1)
	go func() { done <- c.BLPop(context.Background(), 0, "never").Err() }()
	time.Sleep(200 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- st.stop() }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("discoh did not stop within 5s with a client in BLPOP 0")
	}
	err := <-done
	if rerr := redis.Error(nil); !errors.As(err, &rerr) || !strings.Contains(err.Error(), "closed by discoh") {
		t.Errorf("BLPOP 0 at shutdown: %v; want an error reply saying discoh closed it", err)
	}
}

func TestHungServerTimesOut(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := t.Context()
	c := st.client(t, 2)
	keys := spreadKeys(t, st, "hung")
	st.servers[1].Stop()
	defer st.servers[1].Cont()
	start := time.Now()
	err := c.Get(ctx, keys[1]).Err()
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("GET on a hung server: err = %v; want a timeout naming the server", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("GET on a hung server took %v; want about the pool's 1s timeout", d)
	}
	if err := c.Set(ctx, keys[0], "v", 0).Err(); err != nil {
		t.Errorf("SET on a live server while another hangs: %v", err)
	}
}

func TestClientThatStopsReadingIsClosed(t *testing.T) {
	st := startRedisStack(t, 1, "    client_write_timeout: 300ms")
	c := st.client(t, 2)
	c.Options().PoolSize = 1
	if err := c.Set(t.Context(), "big", strings.Repeat("x", 1<<20), 0).Err(); err != nil {
		t.Fatalf("SET big: %v", err)
	}
	raw := dialRaw(t, st.addr)
	raw.send(strings.Repeat("GET big\r\n", 60))
	deadline := time.Now().Add(10 * time.Second)
	for {
		info := c.Info(t.Context(), "clients").Val()
		if strings.Contains(info, "connected_clients:1\r\n") {
			// Only the INFO client is left. Copying the client's replies must not have held
			// the server's connection from its other clients long enough to time it out.
			if servers := c.Info(t.Context(), "servers").Val(); !strings.Contains(servers, "failures=0,") {
				t.Errorf("a client that stopped reading cost its server a failure:\n%s", servers)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a client that stopped reading 60 MB of replies is still connected after 10s:\n%s\n%s",
				info, c.Info(t.Context(), "servers", "stats").Val())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// INFO counts the clients connected now and since the start; each has its own CLIENT ID.
func TestClientCountsAndIDs(t *testing.T) {
	st := startRedisStack(t, 2, "")
	c := st.client(t, 2)
	c.Options().PoolSize = 1
	before := infoInt(t, c, "total_connections_received")
	ids := map[string]bool{}
	var raws []*rawConn
	for range 3 {
		r := dialRaw(t, st.addr)
		r.send("CLIENT ID\r\n")
		line, err := r.r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, ":") || ids[line] {
			t.Fatalf("CLIENT ID = %q, %v; want a new integer (have %v)", line, err, ids)
		}
		ids[line] = true
		raws = append(raws, r)
	}
	if n := infoInt(t, c, "connected_clients"); n != 4 {
		t.Errorf("connected_clients = %d with 3 raw clients and the INFO one; want 4", n)
	}
	if n := infoInt(t, c, "total_connections_received"); n != before+3 {
		t.Errorf("total_connections_received = %d after 3 more; want %d", n, before+3)
	}
	raws[0].nc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for infoInt(t, c, "connected_clients") != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("connected_clients = %d 5s after a client left; want 3", infoInt(t, c, "connected_clients"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
