package benchstat

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 ≤ p ≤ 100) of sorted, ascending
// samples, interpolating linearly between order statistics (see the package
// doc). It returns NaN for no samples or p outside [0, 100].
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || !(p >= 0 && p <= 100) {
		return math.NaN()
	}
	r := p / 100 * float64(n-1)
	lo := int(math.Floor(r))
	if lo >= n-1 {
		return sorted[n-1]
	}
	f := r - float64(lo)
	return sorted[lo] + f*(sorted[lo+1]-sorted[lo])
}

// Summary describes a distribution of durations. The zero Summary (N == 0)
// describes no samples.
type Summary struct {
	N                  int
	Min, Mean          time.Duration
	P50, P90, P99, Max time.Duration
	Stddev             time.Duration
}

// Summarize computes a Summary of samples, which it does not modify.
func Summarize(samples []time.Duration) Summary {
	n := len(samples)
	if n == 0 {
		return Summary{}
	}
	xs := make([]float64, n)
	var sum float64
	for i, d := range samples {
		xs[i] = float64(d)
		sum += xs[i]
	}
	slices.Sort(xs)
	mean := sum / float64(n)
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	sd := 0.0
	if n > 1 {
		sd = math.Sqrt(ss / float64(n-1))
	}
	d := func(x float64) time.Duration { return time.Duration(math.Round(x)) }
	return Summary{
		N:      n,
		Min:    d(xs[0]),
		Mean:   d(mean),
		P50:    d(Percentile(xs, 50)),
		P90:    d(Percentile(xs, 90)),
		P99:    d(Percentile(xs, 99)),
		Max:    d(xs[n-1]),
		Stddev: d(sd),
	}
}

// MS converts a duration to milliseconds.
func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summaryJSON is Summary's JSON form: milliseconds as numbers.
type summaryJSON struct {
	N        int     `json:"n"`
	MinMS    float64 `json:"min_ms"`
	MeanMS   float64 `json:"mean_ms"`
	P50MS    float64 `json:"p50_ms"`
	P90MS    float64 `json:"p90_ms"`
	P99MS    float64 `json:"p99_ms"`
	MaxMS    float64 `json:"max_ms"`
	StddevMS float64 `json:"stddev_ms"`
}

// MarshalJSON writes {"n", "min_ms", "mean_ms", "p50_ms", "p90_ms", "p99_ms",
// "max_ms", "stddev_ms"} with the durations in milliseconds.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(summaryJSON{s.N, MS(s.Min), MS(s.Mean), MS(s.P50), MS(s.P90), MS(s.P99), MS(s.Max), MS(s.Stddev)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Summary) UnmarshalJSON(data []byte) error {
	var j summaryJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	d := func(ms float64) time.Duration { return time.Duration(math.Round(ms * float64(time.Millisecond))) }
	*s = Summary{N: j.N, Min: d(j.MinMS), Mean: d(j.MeanMS), P50: d(j.P50MS), P90: d(j.P90MS), P99: d(j.P99MS), Max: d(j.MaxMS), Stddev: d(j.StddevMS)}
	return nil
}

// Comparison of two distributions, B against A.
type Comparison struct {
	// RatioP50 is B's median over A's: below 1, B is faster.
	RatioP50 float64 `json:"ratio_p50"`
	// RatioMean is B's mean over A's.
	RatioMean float64 `json:"ratio_mean"`
	// Faster is "A", "B", "neither" (equal medians) or "unknown" (see Compare).
	Faster string `json:"faster"`
	// Speedup is the slower median over the faster one (≥ 1).
	Speedup float64 `json:"speedup"`
}

// Compare compares b against a by their medians (and means). When either
// median or mean is not positive (no samples, or a clock too coarse to see
// the work) the ratios are 0 and Faster is "unknown", so that the result is
// always finite and encodes as JSON.
func Compare(a, b Summary) Comparison {
	if a.P50 <= 0 || b.P50 <= 0 || a.Mean <= 0 || b.Mean <= 0 {
		return Comparison{Faster: "unknown"}
	}
	c := Comparison{
		RatioP50:  float64(b.P50) / float64(a.P50),
		RatioMean: float64(b.Mean) / float64(a.Mean),
	}
	switch {
	case b.P50 < a.P50:
		c.Faster, c.Speedup = "B", float64(a.P50)/float64(b.P50)
	case a.P50 < b.P50:
		c.Faster, c.Speedup = "A", float64(b.P50)/float64(a.P50)
	default:
		c.Faster, c.Speedup = "neither", 1
	}
	return c
}
