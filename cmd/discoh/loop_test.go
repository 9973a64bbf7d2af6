package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/internal/testproc"
)

// These tests drive the paths event loops add (pools with replicas 1 and no coherence are
// served by them): requests larger than a loop's shared read buffer, replies larger than the
// socket takes at once, many clients on few loops.

// valueOf is key i's value: sizes from one byte to well past the loop's 64 KB read buffer.
func valueOf(i int) string {
	sizes := []int{1, 100, 70_000, 300_000}
	return string(bytes.Repeat([]byte{byte('a' + i%26)}, sizes[i%len(sizes)]))
}

func TestLoopLargeValuesPipelinedByManyClients(t *testing.T) {
	st := startRedisStack(t, 3, "")
	ctx := context.Background()
	var wg sync.WaitGroup
	for c := range 12 {
		wg.Go(func() {
			rc := st.client(t, 2+c%2)
			key := func(i int) string { return fmt.Sprintf("big:%d:%d", c, i) }
			pipe := rc.Pipeline()
			for i := range 24 {
				pipe.Set(ctx, key(i), valueOf(i), 0)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Errorf("client %d: pipelined SETs: %v", c, err)
				return
			}
			gets := make([]*redis.StringCmd, 24)
			for i := range gets {
				gets[i] = pipe.Get(ctx, key(i))
			}
			mget := pipe.MGet(ctx, key(0), key(2), key(3), key(5))
			if _, err := pipe.Exec(ctx); err != nil {
				t.Errorf("client %d: pipelined GETs: %v", c, err)
				return
			}
			for i, g := range gets {
				if g.Val() != valueOf(i) {
					t.Errorf("client %d: GET %s = %d bytes; want %d", c, key(i), len(g.Val()), len(valueOf(i)))
				}
			}
			for j, i := range []int{0, 2, 3, 5} {
				if v, _ := mget.Val()[j].(string); v != valueOf(i) {
					t.Errorf("client %d: MGET element %d = %d bytes; want %d", c, j, len(v), len(valueOf(i)))
				}
			}
		})
	}
	wg.Wait()
}

// A client that sends many requests for large values and only then starts reading makes the
// replies wait for the socket; every one must still arrive, whole and in order.
func TestLoopSlowReaderGetsEveryReply(t *testing.T) {
	st := startRedisStack(t, 2, "")
	value := bytes.Repeat([]byte("v"), 256<<10)
	if err := st.client(t, 2).Set(context.Background(), "slow", value, 0).Err(); err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", st.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const n = 40 // 10 MB of replies, far more than the socket buffers hold
	go func() {
		for range n {
			io.WriteString(nc, "*2\r\n$3\r\nGET\r\n$4\r\nslow\r\n")
		}
	}()
	time.Sleep(300 * time.Millisecond) // let the replies pile up
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(nc)
	for i := range n {
		header, err := r.ReadString('\n')
		if err != nil || header != "$"+strconv.Itoa(len(value))+"\r\n" {
			t.Fatalf("reply %d: header %q, %v", i, header, err)
		}
		body := make([]byte, len(value)+2)
		if _, err := io.ReadFull(r, body); err != nil || !bytes.Equal(body[:len(value)], value) {
			t.Fatalf("reply %d: body of %d bytes wrong or short: %v", i, len(body), err)
		}
	}
}

func TestLoopMemcachedLargeValuesFromManyClients(t *testing.T) {
	st := startMemcacheStack(t, 3, "")
	var wg sync.WaitGroup
	for c := range 10 {
		wg.Go(func() {
			mc := memcache.New(st.addr)
			mc.Timeout = 5 * time.Second
			keys := make([]string, 12)
			for i := range keys {
				keys[i] = fmt.Sprintf("mbig:%d:%d", c, i)
				if err := mc.Set(&memcache.Item{Key: keys[i], Value: []byte(valueOf(i))}); err != nil {
					t.Errorf("client %d: set %s: %v", c, keys[i], err)
					return
				}
			}
			items, err := mc.GetMulti(keys)
			if err != nil {
				t.Errorf("client %d: get of %d keys: %v", c, len(keys), err)
				return
			}
			for i, k := range keys {
				if string(items[k].Value) != valueOf(i) {
					t.Errorf("client %d: %s = %d bytes; want %d", c, k, len(items[k].Value), len(valueOf(i)))
				}
			}
		})
	}
	wg.Wait()
}

