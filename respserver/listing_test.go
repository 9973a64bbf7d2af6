package respserver

import (
	"slices"
	"testing"

	"github.com/discoh/discoh/backends/backendstest"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/internal/testproc"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
)

func TestListRedis(t *testing.T) {
	srv := testproc.Redis(t)
	keys := backendstest.Keys(2500, "with space", "bin\x00\r\n", string(guard.RedisSidecar([]byte("k:00001"))))
	var reqs []byte
	for _, k := range keys {
		reqs = resp.AppendCommand(reqs, []byte("SET"), []byte(k), []byte("v"))
	}
	backendstest.Send(t, srv.Addr, reqs, "+OK\r\n", len(keys))
	got, batches := backendstest.ListKeys(t, srv.Addr, listRedis)
	if !slices.Equal(got, keys) {
		t.Errorf("listed %d keys; want the %d set", len(got), len(keys))
	}
	if len(batches) < 3 {
		t.Errorf("listed in %d batches; want SCAN's rounds of about %d", len(batches), proxy.ListBatch)
	}
}

func TestParseScanErrors(t *testing.T) {
	for _, reply := range []string{
		"-ERR unknown command 'SCAN'\r\n",
		"*1\r\n$1\r\n0\r\n",
		"*2\r\n$1\r\n0\r\n:1\r\n",
		"*2\r\n$1\r\n0\r\n*1\r\n:1\r\n",
	} {
		if _, _, err := parseScan([]byte(reply)); err == nil {
			t.Errorf("parseScan(%q) succeeded; want an error", reply)
		}
	}
}

func TestRedisOwner(t *testing.T) {
	for item, want := range map[string]string{
		"user:1": "user:1",
		string(guard.RedisSidecar([]byte("user:1"))): "user:1",
		"": "",
	} {
		if got := redisOwner([]byte(item)); string(got) != want {
			t.Errorf("redisOwner(%q) = %q; want %q", item, got, want)
		}
	}
}

// FuzzParseScan: parseScan never panics, and what it returns lies within the reply.
func FuzzParseScan(f *testing.F) {
	f.Add([]byte("*2\r\n$2\r\n17\r\n*2\r\n$1\r\na\r\n$0\r\n\r\n"))
	f.Add([]byte("*2\r\n$1\r\n0\r\n*0\r\n"))
	f.Add([]byte("-ERR unknown command 'SCAN'\r\n"))
	f.Fuzz(func(t *testing.T, reply []byte) {
		if n, err := resp.ScanReply(reply); n != len(reply) || err != nil {
			return // readReply hands parseScan one whole reply only
		}
		cursor, keys, err := parseScan(reply)
		if err != nil {
			return
		}
		for _, b := range append(keys, cursor) {
			if len(b) > len(reply) {
				t.Fatalf("parseScan(%q) returned %q, longer than the reply", reply, b)
			}
		}
	})
}

func TestListEmptyServer(t *testing.T) {
	if got, _ := backendstest.ListKeys(t, testproc.Redis(t).Addr, listRedis); len(got) != 0 {
		t.Errorf("listed %q; want nothing", got)
	}
}
