package report

import (
	"math"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"one", []float64{7}, 7},
		{"odd count, unsorted", []float64{9, 1, 5}, 5},
		{"even count takes the mean of the middle two", []float64{4, 1, 3, 10}, 3.5},
		{"repeated values", []float64{2, 2, 8}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Median(tt.xs); got != tt.want {
				t.Errorf("Median(%v) = %v; want %v", tt.xs, got, tt.want)
			}
		})
	}
}

func TestMedianOfNothingIsNaN(t *testing.T) {
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v; want NaN", got)
	}
}

func TestMedianLeavesInputUnsorted(t *testing.T) {
	xs := []float64{3, 1, 2}
	Median(xs)
	if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
		t.Errorf("Median reordered its input: got %v; want [3 1 2]", xs)
	}
}

func TestMedianRatio(t *testing.T) {
	tests := []struct {
		name     string
		num, den []float64
		want     float64
	}{
		{"pairs by round", []float64{10, 30, 20}, []float64{20, 30, 10}, 1},
		// Per-round ratios 0.5, 0.5, 4 have median 0.5; the ratio of the
		// medians would be 20/20 = 1.
		{"not the ratio of medians", []float64{10, 20, 40}, []float64{20, 40, 10}, 0.5},
		{"zero denominators are dropped", []float64{5, 6, 9}, []float64{0, 2, 3}, 3},
		{"extra rounds of one side are ignored", []float64{4, 8, 100}, []float64{2, 4}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MedianRatio(tt.num, tt.den); got != tt.want {
				t.Errorf("MedianRatio(%v, %v) = %v; want %v", tt.num, tt.den, got, tt.want)
			}
		})
	}
}

func TestMedianRatioWithoutPairsIsNaN(t *testing.T) {
	if got := MedianRatio([]float64{1}, []float64{0}); !math.IsNaN(got) {
		t.Errorf("MedianRatio([1], [0]) = %v; want NaN", got)
	}
}

// threeRounds returns a row where discoh runs at half of direct's speed
// and twemproxy at a quarter, in every round, with drifting absolute speeds.
func threeRounds() *Row {
	r := NewRow("Redis", "GET")
	for _, base := range []float64{1000, 1200, 800} {
		r.Add(Direct, Measurement{OpsPerSec: base, CPUPerMops: 10})
		r.Add(Twemproxy, Measurement{OpsPerSec: base / 4, CPUPerMops: 20})
		r.Add(Discoh, Measurement{OpsPerSec: base / 2, CPUPerMops: 30})
	}
	return r
}

func TestRowMediansAndRatios(t *testing.T) {
	r := threeRounds()
	checks := []struct {
		name      string
		got, want float64
	}{
		{"direct median ops/s", r.Median(Direct, Throughput), 1000},
		{"discoh ÷ direct ops/s", r.Ratio(Discoh, Direct, Throughput), 0.5},
		{"discoh ÷ twemproxy ops/s", r.Ratio(Discoh, Twemproxy, Throughput), 2},
		{"discoh ÷ twemproxy CPU", r.Ratio(Discoh, Twemproxy, CPU), 1.5},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v; want %v", c.name, c.got, c.want)
		}
	}
}

func TestMarkdownShowsRatiosAndSkips(t *testing.T) {
	skipped := NewRow("memcached", "get/set")
	skipped.Skipped = "no | pool\nhere"
	var b strings.Builder
	if err := Markdown(&b, "T", nil, []*Row{threeRounds(), skipped}, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| GET | 0.25 | 0.50 | 2.00 | 1.50 | — |", // p99s are all 0: no ratio
		"| GET | discoh | 500 |",
		"| get/set | skipped: no / pool here |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("got report\n%s\nwant it to contain %q", b.String(), want)
		}
	}
}
