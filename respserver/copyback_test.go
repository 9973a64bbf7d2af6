package respserver

import (
	"strconv"
	"testing"
	"time"
)

func TestRedisCopierReadsReplies(t *testing.T) {
	info := "# Server\r\nredis_version:7.2.4\r\nrun_id:abc123\r\nuptime_in_seconds:42\r\n"
	census := "$" + strconv.Itoa(len(info)) + "\r\n" + info + "\r\n:17\r\n"
	c, err := redisCensus([]byte(census))
	if err != nil || c.ID != "abc123" || c.Uptime != 42*time.Second || c.Items != 17 {
		t.Fatalf("redisCensus = %+v, %v; want run abc123, up 42s, 17 items", c, err)
	}
	tests := []struct {
		name  string
		reply string
		ok    bool
		ttl   time.Duration
	}{
		{"no TTL", "$3\r\nabc\r\n:-1\r\n:0\r\n", true, 0},
		{"TTL", "$3\r\nabc\r\n:1500\r\n:0\r\n", true, 1500 * time.Millisecond},
		{"gone", "$-1\r\n:-2\r\n:0\r\n", false, 0},
		{"gone since the DUMP", "$3\r\nabc\r\n:-2\r\n:0\r\n", false, 0},
		{"expiring now (RESTORE would read 0 as none)", "$3\r\nabc\r\n:0\r\n:0\r\n", false, 0},
		{"coherent: has a sidecar", "$3\r\nabc\r\n:-1\r\n:1\r\n", false, 0},
	}
	for _, tt := range tests {
		v, ok := redisValue([]byte(tt.reply))
		if ok != tt.ok || (ok && (string(v.Data) != "abc" || v.TTL != tt.ttl)) {
			t.Errorf("%s: redisValue = %q %v, %v; want ok %v, TTL %v", tt.name, v.Data, v.TTL, ok, tt.ok, tt.ttl)
		}
	}
}
