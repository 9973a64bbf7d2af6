// Command checker measures whether a look-aside cache stays consistent with its database:
// the consistency checker of DESIGN.md section 8.
//
// It runs the look-aside workload against a target (discoh, or Redis or memcached directly)
// over a PostgreSQL table: readers GET a key and, on a miss, read the row, pause a random
// -fill-delay and SET it; writers update a row and then DEL its key (-write-through: SET
// the new value instead; -del-before-commit: DEL before the COMMIT). Keys are picked with a
// Zipf distribution, so readers and writers meet on hot keys (-preset hot: 10 keys, 16
// writers). It reports the hit ratio, the stale reads (hits that began after a newer
// write's DEL was acknowledged) and the oldest one's age, the keys whose cached version
// differs from the database's after the load, and the calls that failed. Example:
//
//	go run ./bench/checker -protocol redis -addr 127.0.0.1:6380 -duration 10s
//	go run ./bench/checker -protocol memcached -addr 127.0.0.1:11212 -preset hot
//
// The last line of output is a summary for scripts. The exit status is 0 for a completed
// run, whatever it found; 1 when the run could not be set up; 2 for bad flags. An interrupt
// ends the load early and still reports; a second one kills the checker.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var cfg Config
	cfg.registerFlags(flag.CommandLine)
	flag.Parse()
	if err := cfg.applyPreset(flag.CommandLine); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // after the first signal, the next one kills
	res, err := check(ctx, cfg, log)
	stop()
	if err != nil {
		log.Error("checker could not complete the run", "err", err)
		os.Exit(1)
	}
	res.writeReport(os.Stdout)
}
