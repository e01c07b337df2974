package quant

import (
	"math"
)

// HistBins is the number of bins of a calibration histogram.
const HistBins = 2048

// Histogram counts values in HistBins equal bins starting at Lo. Its range
// grows as values arrive (doubling the bin width and merging neighbours), so
// one pass over the calibration inputs suffices.
type Histogram struct {
	Lo     float64
	Width  float64
	Counts []int64
}

// Hi is the upper edge of the last bin.
func (h *Histogram) Hi() float64 { return h.Lo + float64(len(h.Counts))*h.Width }

// cover grows the histogram until [lo, hi] lies inside it.
func (h *Histogram) cover(lo, hi float64) {
	if h.Counts == nil {
		h.Counts = make([]int64, HistBins)
		h.Lo = lo
		h.Width = (hi - lo) / HistBins * (1 + 1e-9)
		if h.Width == 0 || math.IsInf(h.Width, 0) {
			h.Width = max(math.Abs(lo)*0x1p-20, 0x1p-60)
		}
		// Guard against rounding at the top edge.
		for h.Hi() <= hi {
			h.Width *= 1 + 1e-6
		}
		return
	}
	n := len(h.Counts)
	for lo < h.Lo || hi >= h.Hi() {
		merged := make([]int64, n)
		if lo < h.Lo {
			// Extend downwards: the old range becomes the upper half.
			for k, c := range h.Counts {
				merged[(n+k)/2] += c
			}
			h.Lo -= float64(n) * h.Width
		} else {
			for k, c := range h.Counts {
				merged[k/2] += c
			}
		}
		h.Width *= 2
		h.Counts = merged
	}
}

// add counts the finite values of xs, whose finite minimum and maximum
// are lo and hi.
func (h *Histogram) add(xs []float32, lo, hi float64) {
	h.cover(lo, hi)
	inv := 1 / h.Width
	base := h.Lo
	n := len(h.Counts)
	c := h.Counts
	for _, x := range xs {
		f := (float64(x) - base) * inv
		if !(f >= 0) { // NaN, or below (only through rounding)
			if f != f {
				continue
			}
			f = 0
		}
		k := int(f)
		if k >= n {
			if math.IsInf(f, 1) && math.IsInf(float64(x), 1) {
				continue
			}
			k = n - 1
		}
		c[k]++
	}
}

// total is the number of values counted.
func (h *Histogram) total() int64 {
	var t int64
	for _, c := range h.Counts {
		t += c
	}
	return t
}

// quantile returns the value below which a fraction q of the counts lie,
// interpolating linearly inside a bin.
func (h *Histogram) quantile(q float64) float64 {
	t := h.total()
	if t == 0 {
		return 0
	}
	want := q * float64(t)
	acc := 0.0
	for k, c := range h.Counts {
		if c == 0 {
			continue
		}
		if acc+float64(c) >= want {
			f := (want - acc) / float64(c)
			return h.Lo + (float64(k)+f)*h.Width
		}
		acc += float64(c)
	}
	return h.Hi()
}

// mseRange returns the clipping range [a, b] (a ≤ 0 ≤ b, inside [lo, hi])
// that minimises the expected squared error of int8 quantization of the
// histogram's values: the clipping error of values outside plus Δ²/12 per
// value inside, Δ = (b − a)/255. Values are taken at bin centres.
func (h *Histogram) mseRange(lo, hi float64) (float64, float64) {
	n := len(h.Counts)
	// Prefix sums of count, count·x, count·x² over bins.
	s0 := make([]float64, n+1)
	s1 := make([]float64, n+1)
	s2 := make([]float64, n+1)
	for k, c := range h.Counts {
		x := h.Lo + (float64(k)+0.5)*h.Width
		fc := float64(c)
		s0[k+1] = s0[k] + fc
		s1[k+1] = s1[k] + fc*x
		s2[k+1] = s2[k] + fc*x*x
	}
	if s0[n] == 0 {
		return lo, hi
	}
	// below(a) is the number of bins whose centre is below a.
	bins := func(v float64) int {
		k := int(math.Ceil((v-h.Lo)/h.Width - 0.5))
		return max(0, min(n, k))
	}
	cost := func(a, b float64) float64 {
		ka, kb := bins(a), bins(b)
		// Bins with centre > b start at the first bin whose centre is ≥ b,
		// counted from kb; centres equal to b contribute zero either way.
		e := (s2[ka] - 2*a*s1[ka] + a*a*s0[ka]) // below a
		hs0, hs1, hs2 := s0[n]-s0[kb], s1[n]-s1[kb], s2[n]-s2[kb]
		e += hs2 - 2*b*hs1 + b*b*hs0 // above b
		d := (b - a) / 255
		e += (s0[kb] - s0[ka]) * d * d / 12
		return e
	}
	lo, hi = min(lo, 0), max(hi, 0)
	const steps = 128
	bestA, bestB, best := lo, hi, math.Inf(1)
	for i := 1; i <= steps; i++ {
		a := lo * float64(i) / steps
		if lo == 0 && i > 1 {
			break
		}
		for j := 1; j <= steps; j++ {
			b := hi * float64(j) / steps
			if hi == 0 && j > 1 {
				break
			}
			if b-a <= 0 {
				continue
			}
			if c := cost(a, b); c < best {
				best, bestA, bestB = c, a, b
			}
		}
	}
	return bestA, bestB
}

