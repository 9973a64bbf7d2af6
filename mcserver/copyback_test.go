package mcserver

import (
	"testing"
	"time"
)

func TestMemcacheCopierReadsReplies(t *testing.T) {
	c, err := memcacheCensus([]byte("STAT pid 77\r\nSTAT uptime 9\r\nSTAT curr_items 0\r\nEND\r\n"))
	if err != nil || c.ID != "77" || c.Uptime != 9*time.Second || c.Items != 0 {
		t.Fatalf("memcacheCensus = %+v, %v; want pid 77, up 9s, no items", c, err)
	}
	tests := []struct {
		reply string
		ok    bool
		ttl   time.Duration
	}{
		{"VA 3 f7 t-1\r\nabc\r\n", true, 0},
		{"VA 3 f7 t60\r\nabc\r\n", true, time.Minute},
		{"VA 3 f7 t0\r\nabc\r\n", false, 0},
		{"EN\r\n", false, 0},
	}
	for _, tt := range tests {
		v, ok := memcacheValue([]byte(tt.reply))
		if ok != tt.ok || (ok && (string(v.Data) != "abc" || v.Flags != 7 || v.TTL != tt.ttl)) {
			t.Errorf("memcacheValue(%q) = %+v, %v; want ok %v, TTL %v", tt.reply, v, ok, tt.ok, tt.ttl)
		}
	}
	if got := exptime(time.Minute); got != 60 {
		t.Errorf("exptime(1m) = %d; want 60", got)
	}
	if got, now := exptime(40*24*time.Hour), time.Now().Unix(); got < now+40*24*3600-2 || got > now+40*24*3600 {
		t.Errorf("exptime(40 days) = %d; want the Unix time then", got)
	}
}
