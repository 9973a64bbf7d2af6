package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/internal/testproc"
	"github.com/discoh/discoh/resp"
)

// listKeys lists the keys of the server at addr with list and returns them sorted, and the
// sizes of the batches list handed out.
func listKeys(t *testing.T, addr string, list func(context.Context, io.ReadWriter, func([][]byte) error) error) ([]string, []int) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	var keys []string
	var batches []int
	err = list(t.Context(), nc, func(batch [][]byte) error {
		for _, k := range batch {
			keys = append(keys, string(k))
		}
		batches = append(batches, len(batch))
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", addr, err)
	}
	slices.Sort(keys)
	return keys, batches
}

// testKeys are n keys, with bytes each protocol escapes or frames specially.
func testKeys(n int, odd ...string) []string {
	keys := slices.Clone(odd)
	for i := range n {
		keys = append(keys, fmt.Sprintf("k:%05d", i))
	}
	slices.Sort(keys)
	return keys
}

// send writes requests to addr and reads until want replies of the form reply came back.
func send(t *testing.T, addr string, reqs []byte, reply string, want int) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(reqs); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 64<<10)
	for bytes.Count(got, []byte(reply)) < want {
		n, err := nc.Read(buf)
		if err != nil {
			t.Fatalf("after %d of %d replies: %v", bytes.Count(got, []byte(reply)), want, err)
		}
		got = append(got, buf[:n]...)
	}
}

func TestListRedis(t *testing.T) {
	srv := testproc.Redis(t)
	keys := testKeys(2500, "with space", "bin\x00\r\n", string(guard.RedisSidecar([]byte("k:00001"))))
	var reqs []byte
	for _, k := range keys {
		reqs = resp.AppendCommand(reqs, []byte("SET"), []byte(k), []byte("v"))
	}
	send(t, srv.Addr, reqs, "+OK\r\n", len(keys))
	got, batches := listKeys(t, srv.Addr, listRedis)
	if !slices.Equal(got, keys) {
		t.Errorf("listed %d keys; want the %d set", len(got), len(keys))
	}
	if len(batches) < 3 {
		t.Errorf("listed in %d batches; want SCAN's rounds of about %d", len(batches), ListBatch)
	}
}

func TestListMemcache(t *testing.T) {
	srv := testproc.Memcached(t)
	keys := testKeys(2500, "a+b%c", "é:utf-8", "~!@#$^&*()")
	var reqs []byte
	for _, k := range keys {
		reqs = fmt.Appendf(reqs, "set %s 0 0 1\r\nv\r\n", k)
	}
	send(t, srv.Addr, reqs, "STORED\r\n", len(keys))
	got, batches := listKeys(t, srv.Addr, listMemcache)
	if !slices.Equal(got, keys) {
		t.Errorf("listed %d keys; want the %d set", len(got), len(keys))
	}
	if want := []int{1000, 1000, 503}; !slices.Equal(batches, want) {
		t.Errorf("batches of %v; want %v", batches, want)
	}
}

func TestListEmptyServers(t *testing.T) {
	for name, list := range map[string]struct {
		addr string
		list func(context.Context, io.ReadWriter, func([][]byte) error) error
	}{
		"redis":     {testproc.Redis(t).Addr, listRedis},
		"memcached": {testproc.Memcached(t).Addr, listMemcache},
	} {
		if got, _ := listKeys(t, list.addr, list.list); len(got) != 0 {
			t.Errorf("%s: listed %q; want nothing", name, got)
		}
	}
}

// scripted answers each request line with the next of its answers.
type scripted struct {
	answers []string
	out     strings.Builder
	in      bytes.Buffer
}

func (s *scripted) Write(p []byte) (int, error) {
	s.out.Write(p)
	if len(s.answers) == 0 {
		return 0, io.ErrClosedPipe
	}
	s.in.WriteString(s.answers[0])
	s.answers = s.answers[1:]
	return len(p), nil
}

func (s *scripted) Read(p []byte) (int, error) { return s.in.Read(p) }

func TestListMemcacheAnswers(t *testing.T) {
	tests := []struct {
		name     string
		answers  []string
		wantReqs string
		wantKeys []string
		wantErr  string
	}{
		{"busy, then a dump", []string{"BUSY currently processing crawler request\r\n", "key=a%20b exp=-1 la=1 cas=1 fetch=no cls=1 size=1\nEND\r\n"},
			"lru_crawler metadump hash\r\nlru_crawler metadump hash\r\n", []string{"a b"}, ""},
		{"too old for the hash table", []string{"BADCLASS invalid class id\r\n", "key=k exp=-1\nEND\r\n"},
			"lru_crawler metadump hash\r\nlru_crawler metadump all\r\n", []string{"k"}, ""},
		{"nothing to crawl", []string{"NOTSTARTED no items to crawl\r\n"}, "lru_crawler metadump hash\r\n", nil, ""},
		{"crawler disabled", []string{"CLIENT_ERROR lru crawler disabled\r\n"}, "lru_crawler metadump hash\r\n", nil, "no_lru_crawler"},
		{"bad escape", []string{"key=%zz exp=-1\nEND\r\n"}, "lru_crawler metadump hash\r\n", nil, "metadump key"},
		{"torn dump", []string{"key=a exp=-1\n"}, "lru_crawler metadump hash\r\n", nil, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{answers: tt.answers}
			var keys []string
			err := listMemcache(t.Context(), s, func(batch [][]byte) error {
				for _, k := range batch {
					keys = append(keys, string(k))
				}
				return nil
			})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("listMemcache = %v; want an error containing %q", err, tt.wantErr)
			}
			if err == nil && !slices.Equal(keys, tt.wantKeys) {
				t.Errorf("listed %q; want %q", keys, tt.wantKeys)
			}
			if s.out.String() != tt.wantReqs {
				t.Errorf("sent %q; want %q", s.out.String(), tt.wantReqs)
			}
		})
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

// FuzzReadMetadump: a metadump, however torn, never panics the listing, and yields at most
// one key per line.
func FuzzReadMetadump(f *testing.F) {
	f.Add([]byte("key=a%20b exp=-1 la=1 cas=1 fetch=no cls=1 size=1\nkey=k%3A1 exp=5\nEND\r\n"))
	f.Add([]byte("BUSY currently processing crawler request\r\n"))
	f.Add([]byte("key=%zz exp=-1\n"))
	f.Fuzz(func(t *testing.T, dump []byte) {
		n := 0
		readMetadump(bufio.NewReader(bytes.NewReader(dump)), func(keys [][]byte) error {
			n += len(keys)
			return nil
		})
		if lines := bytes.Count(dump, []byte("\n")); n > lines {
			t.Fatalf("%d keys from %d lines", n, lines)
		}
	})
}
