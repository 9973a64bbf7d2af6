package main

import (
	"context"
	"fmt"
	"time"

	"github.com/discoh/discoh/bench/mcload"
	"github.com/discoh/discoh/bench/redisbench"
	"github.com/discoh/discoh/bench/report"
)

// mcValueSize is the memcached rows' value size: a typical small cached item.
const mcValueSize = 64

// multiKeyCost is how many times fewer requests the 10-key rows send, so
// that they take about as long as the others.
const multiKeyCost = 2

// bench is one row of the report and how to run it against any target.
type bench struct {
	row      *report.Row
	protocol string
	fill     fill // what the backends must hold before the row runs
	load     loadFunc
}

// loadFunc sends one run of load to addr and returns how many requests it
// sent and what it measured; CPU and memory are added by measure.
type loadFunc func(ctx context.Context, addr string) (int64, report.Measurement, error)

// fill is the data set a row reads: keys key:000000000000 onwards holding
// values of one size on every backend of a protocol.
type fill struct {
	protocol  string
	keys      int
	valueSize int
}

// redisBenches returns the Redis rows: SET and GET of 64 B and 1 KB values,
// and MSET and MGET of 10 keys of 64 B, each without pipelining and 16 deep.
// Rows of one value size sit together: the backends are filled once per
// value size and round.
func redisBenches(o options) []*bench {
	var out []*bench
	for _, size := range []int{64, 1024} {
		for _, depth := range []int{1, 16} {
			out = append(out,
				redisBench(o, "SET", size, depth, 1, redisbench.Workload{Test: "set"}),
				redisBench(o, "GET", size, depth, 1, redisbench.Workload{Test: "get"}))
		}
		if size == 64 {
			out = append(out, multiKeyBenches(o, size)...)
		}
	}
	return out
}

func multiKeyBenches(o options, size int) []*bench {
	var out []*bench
	for _, depth := range []int{1, 16} {
		out = append(out,
			redisBench(o, "MSET 10 keys", size, depth, multiKeyCost, redisbench.Workload{Test: "mset"}),
			redisBench(o, "MGET 10 keys", size, depth, multiKeyCost, redisbench.Workload{Command: redisbench.MGet(10)}))
	}
	return out
}

// redisBench returns a row running w with a depth-deep pipeline of size-byte
// values. Its request count is o.requests, times o.pipelinedScale when
// pipelined, divided by cost (how many times slower than a GET a request is).
func redisBench(o options, name string, size, depth, cost int, w redisbench.Workload) *bench {
	w.Clients, w.Keys, w.ValueSize, w.Pipeline = o.clients, o.keys, size, depth
	w.Requests = o.requests / cost
	if depth > 1 {
		w.Requests *= o.pipelinedScale
	}
	return &bench{
		row:      report.NewRow("Redis", fmt.Sprintf("%s %d B -P %d", name, size, depth)),
		protocol: redisProto,
		fill:     fill{redisProto, o.keys, size},
		load: func(ctx context.Context, addr string) (int64, report.Measurement, error) {
			r, err := redisbench.Run(ctx, "redis-benchmark", addr, w)
			return int64(w.Requests), report.Measurement{OpsPerSec: r.RPS, P50Ms: r.P50Ms, P99Ms: r.P99Ms}, err
		},
	}
}

// mcBenches returns the memcached rows: gets and sets 90/10, unpipelined and
// 16 deep, and multi-gets of 10 keys.
func mcBenches(o options) []*bench {
	return []*bench{
		mcBench(o, "get/set 90/10 -P 1", mcload.GetSet, 1),
		mcBench(o, "get/set 90/10 -P 16", mcload.GetSet, 16),
		mcBench(o, fmt.Sprintf("multi-get %d keys -P 1", mcload.MultiGetKeys), mcload.MultiGet, 1),
	}
}

func mcBench(o options, name string, mix mcload.Mix, depth int) *bench {
	cfg := mcload.Config{Mix: mix, Conns: o.clients, Depth: depth, Keys: o.keys,
		ValueSize: mcValueSize, Duration: o.mcDuration, Seed: o.seed}
	return &bench{
		row:      report.NewRow("memcached", name),
		protocol: mcProto,
		fill:     fill{mcProto, o.keys, mcValueSize},
		load: func(ctx context.Context, addr string) (int64, report.Measurement, error) {
			cfg.Addr = addr
			return mcRun(ctx, cfg)
		},
	}
}

// mcRun runs the generator and fails a run that got error replies, whose
// throughput would flatter the server.
func mcRun(ctx context.Context, cfg mcload.Config) (int64, report.Measurement, error) {
	r, err := mcload.Run(ctx, cfg)
	if err == nil && r.Errors > 0 {
		err = fmt.Errorf("%d error replies", r.Errors)
	}
	m := report.Measurement{OpsPerSec: r.OpsPerSec(), P50Ms: ms(r.P50), P99Ms: ms(r.P99)}
	return r.Ops, m, err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
