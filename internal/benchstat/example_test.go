package benchstat_test

import (
	"fmt"
	"os"
	"time"

	"github.com/lsms-edge/lsms/internal/benchstat"
)

func ExampleSummarize() {
	ms := time.Millisecond
	s := benchstat.Summarize([]time.Duration{4 * ms, 2 * ms, 3 * ms, 1 * ms, 5 * ms})
	fmt.Println(s.P50, s.P90, s.P99, s.Max)
	// Output: 3ms 4.6ms 4.96ms 5ms
}

func ExampleCompare() {
	ms := time.Millisecond
	float := benchstat.Summarize([]time.Duration{10 * ms, 11 * ms, 12 * ms})
	int8 := benchstat.Summarize([]time.Duration{4 * ms, 5 * ms, 6 * ms})
	c := benchstat.Compare(float, int8)
	fmt.Printf("B/A = %.3f, %s is %.1f× faster\n", c.RatioP50, c.Faster, c.Speedup)
	// Output: B/A = 0.455, B is 2.2× faster
}

func ExampleStages() {
	st := benchstat.NewStages("decode", "vision")
	// Durations measured elsewhere, e.g. by the code under test:
	for _, d := range []time.Duration{2, 3, 4} {
		st.Add("decode", d*time.Millisecond)
		st.Add("vision", 10*d*time.Millisecond)
	}
	st.Table("per slice (ms):").WriteText(os.Stdout)
	// Output:
	// per slice (ms):
	// stage   n     min    mean     p50     p90     p99     max  stddev
	// -----------------------------------------------------------------
	// decode  3   2.000   3.000   3.000   3.800   3.980   4.000   1.000
	// vision  3  20.000  30.000  30.000  38.000  39.800  40.000  10.000
}
