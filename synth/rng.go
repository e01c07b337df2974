package synth

import (
	"math"
	"math/bits"
)

// rng is xoshiro256** seeded through SplitMix64. It is implemented here,
// not taken from math/rand, so that a seed gives the same stream whatever
// the Go release.
type rng struct{ s [4]uint64 }

func splitmix(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRNG derives an independent stream from a seed and a list of keys
// (e.g. case index, purpose).
func newRNG(seed uint64, keys ...uint64) *rng {
	x := seed
	for _, k := range keys {
		x = splitmix(&x) ^ (k * 0xd1342543de82ef95)
	}
	r := &rng{}
	for i := range r.s {
		r.s[i] = splitmix(&x)
	}
	return r
}

func rotl(x uint64, k uint) uint64 { return x<<k | x>>(64-k) }

func (r *rng) next() uint64 {
	s := &r.s
	res := rotl(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = rotl(s[3], 45)
	return res
}

// float returns a uniform number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// uniform returns a uniform number in [a, b).
func (r *rng) uniform(a, b float64) float64 { return a + (b-a)*r.float() }

// intn returns a uniform integer in [0, n); n must be positive.
func (r *rng) intn(n int) int {
	// Lemire's multiply-shift with rejection: unbiased.
	un := uint64(n)
	for {
		x := r.next()
		hi, lo := bits.Mul64(x, un)
		if lo >= un || lo >= (-un)%un {
			return int(hi)
		}
	}
}

// rangeInt returns a uniform integer in [a, b].
func (r *rng) rangeInt(a, b int) int { return a + r.intn(b-a+1) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// normal returns a standard normal deviate (Box–Muller, one of the pair).
func (r *rng) normal() float64 {
	u := 1 - r.float() // (0, 1]
	v := r.float()
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*v)
}

// normals fills dst with standard normal deviates, using both values of
// each Box–Muller pair.
func (r *rng) normals(dst []float32) {
	for i := 0; i < len(dst); i += 2 {
		u := 1 - r.float()
		v := r.float()
		m := math.Sqrt(-2 * math.Log(u))
		s, c := math.Sincos(2 * math.Pi * v)
		dst[i] = float32(m * c)
		if i+1 < len(dst) {
			dst[i+1] = float32(m * s)
		}
	}
}

// pick returns one of the strings.
func (r *rng) pick(s ...string) string { return s[r.intn(len(s))] }

// weighted returns an index drawn with the given weights.
func (r *rng) weighted(w ...float64) int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	x := r.float() * total
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}

// perm returns a random permutation of 0..n-1.
func (r *rng) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