// TestClientMovesOffItsLoopAndBack: one connection alternates transactions, WATCH and blocking
// commands, which move it to a goroutine, with runs of plain requests long enough for it to go
// back to its loop (INFO counts the moves); every reply stays right through the moves.
func TestClientMovesOffItsLoopAndBack(t *testing.T) {
	st := startRedisStack(t, 2, "")
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: st.addr, Protocol: 2, PoolSize: 1, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	plain := func(round int) {
		t.Helper()
		for i := range 150 { // past frontend.rejoinAfter batches
			key := fmt.Sprintf("moves:%d:%d", round, i)
			if err := c.Set(ctx, key, i, 0).Err(); err != nil {
				t.Fatalf("round %d: SET %s: %v", round, key, err)
			}
			if got, err := c.Get(ctx, key).Int(); err != nil || got != i {
				t.Fatalf("round %d: GET %s = %d, %v; want %d", round, key, got, err, i)
			}
		}
	}
	// moves reads INFO's counts of moves off the loops and back.
	moves := func() (off, back int) {
		t.Helper()
		info := c.Info(ctx, "clients").Val()
		fmt.Sscanf(info[strings.Index(info, "clients_moved_off_loops:"):], "clients_moved_off_loops:%d\r\nclients_back_on_loops:%d", &off, &back)
		return off, back
	}
	for round := range 2 { // BLPOP's timeout is a second: go-redis rounds it up
		counter := fmt.Sprintf("moves:%d", round)
		_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, counter, 10, 0)
			p.IncrBy(ctx, counter, int64(round))
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: MULTI/EXEC: %v", round, err)
		}
		plain(round)
		err = c.Watch(ctx, func(tx *redis.Tx) error {
			n, err := tx.Get(ctx, counter).Int()
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return p.Set(ctx, counter, n+1, 0).Err() })
			return err
		}, counter)
		if err != nil {
			t.Fatalf("round %d: WATCH/MULTI/EXEC: %v", round, err)
		}
		plain(round)
		if err := c.BLPop(ctx, 10*time.Millisecond, fmt.Sprintf("moves:list:%d", round)).Err(); err != redis.Nil {
			t.Fatalf("round %d: BLPOP of an empty list: %v; want nil after the timeout", round, err)
		}
		plain(round)
		if got, err := c.Get(ctx, counter).Int(); err != nil || got != 11+round {
			t.Fatalf("round %d: GET %s = %d, %v; want %d", round, counter, got, err, 11+round)
		}
		if off, back := moves(); off != 3*(round+1) || back != off {
			t.Errorf("after round %d: %d moves off the loop, %d back; want %d and as many back", round, off, back, 3*(round+1))
		}
	}
}

// TestSessionOutlivesItsPinnedConnection: WATCH gives the session a server connection of its
// own; after that server restarts, the session's next commands to it go through the server's
// shared connections again instead of failing on the dead one.
func TestSessionOutlivesItsPinnedConnection(t *testing.T) {
	st := startRedisStack(t, 1, "    server_retry_timeout: 100ms")
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: st.addr, Protocol: 2, PoolSize: 1, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	err := c.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return p.Set(ctx, "pin", 1, 0).Err() })
		return err
	}, "pin")
	if err != nil {
		t.Fatalf("WATCH/MULTI/EXEC: %v", err)
	}
	port := st.servers[0].Port
	st.servers[0].Kill()
	st.servers[0] = testproc.RedisAt(t, port)
	deadline := time.Now().Add(5 * time.Second)
	for c.Set(ctx, "after", "v", 0).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("SET still fails 5s after the server came back: %v", c.Set(ctx, "after", "v", 0).Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 5 {
		if got, err := c.Get(ctx, "after").Result(); err != nil || got != "v" {
			t.Fatalf("GET %d after the restart = %q, %v; want v", i, got, err)
		}
	}
}

// TestMemcacheClientLeavesItsLoopDuringAnOutage: while a server is down, a client's requests
// move it off its event loop (a write to the down server is journalled, an fsync); once the
// server is back and the client calm, it returns. stats counts both.
func TestMemcacheClientLeavesItsLoopDuringAnOutage(t *testing.T) {
	st := startMemcacheStack(t, 3, replicated)
	c := dialRaw(t, st.addr)
	var gets strings.Builder
	for i := range 20 {
		roundTrip(t, c, fmt.Sprintf("set k%d 0 0 1\r\nv\r\n", i))
		fmt.Fprintf(&gets, "get k%d\r\n", i)
	}
	statsHave := func(want string) bool { return bytes.Contains(roundTrip(t, c, "stats\r\n"), []byte(want)) }
	if !statsHave("STAT clients_moved_off_loops 0\r\n") {
		t.Fatalf("stats before the outage:\n%s", roundTrip(t, c, "stats\r\n"))
	}
	port := st.servers[1].Port
	st.servers[1].Kill()
	for deadline := time.Now().Add(5 * time.Second); !statsHave("STAT clients_moved_off_loops 1\r\n"); {
		if time.Now().After(deadline) {
			t.Fatalf("the client did not leave its loop while a server was down:\n%s", roundTrip(t, c, "stats\r\n"))
		}
		roundTrip(t, c, gets.String())
	}
	st.servers[1] = testproc.MemcachedAt(t, port)
	for deadline := time.Now().Add(5 * time.Second); !statsHave("STAT server1_health up\r\n"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("server 1 not up again:\n%s", roundTrip(t, c, "stats\r\n"))
		}
	}
	for range 70 {
		if got := roundTrip(t, c, "get k0\r\n"); !bytes.Contains(got, []byte("VALUE k0 0 1\r\nv\r\n")) && !bytes.Equal(got, []byte("END\r\n")) {
			t.Fatalf("get k0 = %q", got)
		}
	}
	if !statsHave("STAT clients_back_on_loops 1\r\n") {
		t.Errorf("the client is not back on its loop after the outage and 70 calm batches:\n%s", roundTrip(t, c, "stats\r\n"))
	}
}

