package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestQuantizeMultiplier(t *testing.T) {
	cases := []struct {
		real  float64
		q     int32
		shift int
	}{
		{0, 0, 0},
		{0.5, 1 << 30, 0},
		{1, 1 << 30, 1},
		{0.25, 1 << 30, -1},
		{0.75, 1610612736, 0},
	}
	for _, c := range cases {
		q, s := QuantizeMultiplier(c.real)
		if q != c.q || s != c.shift {
			t.Errorf("QuantizeMultiplier(%v) = %d,%d want %d,%d", c.real, q, s, c.q, c.shift)
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 10000 {
		r := math.Exp(rng.Float64()*20 - 15)
		q, s := QuantizeMultiplier(r)
		got := float64(q) * math.Ldexp(1, s-31)
		if math.Abs(got-r) > r*1e-9 {
			t.Fatalf("%v -> %d,%d = %v", r, q, s, got)
		}
	}
}

func TestMultiplyByQuantizedMultiplierMatchesReal(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for range 100000 {
		r := math.Exp(rng.Float64()*10 - 9)
		x := int32(rng.IntN(1<<20) - 1<<19)
		q, s := QuantizeMultiplier(r)
		got := MultiplyByQuantizedMultiplier(x, q, s)
		want := float64(x) * r
		if math.Abs(float64(got)-want) > 1 {
			t.Fatalf("x=%d r=%v: got %d want %v", x, r, got, want)
		}
	}
}

func TestRoundingDivideByPOT(t *testing.T) {
	cases := []struct{ x, e, want int32 }{
		{5, 1, 3}, {-5, 1, -3}, {4, 1, 2}, {6, 2, 2}, {-6, 2, -2}, {7, 0, 7}, {-1, 1, -1}, {1, 1, 1},
	}
	for _, c := range cases {
		if got := RoundingDivideByPOT(c.x, int(c.e)); got != c.want {
			t.Errorf("RoundingDivideByPOT(%d,%d)=%d want %d", c.x, c.e, got, c.want)
		}
	}
}