// TensorStats are the calibration statistics of one tensor.
type TensorStats struct {
	Name string
	// Min and Max are the extreme finite values seen.
	Min float64
	Max float64
	// Count is the number of finite values seen, NonFinite the others.
	Count     int64
	NonFinite int64
	// Hist is kept for the Percentile and MSE estimators.
	Hist *Histogram
	// RowMaxMin is, for a SOFTMAX input, the smallest over all rows (last
	// axis) of the row maximum; NaN otherwise.
	RowMaxMin float64
	softmax   bool
}

func newStats(name string, hist, softmax bool) *TensorStats {
	s := &TensorStats{Name: name, Min: math.Inf(1), Max: math.Inf(-1), RowMaxMin: math.Inf(1), softmax: softmax}
	if hist {
		s.Hist = &Histogram{}
	}
	return s
}

// observe adds one tensor's values; rowLen is the last dimension (for
// softmax inputs).
func (s *TensorStats) observe(xs []float32, rowLen int) {
	lo, hi := math.Inf(1), math.Inf(-1)
	bad := int64(0)
	for _, x := range xs {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			bad++
			continue
		}
		lo = min(lo, f)
		hi = max(hi, f)
	}
	s.NonFinite += bad
	if int64(len(xs)) == bad {
		return
	}
	s.Count += int64(len(xs)) - bad
	s.Min = min(s.Min, lo)
	s.Max = max(s.Max, hi)
	if s.Hist != nil {
		s.Hist.add(xs, lo, hi)
	}
	if s.softmax && rowLen > 0 {
		for r := 0; r+rowLen <= len(xs); r += rowLen {
			m := math.Inf(-1)
			for _, x := range xs[r : r+rowLen] {
				m = max(m, float64(x))
			}
			if !math.IsInf(m, 0) && !math.IsNaN(m) {
				s.RowMaxMin = min(s.RowMaxMin, m)
			}
		}
	}
}

// SoftmaxSpan is how far below the smallest row maximum a SOFTMAX input's
// range reaches: exp(−16) ≈ 1e-7 is far below the 1/256 resolution of an
// int8 softmax output, so logits further below their row's maximum (such
// as masked positions with a −10⁴ bias) may saturate without changing the
// result, and the range keeps its resolution for the logits that matter.
const SoftmaxSpan = 16

// Range is a real interval [Lo, Hi].
type Range struct{ Lo, Hi float64 }

// rangeOf applies the estimator to s.
func (s *TensorStats) rangeOf(e Estimator, pct float64) Range {
	if s.Count == 0 {
		return Range{0, 0}
	}
	r := Range{s.Min, s.Max}
	if s.softmax && !math.IsInf(s.RowMaxMin, 0) {
		// Only the span below each row's maximum matters (SoftmaxSpan);
		// there min/max is exact, and a histogram spread over masked
		// values far below has no resolution left for it.
		r.Lo = max(r.Lo, s.RowMaxMin-SoftmaxSpan)
		return r
	}
	switch e {
	case Percentile:
		if s.Hist != nil && pct < 100 {
			q := pct / 100
			r = Range{max(s.Min, s.Hist.quantile(1-q)), min(s.Max, s.Hist.quantile(q))}
		}
	case MSE:
		if s.Hist != nil {
			a, b := s.Hist.mseRange(s.Min, s.Max)
			r = Range{max(s.Min, a), min(s.Max, b)}
		}
	}
	if r.Hi < r.Lo {
		r.Hi = r.Lo
	}
	return r
}
