package report

import (
	"math"
	"slices"
)

// Median returns the middle of xs (the mean of the two middle values when
// their number is even), or NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

// MedianRatio pairs num[i] with den[i] (round i of two targets), and returns
// the median of num[i]/den[i] over the pairs whose den is positive, or NaN
// for none. Pairing runs of the same round cancels the drift of a shared,
// noisy machine better than a ratio of two medians does.
func MedianRatio(num, den []float64) float64 {
	var ratios []float64
	for i := range min(len(num), len(den)) {
		if den[i] > 0 {
			ratios = append(ratios, num[i]/den[i])
		}
	}
	return Median(ratios)
}
