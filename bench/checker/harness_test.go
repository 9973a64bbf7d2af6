package main

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testDBConns keeps each test a small PostgreSQL client: several packages' tests share the
// server.
const testDBConns = 8

// newTableName returns a table name of the test's own, and drops the table when the test
// ends.
func newTableName(t *testing.T) string {
	t.Helper()
	name := "checker_" + strings.ToLower(rand.Text()[:10])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, DefaultDSN)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return name
}

// testConfig is a short run against addrs, on a table of the test's own.
func testConfig(t *testing.T, protocol string, d time.Duration, addrs ...string) Config {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return Config{
		Protocol:  protocol,
		Addrs:     addrs,
		DSN:       DefaultDSN,
		Table:     newTableName(t),
		Keys:      200,
		Zipf:      DefaultZipf,
		Readers:   8,
		Pooled:    0.5,
		Writers:   2,
		Duration:  d,
		FillDelay: DefaultFillDelay,
		Settle:    200 * time.Millisecond,
		KeyPrefix: DefaultKeyPrefix,
		DBConns:   testDBConns,
		Seed:      seed,
	}
}

// runCheck runs cfg through dial, fails the test on a setup error, and logs the report.
func runCheck(t *testing.T, cfg Config, dial dialFunc) Result {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	res, err := checkWith(t.Context(), cfg, dial, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	var report strings.Builder
	res.writeReport(&report)
	t.Log("\n" + report.String())
	return res
}

// discard is a logger for tests that expect nothing worth reading.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
