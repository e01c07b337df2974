package ring

import (
	"context"
	"testing"
)

// sliceBytes is one 512×512 16-bit CT slice.
const sliceBytes = 512 * 512 * 2

// BenchmarkIngest measures Put throughput (slices/s) per policy:
// block with a worker draining concurrently (the normal path), and
// drop-oldest and spill with no worker at all (the overload path each
// policy exists for: dropping, and writing to the spill directory).
func BenchmarkIngest(b *testing.B) {
	data := make([]byte, sliceBytes)
	m := Meta{Source: "bench", SOPInstanceUID: "1.2.3", TransferSyntaxUID: "1.2.840.10008.1.2.1"}
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		policy Policy
		worker bool
	}{
		{"block/worker", Block, true},
		{"drop-oldest/worker", DropOldest, true},
		{"spill/worker", Spill, true},
		{"drop-oldest/overload", DropOldest, false},
		{"spill/overload", Spill, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var opts []Option
			if tc.policy == Spill {
				opts = append(opts, WithSpillDir(b.TempDir()))
			}
			r, err := New(64, sliceBytes, tc.policy, opts...)
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				if !tc.worker {
					return
				}
				for {
					s, err := r.Next(ctx)
					if err != nil {
						return
					}
					r.Release(s)
				}
			}()
			b.SetBytes(sliceBytes)
			b.ResetTimer()
			for b.Loop() {
				if err := r.Put(ctx, m, data); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "slices/s")
			r.Close()
			<-done
		})
	}
}
