package main

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

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
