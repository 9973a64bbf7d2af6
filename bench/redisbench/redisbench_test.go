package redisbench

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Output of redis-benchmark 7.0.15 --csv, one test per run.
const (
	getCSV = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"GET","434782.59","1.392","0.472","1.359","2.111","3.175","3.511"
`
	msetCSV = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"MSET (10 keys)","24067.39","1.746","0.368","1.663","3.015","4.143","7.399"
`
	mgetCSV = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"mget key:__rand_int__ key:__rand_int__","37105.75","0.875","0.216","0.855","1.343","1.567","3.471"
`
)

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		want Result
	}{
		{"GET", getCSV, Result{Test: "GET", RPS: 434782.59, P50Ms: 1.359, P99Ms: 3.175}},
		{"MSET", msetCSV, Result{Test: "MSET (10 keys)", RPS: 24067.39, P50Ms: 1.663, P99Ms: 4.143}},
		{"arbitrary command", mgetCSV, Result{Test: "mget key:__rand_int__ key:__rand_int__", RPS: 37105.75, P50Ms: 0.855, P99Ms: 1.567}},
		{"columns in another order", "\"p99_latency_ms\",\"test\",\"p50_latency_ms\",\"rps\"\n\"2.5\",\"SET\",\"1\",\"100\"\n",
			Result{Test: "SET", RPS: 100, P50Ms: 1, P99Ms: 2.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tt.csv))
			if err != nil {
				t.Fatalf("ParseCSV: %v", err)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("got %+v; want [%+v]", got, tt.want)
			}
		})
	}
}

func TestParseCSVRejects(t *testing.T) {
	header := strings.SplitN(getCSV, "\n", 2)[0] + "\n"
	tests := []struct {
		name string
		csv  string
		want error // nil: any error
	}{
		{"nothing", "", ErrNoResult},
		{"header only, as when the server errs", header, ErrNoResult},
		{"no p99 column", "\"test\",\"rps\",\"p50_latency_ms\"\n\"GET\",\"1\",\"1\"\n", ErrColumn},
		{"a rate that is no number", strings.Replace(getCSV, "434782.59", "fast", 1), nil},
		{"a short line", header + "\"GET\",\"1\"\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(tt.csv))
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("got error %v; want %v", err, tt.want)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	base := Workload{Clients: 50, Requests: 1000, Pipeline: 16, ValueSize: 64, Keys: 100000}
	common := []string{"-h", "127.0.0.1", "-p", "7000", "--csv", "-c", "50", "-n", "1000",
		"-P", "16", "-d", "64", "-r", "100000"}
	withTest, withCommand := base, base
	withTest.Test = "get"
	withCommand.Command = MGet(2)
	tests := []struct {
		name string
		w    Workload
		want []string
	}{
		{"a -t test", withTest, append(slices.Clone(common), "-t", "get")},
		{"a command", withCommand, append(slices.Clone(common), "mget", "key:__rand_int__", "key:__rand_int__")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.w.Args("127.0.0.1:7000")
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Args = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestKeyMatchesRandInt(t *testing.T) {
	if got, want := Key(42), "key:000000000042"; got != want {
		t.Errorf("Key(42) = %q; want %q", got, want)
	}
}
