// Package redisbench runs redis-benchmark against one address and reads its
// --csv report.
package redisbench

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// Errors of a benchmark run.
var (
	ErrNoResult = errors.New("redisbench: no result in the report")
	ErrColumn   = errors.New("redisbench: report lacks a column")
)

// Workload is one redis-benchmark test and its load.
type Workload struct {
	Test      string   // a -t test (get, set, mset), or "" to run Command
	Command   []string // an arbitrary command, with key:__rand_int__ placeholders
	Clients   int      // -c: connections
	Requests  int      // -n: commands in all
	Pipeline  int      // -P: commands in flight per connection
	ValueSize int      // -d: bytes per SET value
	Keys      int      // -r: __rand_int__ ranges over [0, Keys)
}

// Result is redis-benchmark's report of one test; latencies are in
// milliseconds.
type Result struct {
	Test  string
	RPS   float64
	P50Ms float64
	P99Ms float64
}

// MGet returns a command that reads n random keys at once.
func MGet(n int) []string {
	return append([]string{"mget"}, slices.Repeat([]string{"key:__rand_int__"}, n)...)
}

// Args returns redis-benchmark's arguments for running w against addr.
func (w Workload) Args(addr string) ([]string, error) {
	host, port, err := splitAddr(addr)
	if err != nil {
		return nil, err
	}
	args := []string{"-h", host, "-p", port, "--csv",
		"-c", strconv.Itoa(w.Clients), "-n", strconv.Itoa(w.Requests),
		"-P", strconv.Itoa(w.Pipeline), "-d", strconv.Itoa(w.ValueSize),
		"-r", strconv.Itoa(w.Keys)}
	if w.Test != "" {
		return append(args, "-t", w.Test), nil
	}
	return append(args, w.Command...), nil
}

func splitAddr(addr string) (host, port string, err error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", fmt.Errorf("redisbench: address %q has no port", addr)
	}
	return addr[:i], addr[i+1:], nil
}

// Run runs w against addr with the redis-benchmark binary bin.
func Run(ctx context.Context, bin, addr string, w Workload) (Result, error) {
	args, err := w.Args(addr)
	if err != nil {
		return Result{}, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Result{}, fmt.Errorf("redisbench: %v: %s", err, lastLine(stderr.String()))
	}
	results, err := ParseCSV(bytes.NewReader(out))
	if err != nil {
		return Result{}, err
	}
	return results[0], nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// ParseCSV reads the results of redis-benchmark --csv: a header line naming
// the columns, then one line per test.
func ParseCSV(r io.Reader) ([]Result, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("redisbench: %w", err)
	}
	if len(rows) < 2 {
		return nil, ErrNoResult
	}
	col, err := columns(rows[0], "test", "rps", "p50_latency_ms", "p99_latency_ms")
	if err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(rows)-1)
	for _, row := range rows[1:] {
		res, err := parseRow(row, col)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}

// columns returns the position of each wanted column in header, in order.
func columns(header []string, want ...string) ([]int, error) {
	pos := make([]int, len(want))
	for i, name := range want {
		pos[i] = slices.Index(header, name)
		if pos[i] < 0 {
			return nil, fmt.Errorf("%w: %s", ErrColumn, name)
		}
	}
	return pos, nil
}

// parseRow reads one test's line; col holds the positions of test, rps, p50
// and p99.
func parseRow(row []string, col []int) (Result, error) {
	var nums [3]float64
	for i, c := range col[1:] {
		n, err := strconv.ParseFloat(row[c], 64)
		if err != nil {
			return Result{}, fmt.Errorf("redisbench: %s: %w", row[col[0]], err)
		}
		nums[i] = n
	}
	return Result{Test: row[col[0]], RPS: nums[0], P50Ms: nums[1], P99Ms: nums[2]}, nil
}
