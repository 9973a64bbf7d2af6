// Command compare benchmarks discoh against twemproxy (nutcracker) and
// against a direct connection to one cache server, and writes the medians
// and ratios as bench/results/results.md and ratios.png.
//
// It builds discoh, starts two redis-servers, two memcacheds, and a
// nutcracker and a discoh per protocol over them (the same pool settings),
// then runs every workload against direct, twemproxy and discoh in turn, for
// several rounds. Run it from the repository root:
//
//	go run ./bench/cmd/compare -rounds 3 -out bench/results
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/discoh/discoh/bench/proc"
	"github.com/discoh/discoh/bench/report"
)

// fileLimit is the open-file limit the harness and its servers run with:
// room for the idle-connection test's clients on both ends plus the load.
const fileLimit = 65536

type options struct {
	rounds         int
	out            string
	requests       int // redis-benchmark -n for unpipelined rows
	pipelinedScale int // how many times more requests pipelined rows send
	clients        int
	keys           int
	mcDuration     time.Duration
	idleConns      int
	rows           *regexp.Regexp
	seed           uint64
	discoh         string   // a prebuilt binary; "" builds ./cmd/discoh
	discohPool     []string // extra keys for discoh's pools, e.g. "replicas: 2"
}

func parseFlags() (options, error) {
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of direct, twemproxy, discoh per row")
	flag.StringVar(&o.out, "out", "bench/results", "folder for results.md and ratios.png")
	flag.IntVar(&o.requests, "requests", 50000, "redis-benchmark -n for rows without pipelining")
	flag.IntVar(&o.pipelinedScale, "pipelined-scale", 5, "times more requests for -P 16 rows")
	flag.IntVar(&o.clients, "clients", 50, "client connections per run")
	flag.IntVar(&o.keys, "keys", 100000, "key space (redis-benchmark -r)")
	flag.DurationVar(&o.mcDuration, "mc-duration", 2*time.Second, "length of each memcached run")
	flag.IntVar(&o.idleConns, "idle", 10000, "idle clients for the memory test (0 skips it)")
	rows := flag.String("rows", "", "run only the rows whose name matches this regexp")
	flag.StringVar(&o.discoh, "discoh", "", "use this discoh binary instead of building ./cmd/discoh")
	pool := flag.String("discoh-pool", "", "extra keys for discoh's pools, separated by ';' (e.g. 'replicas: 2')")
	flag.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "memcached load's random seed")
	flag.Parse()
	for _, k := range strings.Split(*pool, ";") {
		if k = strings.TrimSpace(k); k != "" {
			o.discohPool = append(o.discohPool, k)
		}
	}
	var err error
	o.rows, err = regexp.Compile(*rows)
	return o, err
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, log); err != nil {
		log.Error("compare failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	limit, err := proc.RaiseFileLimit(fileLimit)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "discoh-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := o.discoh
	if bin == "" {
		bin, err = buildDiscoh(ctx, dir)
	}
	if err != nil {
		return err
	}
	st, err := startStack(dir, bin, o.discohPool)
	if err != nil {
		return err
	}
	defer st.close()
	log.Info("servers up", "open_file_limit", limit, "seed", o.seed)
	if st.mcSkip != nil {
		log.Warn("memcached rows skipped", "err", st.mcSkip)
	}
	benches := selectBenches(o, st.mcSkip)
	if err := runRounds(ctx, st, benches, o.rounds, log); err != nil {
		return err
	}
	mem, err := measureIdle(ctx, st, o.idleConns, log)
	if err != nil {
		return err
	}
	return writeResults(o.out, rowsOf(benches), mem, notes(o, limit, st.mcSkip))
}

// selectBenches returns the rows the -rows flag picks, the memcached ones
// marked skipped when discoh cannot serve them.
func selectBenches(o options, mcSkip error) []*bench {
	var out []*bench
	for _, b := range append(redisBenches(o), mcBenches(o)...) {
		if !o.rows.MatchString(b.row.Name) {
			continue
		}
		if b.protocol == mcProto && mcSkip != nil {
			b.row.Skipped = "discoh refused the memcached pool config (see the notes)"
		}
		out = append(out, b)
	}
	return out
}

// measureIdle runs the idle-connection memory test, unless n is 0, on
// proxies started for it.
func measureIdle(ctx context.Context, st *stack, n int, log *slog.Logger) ([]report.IdleMemory, error) {
	if n == 0 {
		return nil, nil
	}
	targets, err := st.freshRedisTargets()
	if err != nil {
		return nil, err
	}
	return idleMemory(ctx, targets, n, log), nil
}

func rowsOf(benches []*bench) []*report.Row {
	rows := make([]*report.Row, len(benches))
	for i, b := range benches {
		rows[i] = b.row
	}
	return rows
}
