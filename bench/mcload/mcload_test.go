package mcload

import (
	"bufio"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/discoh/discoh/internal/testproc"
)

func TestPercentile(t *testing.T) {
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"p50 of ten is the fifth", ten, 0.50, 5},
		{"p99 of ten is the largest", ten, 0.99, 10},
		{"p0 is the smallest", ten, 0, 1},
		{"one value", []time.Duration{7}, 0.99, 7},
		{"none", nil, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.q); got != tt.want {
				t.Errorf("Percentile(q=%v) = %v; want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestKeyIsRedisBenchmarks(t *testing.T) {
	for i, want := range map[int]string{0: "key:000000000000", 99999: "key:000000099999"} {
		if got := Key(i); got != want {
			t.Errorf("Key(%d) = %q; want %q", i, got, want)
		}
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		name         string
		keys         int // 0: a set
		reply        string
		misses, errs int64
	}{
		{"stored", 0, "STORED\r\n", 0, 0},
		{"set refused", 0, "SERVER_ERROR out of memory\r\n", 0, 1},
		{"hit", 1, "VALUE key:1 0 3\r\nabc\r\nEND\r\n", 0, 0},
		{"miss", 1, "END\r\n", 1, 0},
		{"multi-get, one missing", 3, "VALUE a 0 1\r\nx\r\nVALUE c 5 2 99\r\nyz\r\nEND\r\n", 1, 0},
		{"value holding END", 1, "VALUE a 0 5\r\nEND\r\n\r\nEND\r\n", 0, 0},
		{"get refused", 10, "CLIENT_ERROR line too long\r\n", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &worker{r: bufio.NewReader(strings.NewReader(tt.reply + "STORED\r\n"))}
			if err := w.readReply(tt.keys); err != nil {
				t.Fatalf("readReply: %v", err)
			}
			if w.misses != tt.misses || w.errors != tt.errs {
				t.Errorf("got %d misses, %d errors; want %d, %d", w.misses, w.errors, tt.misses, tt.errs)
			}
			if err := w.readReply(0); err != nil {
				t.Errorf("the next reply does not read: %v (the reply was not consumed exactly)", err)
			}
		})
	}
}

func TestReadReplyRejectsGarbage(t *testing.T) {
	tests := []struct {
		name  string
		keys  int
		reply string
	}{
		{"set answered NOT_STORED", 0, "NOT_STORED\r\n"},
		{"length that is no number", 1, "VALUE a 0 x\r\n"},
		{"a RESP reply", 1, "+OK\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &worker{r: bufio.NewReader(strings.NewReader(tt.reply))}
			if err := w.readReply(tt.keys); !errors.Is(err, ErrReply) {
				t.Errorf("got %v; want ErrReply", err)
			}
		})
	}
}

func TestRunAgainstMemcached(t *testing.T) {
	srv := testproc.Memcached(t)
	const keys = 200
	if err := Fill(t.Context(), srv.Addr, keys, 32); err != nil {
		t.Fatalf("Fill: %v", err)
	}
	for _, mix := range []Mix{GetSet, MultiGet} {
		cfg := Config{Addr: srv.Addr, Mix: mix, Conns: 4, Depth: 8, Keys: keys, ValueSize: 32,
			Duration: 150 * time.Millisecond, Seed: 1}
		res, err := Run(t.Context(), cfg)
		if err != nil {
			t.Fatalf("mix %d: Run: %v", mix, err)
		}
		if res.Ops == 0 || res.Misses != 0 || res.Errors != 0 || res.P50 > res.P99 {
			t.Errorf("mix %d: got %+v; want requests, no misses or errors, p50 <= p99", mix, res)
		}
	}
}
