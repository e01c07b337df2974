package kernels

import (
	"math"
	"testing"
)

// Scale ratios far outside what TFLite's Prepare or XNNPACK accept (an
// output scale 10^7 times finer or coarser than the inputs') must give the
// saturated or rounded real result, never a panic or a wrapped value.
func TestQuantBinaryExtremeScales(t *testing.T) {
	cases := []struct{ sa, sb, so float32 }{
		{1, 1, 1e-7},    // output multiplier ≫ 1: saturates
		{1, 0.5, 1e-9},  // ditto, unequal inputs
		{1e-7, 1e-7, 1}, // output multiplier ≪ 1: rounds to the zero point
		{0.02, 0.02, 0.02},
		{3, 2, 1e-6},
	}
	clamp := func(v float64) int8 { return int8(max(-128, min(127, math.Round(v)))) }
	for _, c := range cases {
		const za, zb, zo = 3, -5, 7
		add, ok := newAddQuantParamsXNN(c.sa, za, c.sb, zb, c.so, zo, 1, -128, 127)
		if !ok {
			add = newAddQuantParams(c.sa, za, c.sb, zb, c.so, zo, 1, -128, 127)
		}
		sub, ok := newAddQuantParamsXNN(c.sa, za, c.sb, zb, c.so, zo, -1, -128, 127)
		if !ok {
			sub = newAddQuantParams(c.sa, za, c.sb, zb, c.so, zo, -1, -128, 127)
		}
		mul, ok := newMulQuantParamsXNN(c.sa, za, c.sb, zb, c.so, zo, -128, 127)
		if !ok {
			mul = newMulQuantParams(c.sa, za, c.sb, zb, c.so, zo, -128, 127)
		}
		for x := -128; x <= 127; x += 5 {
			for y := -128; y <= 127; y += 7 {
				fx := float64(c.sa) * float64(x-za)
				fy := float64(c.sb) * float64(y-zb)
				for _, k := range []struct {
					name string
					got  int8
					real float64
				}{
					{"ADD", add.apply(int8(x), int8(y)), fx + fy},
					{"SUB", sub.apply(int8(x), int8(y)), fx - fy},
					{"MUL", mul.apply(int8(x), int8(y)), fx * fy},
				} {
					want := clamp(k.real/float64(c.so) + zo)
					if d := int(k.got) - int(want); d < -1 || d > 1 {
						t.Fatalf("%s scales %v/%v→%v x=%d y=%d: got %d, want %d±1 (real %g)",
							k.name, c.sa, c.sb, c.so, x, y, k.got, want, k.real)
					}
				}
			}
		}
	}
}
