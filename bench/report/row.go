// Package report turns benchmark runs into medians and ratios, and writes
// them as a Markdown table and a PNG chart.
package report

// The targets every workload runs against, in the order each round runs
// them.
const (
	Direct    = "direct"    // one backend server, no proxy
	Twemproxy = "twemproxy" // nutcracker over both backends
	Discoh    = "discoh"    // discoh over both backends
)

// Targets lists the targets in running order.
var Targets = []string{Direct, Twemproxy, Discoh}

// Measurement is one run of one workload against one target.
type Measurement struct {
	OpsPerSec  float64
	P50Ms      float64
	P99Ms      float64
	CPUPerMops float64 // CPU seconds of the serving process per million requests
	PeakRSS    int64   // bytes: the serving process's peak RSS during the run
}

// Metric picks one number out of a measurement.
type Metric func(Measurement) float64

// Metrics that rows are compared by.
var (
	Throughput Metric = func(m Measurement) float64 { return m.OpsPerSec }
	LatencyP50 Metric = func(m Measurement) float64 { return m.P50Ms }
	LatencyP99 Metric = func(m Measurement) float64 { return m.P99Ms }
	CPU        Metric = func(m Measurement) float64 { return m.CPUPerMops }
	Memory     Metric = func(m Measurement) float64 { return float64(m.PeakRSS) }
)

// Row is one workload and its runs against each target, one per round.
type Row struct {
	Name    string
	Group   string // the table it belongs in: "Redis" or "memcached"
	Skipped string // why the row has no results; "" when it ran
	runs    map[string][]Measurement
}

// NewRow returns an empty row for the workload name in group.
func NewRow(group, name string) *Row {
	return &Row{Name: name, Group: group, runs: make(map[string][]Measurement)}
}

// Add records one round's measurement of target.
func (r *Row) Add(target string, m Measurement) {
	r.runs[target] = append(r.runs[target], m)
}

// Rounds returns how many runs of target the row holds.
func (r *Row) Rounds(target string) int { return len(r.runs[target]) }

// Median returns metric's median over target's runs (NaN for none).
func (r *Row) Median(target string, metric Metric) float64 {
	return Median(r.values(target, metric))
}

// Ratio returns the median over rounds of num's metric divided by den's.
func (r *Row) Ratio(num, den string, metric Metric) float64 {
	return MedianRatio(r.values(num, metric), r.values(den, metric))
}

func (r *Row) values(target string, metric Metric) []float64 {
	runs := r.runs[target]
	out := make([]float64, len(runs))
	for i, m := range runs {
		out[i] = metric(m)
	}
	return out
}

// ranRows returns the rows that were not skipped.
func ranRows(rows []*Row) []*Row {
	var out []*Row
	for _, r := range rows {
		if r.Skipped == "" {
			out = append(out, r)
		}
	}
	return out
}