// TestWatchLostWithItsConnectionAbortsExec: the session's connection holding WATCH state dies
// (its server restarts) and the watched key changes meanwhile; a second WATCH on the same server
// must not hide the loss: EXEC aborts.
func TestWatchLostWithItsConnectionAbortsExec(t *testing.T) {
	st := startRedisStack(t, 1, "    server_retry_timeout: 100ms")
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: st.addr, Protocol: 2, PoolSize: 1, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	other := redis.NewClient(&redis.Options{Addr: st.addr, Protocol: 2, MaxRetries: -1})
	t.Cleanup(func() { other.Close() })
	conn := c.Conn()
	defer conn.Close()
	if err := conn.Do(ctx, "WATCH", "a").Err(); err != nil {
		t.Fatal(err)
	}
	port := st.servers[0].Port
	st.servers[0].Kill()
	st.servers[0] = testproc.RedisAt(t, port)
	for deadline := time.Now().Add(5 * time.Second); other.Set(ctx, "a", "changed", 0).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not come back")
		}
	}
	time.Sleep(200 * time.Millisecond) // the dead connection's reader has seen it die
	conn.Do(ctx, "WATCH", "b")         // refused or not, it must not revive the lost WATCH
	_, err := conn.TxPipelined(ctx, func(p redis.Pipeliner) error { return p.Set(ctx, "x", 1, 0).Err() })
	if err == nil || !strings.Contains(err.Error(), "EXECABORT") {
		t.Errorf("EXEC after the WATCH of a changed key was lost with its connection: %v; want EXECABORT", err)
	}
	// The next WATCH gets a new connection, and its transaction goes through.
	if err := conn.Do(ctx, "WATCH", "a").Err(); err != nil {
		t.Fatalf("WATCH after the aborted EXEC: %v", err)
	}
	if _, err := conn.TxPipelined(ctx, func(p redis.Pipeliner) error { return p.Set(ctx, "x", 2, 0).Err() }); err != nil {
		t.Errorf("WATCH/MULTI/EXEC after the aborted one: %v", err)
	}
	if got, _ := other.Get(ctx, "x").Result(); got != "2" {
		t.Errorf("x = %q after the transaction; want 2", got)
	}
}

// A loop gives up a client's session between its requests unless the client set something the
// session keeps: CLIENT ID stays, and a name or HELLO 3's protocol outlives every pause.
func TestSessionStateSurvivesBetweenRequests(t *testing.T) {
	st := startRedisStack(t, 2, "")
	if err := st.client(t, 2).HSet(t.Context(), "h", "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	plain := dialRaw(t, st.addr)
	plain.send("CLIENT ID\r\n")
	id, err := plain.r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	named := dialRaw(t, st.addr)
	named.send("CLIENT SETNAME keeper\r\n")
	named.expect("+OK\r\n")
	resp3 := dialRaw(t, st.addr)
	resp3.send("HELLO 3\r\nPING\r\n")
	if _, err := resp3.r.ReadString('+'); err != nil { // HELLO's map, then PING's +PONG
		t.Fatal(err)
	}
	resp3.expect("PONG\r\n")
	for i := range 3 {
		time.Sleep(20 * time.Millisecond)
		plain.send("PING\r\nCLIENT ID\r\n")
		plain.expect("+PONG\r\n" + id)
		named.send("CLIENT GETNAME\r\n")
		named.expect("$6\r\nkeeper\r\n")
		resp3.send("HGETALL h\r\n")
		resp3.expect("%1\r\n$1\r\nf\r\n$1\r\nv\r\n")
		if t.Failed() {
			t.Fatalf("round %d", i)
		}
	}
}
