package main

import (
	"context"
	"crypto/rand"
	"flag"
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
		MinWrites: minWrites, // on a busy machine, run longer rather than fail
	}
}

// withPreset returns cfg with the values of the named preset, as -preset gives them.
func withPreset(t *testing.T, cfg Config, name string) Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("checker", flag.ContinueOnError)
	c.registerFlags(fs) // binds the flags to c's fields
	c = cfg
	c.Preset = name
	if err := c.applyPreset(fs); err != nil {
		t.Fatal(err)
	}
	return c
}

// runCheck runs cfg through dial, fails the test on a setup error, and logs the report.
func runCheck(t *testing.T, cfg Config, dial dialFunc) Result {
	t.Helper()
	return runCheckDuring(t, cfg, dial)
}

// fault is something a test does to the target while the load runs, at an offset from the
// load's start.
type fault struct {
	at time.Duration
	do func()
}

// runCheckDuring is runCheck with faults done in order, each at its offset into the load, by
// the test's goroutine (so a fault may fail the test).
func runCheckDuring(t *testing.T, cfg Config, dial dialFunc, faults ...fault) Result {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	type outcome struct {
		res Result
		err error
	}
	started, done := make(chan time.Time, 1), make(chan outcome, 1)
	go func() {
		res, err := checkWith(t.Context(), cfg, dial, slog.New(slog.NewTextHandler(t.Output(), nil)),
			func() { started <- time.Now() })
		done <- outcome{res, err}
	}()
	var o outcome
	finished := false
	defer func() {
		if !finished { // a fault failed the test: the run still logs to it until it ends
			<-done
		}
	}()
	select {
	case began := <-started:
		for _, f := range faults {
			time.Sleep(time.Until(began.Add(f.at)))
			f.do()
		}
		o = <-done
	case o = <-done:
	}
	finished = true
	if o.err != nil {
		t.Fatalf("check: %v", o.err)
	}
	var report strings.Builder
	o.res.writeReport(&report)
	t.Log("\n" + report.String())
	return o.res
}

// discard is a logger for tests that expect nothing worth reading.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
