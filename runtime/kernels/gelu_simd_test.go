package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGeluF32MatchesScalar compares geluF32 (AVX2 where available) with
// geluXNN bit for bit: random, large, tiny and special values, every tail
// length.
func TestGeluF32MatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	src := []float32{0, float32(math.Copysign(0, -1)), 5.1158981323, -5.1158981323, 5.2, -5.2, 1e-30, -1e-30,
		math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1))}
	for range 5000 {
		src = append(src, float32(rng.NormFloat64()*3))
	}
	for range 500 {
		src = append(src, math.Float32frombits(rng.Uint32()&^(0xff<<23)|uint32(100+rng.IntN(60))<<23))
	}
	for _, off := range []int{0, 1, 3, 7} {
		s := src[off:]
		dst, ok := gemmTGuard(len(s), 16, float32(-7))
		geluF32(dst, s)
		if !ok() {
			t.Fatal("guard band written")
		}
		for i, x := range s {
			if want := geluXNN(x); math.Float32bits(dst[i]) != math.Float32bits(want) {
				t.Fatalf("gelu(%g) = %g, want %g", x, dst[i], want)
			}
		}
	}
}

func BenchmarkGeluF32(b *testing.B) {
	src := make([]float32, 1<<16)
	for i := range src {
		src[i] = float32(i%1000)/100 - 5
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		geluF32(dst, src)
	}
}
