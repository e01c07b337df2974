package benchstat

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestPercentileHandComputed(t *testing.T) {
	cases := []struct {
		xs   []float64
		p    float64
		want float64
	}{
		// rank r = p/100·(n−1), then interpolate.
		{[]float64{1, 2, 3, 4, 5}, 0, 1},
		{[]float64{1, 2, 3, 4, 5}, 50, 3},    // r = 2
		{[]float64{1, 2, 3, 4, 5}, 90, 4.6},  // r = 3.6: 4 + 0.6·1
		{[]float64{1, 2, 3, 4, 5}, 99, 4.96}, // r = 3.96
		{[]float64{1, 2, 3, 4, 5}, 100, 5},
		{[]float64{10, 20}, 50, 15},
		{[]float64{10, 20}, 90, 19},
		{[]float64{10, 20, 40, 80}, 50, 30},   // r = 1.5
		{[]float64{10, 20, 40, 80}, 90, 68},   // r = 2.7: 40 + 0.7·40
		{[]float64{10, 20, 40, 80}, 99, 78.8}, // r = 2.97: 40 + 0.97·40
		{[]float64{7}, 0, 7},
		{[]float64{7}, 99, 7},
		{[]float64{3, 3, 3}, 50, 3},
	}
	for _, c := range cases {
		if got := Percentile(c.xs, c.p); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Percentile(%v, %g) = %g, want %g", c.xs, c.p, got, c.want)
		}
	}
	for _, p := range []float64{-1, 101, math.NaN()} {
		if got := Percentile([]float64{1, 2}, p); !math.IsNaN(got) {
			t.Errorf("Percentile(p=%g) = %g, want NaN", p, got)
		}
	}
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("Percentile(nil) = %g, want NaN", got)
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	// Unsorted on purpose; Summarize must not modify its argument.
	in := []time.Duration{5 * ms, 1 * ms, 4 * ms, 2 * ms, 3 * ms}
	s := Summarize(in)
	// Sample standard deviation: sqrt(((−2)²+(−1)²+0+1²+2²)/4) = sqrt(2.5) ms.
	want := Summary{N: 5, Min: ms, Mean: 3 * ms, P50: 3 * ms, P90: 4600 * time.Microsecond,
		P99: 4960 * time.Microsecond, Max: 5 * ms, Stddev: time.Duration(math.Round(math.Sqrt(2.5) * 1e6))}
	if s != want {
		t.Errorf("Summarize = %+v, want %+v", s, want)
	}
	if in[0] != 5*ms || in[1] != ms {
		t.Errorf("Summarize sorted its argument: %v", in)
	}
	if one := Summarize([]time.Duration{7}); one.Stddev != 0 || one.P99 != 7 || one.N != 1 {
		t.Errorf("one sample: %+v", one)
	}
	if z := Summarize(nil); z != (Summary{}) {
		t.Errorf("no samples: %+v", z)
	}
}

func TestSummaryJSONRoundTrip(t *testing.T) {
	s := Summarize([]time.Duration{1500 * time.Microsecond, 2 * time.Millisecond, 2500 * time.Microsecond})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["n"] != 3 || m["p50_ms"] != 2 || m["min_ms"] != 1.5 || m["max_ms"] != 2.5 {
		t.Errorf("JSON %s", b)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Errorf("round trip: %+v, %v; want %+v", back, err, s)
	}
}

func TestCompare(t *testing.T) {
	a := Summary{N: 3, P50: 4 * time.Millisecond, Mean: 4 * time.Millisecond}
	b := Summary{N: 3, P50: 1 * time.Millisecond, Mean: 2 * time.Millisecond}
	c := Compare(a, b)
	if c.RatioP50 != 0.25 || c.RatioMean != 0.5 || c.Faster != "B" || c.Speedup != 4 {
		t.Errorf("Compare(a, b) = %+v", c)
	}
	c = Compare(b, a)
	if c.RatioP50 != 4 || c.Faster != "A" || c.Speedup != 4 {
		t.Errorf("Compare(b, a) = %+v", c)
	}
	if c := Compare(a, a); c.Faster != "neither" || c.RatioP50 != 1 || c.Speedup != 1 {
		t.Errorf("Compare(a, a) = %+v", c)
	}
	c = Compare(Summary{}, b)
	if c.Faster != "unknown" || c.RatioP50 != 0 {
		t.Errorf("Compare(zero, b) = %+v", c)
	}
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("unknown comparison does not encode: %v", err)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 40960: "40.0 KiB",
		5 << 20: "5.0 MiB", 3 << 29: "1.50 GiB", -1: "-1 B"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
