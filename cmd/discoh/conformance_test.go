package main

import (
	"strings"
	"testing"
	"time"
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
