package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/interp"
)

// BenchmarkDepthwiseLSMS times DEPTHWISE_CONV_2D at the shapes of the
// LSMS tiny configuration at 480×480 (SVLA 5×5 and strips on 32 channels,
// the FFN's 3×3 on its 8× wider hidden layer), 1 and 2 threads.
func BenchmarkDepthwiseLSMS(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	shapes := []struct{ h, w, c, kh, kw int }{
		{120, 120, 32, 5, 5}, {120, 120, 32, 1, 21}, {120, 120, 32, 21, 1},
		{120, 120, 256, 3, 3}, {30, 30, 1280, 3, 3}, {15, 15, 256, 7, 1},
	}
	for _, i8 := range []bool{false, true} {
		dt := "f32"
		if i8 {
			dt = "i8"
		}
		for _, s := range shapes {
			op := benchConv(rng, true, i8, s.h, s.w, s.c, s.kh, s.kw)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%dx%d/%dx%dx%d/threads=%d", dt, s.kh, s.kw, s.h, s.w, s.c, threads), func(b *testing.B) {
					it, err := interp.New(op.model, interp.Options{Threads: threads})
					if err != nil {
						b.Fatal(err)
					}
					defer it.Close()
					benchFill(it, rand.New(rand.NewPCG(1, 1)))
					for b.Loop() {
						if err := it.Invoke(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(2*op.macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
				})
			}
		}
	}
}
