package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/discoh/discoh/bench/checker/cache"
	"github.com/discoh/discoh/internal/testproc"
)

// TestThroughDiscoh runs the checker through two discoh instances in front of the same
// real cache server, with a coherence source on the checker's table: writers invalidate
// through one instance while readers read through both. The checker must count no stale
// read and no inconsistent key, on both protocols: the result discoh owes (G1, G2).
func TestThroughDiscoh(t *testing.T) {
	bin := discohBinary(t)
	servers := []struct {
		protocol string
		start    func(testing.TB, ...string) *testproc.Proc
	}{
		{cache.Redis, testproc.Redis},
		{cache.Memcached, testproc.Memcached},
	}
	for _, s := range servers {
		t.Run(s.protocol, func(t *testing.T) {
			t.Parallel()
			srv := s.start(t)
			cfg := testConfig(t, s.protocol, 2*time.Second)
			for range 2 {
				cfg.Addrs = append(cfg.Addrs, startDiscoh(t, bin, s.protocol == cache.Redis, srv.Addr, cfg.Table))
			}
			res := runCheck(t, cfg, cache.Dial)
			if res.Writes < minWrites || res.Hits == 0 {
				t.Fatalf("%d writes, %d hits; want %d writes at least and some hits", res.Writes, res.Hits, minWrites)
			}
			if res.Stale != 0 || res.After.Inconsistent != 0 {
				t.Errorf("stale %d (max %d versions behind), inconsistent after %d; want 0 and 0",
					res.Stale, res.MaxBehind, res.After.Inconsistent)
			}
			if res.Errors != 0 || res.Malformed != 0 {
				t.Errorf("%d errors, %d malformed hits; want 0", res.Errors, res.Malformed)
			}
		})
	}
}

// discohBinary builds ./cmd/discoh into a folder of the test's own and returns its path.
func discohBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "discoh")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/discoh/discoh/cmd/discoh")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/discoh: %v\n%s", err, out)
	}
	return bin
}

// discohConfig is one instance's config: a pool over server, with keys "user:{id}"
// coherent with table's body column.
const discohConfig = `pools:
  main:
    listen: %s
    redis: %v
    timeout: 1s
    data_dir: %s
    servers:
      - %s:1 s1
databases:
  pg: {driver: postgres, dsn: "%s", max_conns: 4}
coherence:
  sources:
    - {pattern: "%s{id}", database: pg, query: "SELECT body FROM %s WHERE id = $1"}
log:
  level: warn
`

// startDiscoh starts bin with a pool over server and returns the address it listens on.
func startDiscoh(t *testing.T, bin string, isRedis bool, server, table string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
	dir := t.TempDir()
	yaml := fmt.Sprintf(discohConfig, addr, isRedis, dir, server, DefaultDSN, DefaultKeyPrefix, table)
	conf := filepath.Join(dir, "discoh.yaml")
	if err := os.WriteFile(conf, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd := exec.Command(bin, "-config", conf)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start discoh: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if stderr.Len() > 0 {
			t.Logf("discoh %s stderr:\n%s", addr, stderr.String())
		}
	})
	if err := testproc.WaitListening(addr, 5*time.Second); err != nil {
		t.Fatalf("discoh: %v", err)
	}
	return addr
}

// TestDelBeforeCommitThroughDiscoh measures a known limit, and its bound: writers that DEL
// before COMMIT let discoh's pull read the old row, so even through discoh the checker sees
// stale reads; but the recheck a second after each DEL (coherence.revalidate, 1 s) pulls the
// committed row, so no stale value is older than about that, and none is left after the load.
func TestDelBeforeCommitThroughDiscoh(t *testing.T) {
	bin := discohBinary(t)
	srv := testproc.Redis(t)
	cfg := testConfig(t, cache.Redis, 2*time.Second)
	cfg.DelBeforeCommit = true
	cfg.Settle = 2 * time.Second // past the rechecks of the last writes
	cfg.Addrs = append(cfg.Addrs, startDiscoh(t, bin, true, srv.Addr, cfg.Table))
	res := runCheck(t, cfg, cache.Dial)
	t.Logf("DEL before COMMIT through discoh: %d stale of %d hits (oldest %v), %d inconsistent after, %d writes",
		res.Stale, res.Hits, res.MaxAge, res.After.Inconsistent, res.Writes)
	if res.Writes < minWrites || res.Stale == 0 {
		t.Errorf("%d writes, %d stale; want stale reads: the pull reads the row before the COMMIT", res.Writes, res.Stale)
	}
	if res.After.Inconsistent != 0 || res.MaxAge > time.Second+100*time.Millisecond {
		t.Errorf("%d keys inconsistent after the load, oldest stale read %v; want 0 and at most 1.1 s (revalidate + 100 ms)",
			res.After.Inconsistent, res.MaxAge)
	}
}

// TestWriteThroughDiscoh: writers that SET the new value after COMMIT (write-through) read
// nothing stale through discoh, on both protocols; on a plain cache the same load leaves
// stale values, so the checker can tell.
func TestWriteThroughDiscoh(t *testing.T) {
	bin := discohBinary(t)
	for _, s := range []struct {
		protocol string
		start    func(testing.TB, ...string) *testproc.Proc
	}{
		{cache.Redis, testproc.Redis},
		{cache.Memcached, testproc.Memcached},
	} {
		t.Run(s.protocol, func(t *testing.T) {
			srv := s.start(t)
			cfg := testConfig(t, s.protocol, 2*time.Second)
			cfg.WriteThrough = true
			for range 2 {
				cfg.Addrs = append(cfg.Addrs, startDiscoh(t, bin, s.protocol == cache.Redis, srv.Addr, cfg.Table))
			}
			res := runCheck(t, cfg, cache.Dial)
			t.Logf("write-through through discoh (%s): %d reads, %d hits, %d stale, %d inconsistent after, %d writes",
				s.protocol, res.Reads, res.Hits, res.Stale, res.After.Inconsistent, res.Writes)
			if res.Writes < minWrites || res.Hits == 0 {
				t.Fatalf("%d writes, %d hits; want %d writes at least and some hits", res.Writes, res.Hits, minWrites)
			}
			if res.Stale != 0 || res.After.Inconsistent != 0 || res.Errors != 0 {
				t.Errorf("stale %d, inconsistent after %d, errors %d; want 0, 0, 0", res.Stale, res.After.Inconsistent, res.Errors)
			}
			plain := testConfig(t, s.protocol, 2*time.Second)
			plain.WriteThrough, plain.Addrs = true, []string{s.start(t).Addr}
			control := runCheck(t, plain, cache.Dial)
			t.Logf("write-through on plain %s: %d reads, %d stale, %d inconsistent after", s.protocol, control.Reads, control.Stale, control.After.Inconsistent)
			if control.Stale == 0 {
				t.Errorf("plain %s showed no stale read under write-through: the load cannot catch one", s.protocol)
			}
		})
	}
}
