package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// quantizeTValues returns float32 inputs around every rounding boundary
// of a few scales, plus specials and random values.
func quantizeTValues(rng *rand.Rand, scale float32) []float32 {
	var v []float32
	for k := -300; k <= 300; k++ {
		b := (float32(k) + 0.5) * scale
		v = append(v, b, math.Nextafter32(b, 0), math.Nextafter32(b, float32(math.Inf(1))),
			math.Nextafter32(b, float32(math.Inf(-1))), float32(k)*scale)
	}
	v = append(v, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1e30, -1e30)
	for range 4000 {
		v = append(v, float32(rng.NormFloat64()*100)*scale)
	}
	for range 1000 {
		v = append(v, math.Float32frombits(rng.Uint32()))
	}
	return v
}

func TestQuantizeF32SIMDMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, scale := range []float32{1, 0.5, 0.0078125, 0.013, 2.0 / 250, 3.7, 1e-6, 1e6} {
		for _, zp := range []int32{0, -128, 127, -3, 11} {
			src := quantizeTValues(rng, scale)
			for _, off := range []int{0, 1, 7, 15} { // unaligned starts, tails
				s := src[off:]
				dst, ok := gemmTGuard(len(s), 64, int8(0x5a))
				quantizeF32(dst, s, scale, zp)
				if !ok() {
					t.Fatalf("scale %g zp %d: guard band written", scale, zp)
				}
				for i, x := range s {
					if want := quantizeF32XNN(x, 1/scale, zp); dst[i] != want {
						t.Fatalf("scale %g zp %d: quantize(%g) = %d, want %d", scale, zp, x, dst[i], want)
					}
				}
			}
		}
	}
}

func TestDequantizeI8SIMDMatchesFloat64(t *testing.T) {
	src := make([]int8, 256*3+19)
	for i := range src {
		src[i] = int8(i)
	}
	for _, scale := range []float32{1, 0.013, 2.0 / 250, 1e-30, 3e30, 0.1} {
		for _, zp := range []int32{0, -128, 127, 5} {
			for _, off := range []int{0, 3, 31} {
				s := src[off:]
				dst, ok := gemmTGuard(len(s), 64, float32(-7))
				dequantizeI8(dst, s, scale, zp)
				if !ok() {
					t.Fatalf("scale %g zp %d: guard band written", scale, zp)
				}
				for i, x := range s {
					want := float32(float64(scale) * float64(int32(x)-zp))
					if math.Float32bits(dst[i]) != math.Float32bits(want) {
						t.Fatalf("scale %g zp %d: dequantize(%d) = %g, want %g", scale, zp, x, dst[i], want)
					}
				}
			}
		}
	}
}

func TestRequantizeXNNSIMDMatchesScalar(t *testing.T) {
	src := make([]int8, 256*2+13)
	for i := range src {
		src[i] = int8(i * 7)
	}
	for _, mult := range []int32{1, 69, 256, 1000, 32768} {
		for _, zps := range [][2]int32{{0, 0}, {-128, 127}, {127, -128}, {5, -20}} {
			for _, off := range []int{0, 1, 15} {
				s := src[off:]
				dst, ok := gemmTGuard(len(s), 64, int8(0x5a))
				requantizeXNNI8(dst, s, zps[0], mult, zps[1])
				if !ok() {
					t.Fatal("guard band written")
				}
				for i, x := range s {
					if want := requantizeXNN(x, zps[0], mult, zps[1]); dst[i] != want {
						t.Fatalf("mult %d zps %v: requantize(%d) = %d, want %d", mult, zps, x, dst[i], want)
					}
				}
			}
		}
	}
}

func BenchmarkQuantizeF32(b *testing.B) {
	src := make([]float32, 120*120*32)
	for i := range src {
		src[i] = float32(i%2001-1000) / 1000
	}
	dst := make([]int8, len(src))
	b.SetBytes(int64(len(src)) * 5)
	for b.Loop() {
		quantizeF32(dst, src, 2.0/250, 2)
	}
}

func BenchmarkDequantizeI8(b *testing.B) {
	src := make([]int8, 120*120*32)
	for i := range src {
		src[i] = int8(i)
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(len(src)) * 5)
	for b.Loop() {
		dequantizeI8(dst, src, 2.0/250, 2)
	}
}
