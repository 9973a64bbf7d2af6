package mcserver

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/discoh/discoh/backends/backendstest"
	"github.com/discoh/discoh/internal/testproc"
)

func TestListMemcache(t *testing.T) {
	srv := testproc.Memcached(t)
	keys := backendstest.Keys(2500, "a+b%c", "é:utf-8", "~!@#$^&*()")
	var reqs []byte
	for _, k := range keys {
		reqs = fmt.Appendf(reqs, "set %s 0 0 1\r\nv\r\n", k)
	}
	backendstest.Send(t, srv.Addr, reqs, "STORED\r\n", len(keys))
	got, batches := backendstest.ListKeys(t, srv.Addr, listMemcache)
	if !slices.Equal(got, keys) {
		t.Errorf("listed %d keys; want the %d set", len(got), len(keys))
	}
	if want := []int{1000, 1000, 503}; !slices.Equal(batches, want) {
		t.Errorf("batches of %v; want %v", batches, want)
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

func TestListEmptyServer(t *testing.T) {
	if got, _ := backendstest.ListKeys(t, testproc.Memcached(t).Addr, listMemcache); len(got) != 0 {
		t.Errorf("listed %q; want nothing", got)
	}
}
