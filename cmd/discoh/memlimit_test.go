package main

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/internal/memlimit"
	"github.com/discoh/discoh/internal/testproc"
)

// TestMaxMemoryRefusesLargeRequests: while the process holds more than 7/8 of max_memory, a
// large request is refused with an error on both protocols and small ones are served; once
// discoh stops, the bound is lifted. The test process itself holds more than the 16 MB bound.
func TestMaxMemoryRefusesLargeRequests(t *testing.T) {
	ballast := make([]byte, 32<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	r, m := testproc.Redis(t), testproc.Memcached(t)
	raddr, maddr := freeAddr(t), freeAddr(t)
	stop := startDiscoh(t, fmt.Sprintf(`max_memory: 16mb
pools:
  r: {listen: %s, redis: true, data_dir: %s, servers: ["%s:1 r1"]}
  m: {listen: %s, redis: false, data_dir: %s, servers: ["%s:1 m1"]}
`, raddr, t.TempDir(), r.Addr, maddr, t.TempDir(), m.Addr), raddr)
	c := redis.NewClient(&redis.Options{Addr: raddr, MaxRetries: -1})
	defer c.Close()
	big := strings.Repeat("x", 100<<10)
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err = c.Set(t.Context(), "big", big, 0).Err(); err != nil {
			break
		}
	}
	if err == nil || !strings.HasPrefix(err.Error(), "OOM ") {
		t.Errorf("SET of 100 KB near max_memory: %v; want an OOM error", err)
	}
	if err := c.Set(t.Context(), "small", "v", 0).Err(); err != nil {
		t.Errorf("small SET near max_memory: %v; want it served", err)
	}
	mc := dialRaw(t, maddr)
	reply := roundTrip(t, mc, fmt.Sprintf("set big 0 0 %d\r\n%s\r\n", len(big), big))
	if !strings.HasPrefix(string(reply), "SERVER_ERROR out of memory") {
		t.Errorf("memcached set of 100 KB near max_memory = %q; want SERVER_ERROR out of memory", reply)
	}
	if reply := roundTrip(t, mc, "set small 0 0 1\r\nv\r\n"); string(reply) != "STORED\r\n" {
		t.Errorf("small memcached set near max_memory = %q; want STORED", reply)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if memlimit.Over() {
		t.Error("Over() after discoh stopped; want the bound lifted")
	}
	runtime.KeepAlive(ballast)
}
