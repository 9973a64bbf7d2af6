// Command coherentget measures what the coherence directory costs a read: redis-benchmark GETs
// of keys a source covers against GETs of the same values under keys no source covers, through
// one discoh over two redis-servers, alternating for several rounds.
//
//	go run ./bench/coherentget -rounds 3
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/bench/proc"
	"github.com/discoh/discoh/bench/redisbench"
)

func main() {
	rounds := flag.Int("rounds", 3, "alternating rounds")
	requests := flag.Int("requests", 100000, "GETs per run")
	keys := flag.Int("keys", 1000, "distinct keys")
	pipeline := flag.Int("P", 1, "redis-benchmark -P")
	dsn := flag.String("dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL holding the bench table")
	flag.Parse()
	if err := run(*rounds, *requests, *keys, *pipeline, *dsn); err != nil {
		log.Fatal(err)
	}
}

func run(rounds, requests, keys, pipeline int, dsn string) error {
	dir, err := os.MkdirTemp("", "coherentget")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := makeTable(db, keys); err != nil {
		return err
	}
	addr, stop, err := startStack(dir, dsn)
	if err != nil {
		return err
	}
	defer stop()
	if err := prefill(addr, keys); err != nil {
		return err
	}
	return measure(addr, rounds, requests, keys, pipeline)
}

// makeTable creates discoh_bench with keys rows of 64-byte bodies.
func makeTable(db *sql.DB, keys int) error {
	stmts := []string{
		"DROP TABLE IF EXISTS discoh_bench",
		"CREATE TABLE discoh_bench (id bigint PRIMARY KEY, body text NOT NULL)",
		fmt.Sprintf("INSERT INTO discoh_bench SELECT g, repeat('x', 60) || lpad(g::text, 4, '0') FROM generate_series(0, %d) g", keys-1),
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// startStack builds discoh and starts it over two redis-servers; stop kills them all.
func startStack(dir, dsn string) (string, func(), error) {
	bin := filepath.Join(dir, "discoh")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/discoh").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	var procs []*proc.Process
	stop := func() {
		for _, p := range slices.Backward(procs) {
			p.Kill()
		}
	}
	var servers []string
	for i := range 2 {
		a, _ := proc.FreeAddr()
		_, port, _ := strings.Cut(a, ":")
		p, err := proc.Start(dir, fmt.Sprintf("redis%d", i), a, "redis-server", "--port", port, "--save", "", "--appendonly", "no")
		if err != nil {
			stop()
			return "", nil, err
		}
		procs = append(procs, p)
		servers = append(servers, fmt.Sprintf("      - %s:1 s%d", a, i+1))
	}
	addr, _ := proc.FreeAddr()
	cfg := fmt.Sprintf(`pools:
  main:
    listen: %s
    redis: true
    data_dir: %s
    servers:
%s
databases:
  pg: {driver: postgres, dsn: "%s"}
coherence:
  sources:
    - {pattern: "user:{id}", database: pg, query: "SELECT body FROM discoh_bench WHERE id = $1"}
log: {level: warn}
`, addr, dir, strings.Join(servers, "\n"), dsn)
	path := filepath.Join(dir, "discoh.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		stop()
		return "", nil, err
	}
	p, err := proc.Start(dir, "discoh", addr, bin, "-config", path)
	if err != nil {
		stop()
		return "", nil, err
	}
	procs = append(procs, p)
	return addr, stop, nil
}

// prefill pulls every coherent key into the cache and stores the same bodies under plain keys,
// with the names redis-benchmark's __rand_int__ produces.
func prefill(addr string, keys int) error {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer c.Close()
	for i := range keys {
		id := fmt.Sprintf("%012d", i)
		body, err := c.Do(ctx, "discoh", "pull", "user:"+id).Text()
		if err != nil {
			return fmt.Errorf("DISCOH PULL user:%s: %w", id, err)
		}
		if err := c.Set(ctx, "plain:"+id, body, 0).Err(); err != nil {
			return err
		}
	}
	return nil
}

// measure alternates the two GET runs and prints medians and the ratio.
func measure(addr string, rounds, requests, keys, pipeline int) error {
	ctx := context.Background()
	var coherent, plain []float64
	for r := range rounds {
		for _, prefix := range []string{"plain", "user"} {
			w := redisbench.Workload{Command: []string{"GET", prefix + ":__rand_int__"}, Clients: 50,
				Requests: requests, Pipeline: pipeline, Keys: keys}
			res, err := redisbench.Run(ctx, "redis-benchmark", addr, w)
			if err != nil {
				return err
			}
			fmt.Printf("round %d %-5s GET: %.0f ops/s p50 %.3f ms p99 %.3f ms\n", r+1, prefix, res.RPS, res.P50Ms, res.P99Ms)
			if prefix == "user" {
				coherent = append(coherent, res.RPS)
			} else {
				plain = append(plain, res.RPS)
			}
		}
	}
	mc, mp := median(coherent), median(plain)
	fmt.Printf("median: coherent %.0f ops/s, plain %.0f ops/s, coherent/plain = %.2f\n", mc, mp, mc/mp)
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
