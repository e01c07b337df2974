package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Every float16 value converts to float32 and back unchanged, and the
// conversion agrees with npy's decoder.
func TestHalfRoundTrip(t *testing.T) {
	for h := range 1 << 16 {
		f := halfToFloat32(uint16(h))
		if g := npy.HalfToFloat32(uint16(h)); math.Float32bits(f) != math.Float32bits(g) && !(f != f && g != g) {
			t.Fatalf("halfToFloat32(%#04x) = %g, npy says %g", h, f, g)
		}
		if f != f {
			if b := float32ToHalf(f); b&0x7c00 != 0x7c00 || b&0x3ff == 0 {
				t.Fatalf("NaN %#04x → %#04x", h, b)
			}
			continue
		}
		if b := float32ToHalf(f); b != uint16(h) {
			t.Fatalf("float32ToHalf(%g) = %#04x, want %#04x", f, b, h)
		}
	}
}

// float32ToHalf rounds to the nearest float16, ties to even.
func TestHalfRounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		f := float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(44)-28))
		h := float32ToHalf(f)
		got := float64(halfToFloat32(h))
		// Neighbours of the result must not be closer.
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7c00 == 0x7c00 {
				continue
			}
			alt := float64(halfToFloat32(n))
			if d, e := math.Abs(alt-float64(f)), math.Abs(got-float64(f)); d < e || (d == e && h&1 == 1) {
				t.Fatalf("float32ToHalf(%g) = %g, but %g is nearer (or an even tie)", f, got, alt)
			}
		}
	}
	if h := float32ToHalf(70000); h != 0x7c00 {
		t.Errorf("70000 → %#04x, want +Inf", h)
	}
	if h := float32ToHalf(65519); h != 0x7bff {
		t.Errorf("65519 → %#04x, want 65504", h)
	}
	if h := float32ToHalf(-1e-9); h != 0x8000 {
		t.Errorf("-1e-9 → %#04x, want -0", h)
	}
}

func TestToHalf(t *testing.T) {
	if _, ok := toHalf([]float32{1e-12}); ok {
		t.Error("1e-12 (underflows) accepted")
	}
	if _, ok := toHalf([]float32{1e5}); ok {
		t.Error("1e5 (overflows) accepted")
	}
	// Tiny weights next to large ones lose nothing that matters.
	if _, ok := toHalf([]float32{0.5, 1e-9, -0.25, 0}); !ok {
		t.Error("weights with a tiny value refused")
	}
	if _, ok := toHalf([]float32{1e-4}); !ok {
		t.Error("1e-4 refused")
	}
	// 1e-5 is a float16 subnormal, 0.3 % off.
	if _, ok := toHalf([]float32{1e-5}); ok {
		t.Error("1e-5 accepted")
	}
}

func TestHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := &Histogram{}
	var all []float64
	// Batches whose ranges grow in both directions.
	for b := range 20 {
		xs := make([]float32, 1000)
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range xs {
			v := rng.NormFloat64() * float64(b+1)
			if b == 7 {
				v += 50
			}
			xs[i] = float32(v)
			all = append(all, float64(xs[i]))
			lo, hi = min(lo, float64(xs[i])), max(hi, float64(xs[i]))
		}
		h.add(xs, lo, hi)
		if float64(xs[0]) < h.Lo || float64(xs[0]) >= h.Hi() {
			t.Fatalf("batch %d: value %g outside [%g, %g)", b, xs[0], h.Lo, h.Hi())
		}
	}
	if h.total() != int64(len(all)) {
		t.Fatalf("histogram counts %d values, %d added", h.total(), len(all))
	}
	// Quantiles within a few bins of the exact ones.
	sorted := append([]float64{}, all...)
	sortFloats(sorted)
	for _, q := range []float64{0.001, 0.1, 0.5, 0.9, 0.999} {
		want := sorted[int(q*float64(len(sorted)))]
		if got := h.quantile(q); math.Abs(got-want) > 3*h.Width {
			t.Errorf("quantile %g = %g, want %g (bin width %g)", q, got, want, h.Width)
		}
	}
}

func sortFloats(v []float64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// empiricalMSE is the mean squared error of int8 quantization of xs with
// the parameters of [lo, hi].
func empiricalMSE(xs []float32, r Range) float64 {
	p := paramsFromRange(r.Lo, r.Hi)
	e := 0.0
	for _, x := range xs {
		q := quantizeValue(x, p.scale, p.zp)
		d := float64(p.scale)*float64(int64(q)-p.zp) - float64(x)
		e += d * d
	}
	return e / float64(len(xs))
}

// The MSE range quantizes the values seen with less error than min/max
// (and than ranges a bit wider or narrower); a Laplace distribution gets
// clipped, a uniform one hardly.
func TestMSERange(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		name string
		gen  func() float64
		clip bool
	}{
		{"laplace", func() float64 { return rng.ExpFloat64() * float64(1-2*rng.IntN(2)) }, true},
		{"gauss+outliers", func() float64 {
			if rng.IntN(2000) == 0 {
				return 30 + 10*rng.Float64()
			}
			return rng.NormFloat64()
		}, false},
		{"uniform", rng.Float64, false},
	} {
		xs := make([]float32, 100000)
		for i := range xs {
			xs[i] = float32(c.gen())
		}
		s := newStats(c.name, true, false)
		s.observe(xs[:50000], 0)
		s.observe(xs[50000:], 0)
		r := s.rangeOf(MSE, 0)
		mm := s.rangeOf(MinMax, 0)
		e, emm := empiricalMSE(xs, r), empiricalMSE(xs, mm)
		t.Logf("%s: MSE range %+v (error %.3g), min/max %+v (error %.3g)", c.name, r, e, mm, emm)
		if e > emm*1.01 {
			t.Errorf("%s: MSE range error %.3g > min/max error %.3g", c.name, e, emm)
		}
		for _, f := range []float64{0.8, 1.25} {
			w := Range{r.Lo * f, r.Hi * f}
			if ew := empiricalMSE(xs, w); ew < e*0.98 {
				t.Errorf("%s: range %+v has error %.3g < %.3g of the MSE range", c.name, w, ew, e)
			}
		}
		if clipped := r.Hi < mm.Hi*0.95; clipped != c.clip {
			t.Errorf("%s: clipped = %v", c.name, clipped)
		}
	}
	// Percentiles.
	s := newStats("n", true, false)
	xs := make([]float32, 100000)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	s.observe(xs, 0)
	if p := s.rangeOf(Percentile, 99.9); p.Hi > 3.3 || p.Hi < 2.9 || p.Lo < -3.3 || p.Lo > -2.9 {
		t.Errorf("99.9th percentiles of N(0,1): %+v", p)
	}
}

// A SOFTMAX input's range ends SoftmaxSpan below the smallest row maximum.
func TestSoftmaxRange(t *testing.T) {
	s := newStats("logits", true, true)
	s.observe([]float32{3, 1, -1e4, -1e4, 5, 2, 0, -1e4}, 4)
	for _, e := range []Estimator{MinMax, Percentile, MSE} {
		r := s.rangeOf(e, 99)
		if r.Lo != 3-SoftmaxSpan || r.Hi != 5 {
			t.Errorf("%v: %+v, want [%d, 5]", e, r, 3-SoftmaxSpan)
		}
	}
}

func TestParamsFromRange(t *testing.T) {
	for _, c := range []struct{ lo, hi float64 }{{-1, 1}, {0, 6}, {-3, -1}, {0.5, 2}, {0, 0}, {-1e-20, 1e-20}, {-100, 0.1}} {
		p := paramsFromRange(c.lo, c.hi)
		if p.zp < -128 || p.zp > 127 || !(p.scale > 0) {
			t.Fatalf("%+v → %+v", c, p)
		}
		// Zero is exact; the range's ends are within half a step.
		if q := quantizeValue(0, p.scale, p.zp); int64(q) != p.zp {
			t.Errorf("%+v: 0 → %d, zero point %d", c, q, p.zp)
		}
		lo, hi := min(c.lo, 0), max(c.hi, 0)
		for _, v := range []float64{lo, hi} {
			q := quantizeValue(float32(v), p.scale, p.zp)
			back := float64(p.scale) * float64(int64(q)-p.zp)
			if math.Abs(back-v) > float64(p.scale) && p.scale > minScale {
				t.Errorf("%+v: %g → %d → %g", c, v, q, back)
			}
		}
	}
}

func TestQuantizePerAxis(t *testing.T) {
	// [2,1,1,3]: axis 0 has 2 slices of 3, axis 3 has 3 slices of 2.
	v := []float32{1, -2, 0.5, 0, 0, 0}
	q, s := quantizePerAxis(v, []int{2, 1, 1, 3}, 0)
	if len(s) != 2 || s[0] != float32(2.0/127) || s[1] != 1 {
		t.Errorf("axis 0 scales %v", s)
	}
	if q[1] != -127 || q[0] != 64 || q[3] != 0 {
		t.Errorf("axis 0 values %v", q)
	}
	q, s = quantizePerAxis(v, []int{2, 1, 1, 3}, 3)
	if len(s) != 3 || s[0] != float32(1.0/127) || s[1] != float32(2.0/127) || s[2] != float32(0.5/127) {
		t.Errorf("axis 3 scales %v", s)
	}
	if q[0] != 127 || q[1] != -127 || q[2] != 127 {
		t.Errorf("axis 3 values %v", q)
	}
	b, bs, clamped := quantizeBias([]float32{1, -1e12}, 0.5, s[:2])
	if clamped != 1 || b[0] != int32(math.Round(1/float64(float32(0.5*float64(s[0]))))) || b[1] != -math.MaxInt32 || bs[1] != float32(0.5*float64(s[1])) {
		t.Errorf("bias %v scales %v clamped %d", b, bs, clamped)
	}
}

func TestOutliers(t *testing.T) {
	rows := make([][]float32, 10)
	for i := range rows {
		rows[i] = []float32{1 + float32(i)/100, 2, 0.5}
	}
	rows[4] = []float32{300, 500, 0.5}
	rows[7] = nil // already left out
	rows[8] = []float32{5, 2, 0.5}
	if got := outliers(rows, 0.1); len(got) != 1 || got[0] != 4 {
		t.Errorf("10 %%: %v, want [4]", got)
	}
	if got := outliers(rows, 0.2); len(got) != 2 || got[0] != 4 || got[1] != 8 {
		t.Errorf("20 %%: %v, want [4 8]", got)
	}
	if got := outliers(rows, 0); got != nil {
		t.Errorf("0 %%: %v", got)
	}
}

// compact drops unreferenced tensors and buffers and renumbers.
func TestCompact(t *testing.T) {
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, []int{1, 2}, nil)
	dead := b.Const("dead", tflite.Float32, []int{2}, []float32{1, 2}, nil)
	c := b.Const("c", tflite.Float32, []int{2}, []float32{3, 4}, nil)
	y := b.Tensor("y", tflite.Float32, []int{1, 2}, nil)
	b.Op(schema.BuiltinOperatorADD, nil, []int{x, c}, y)
	b.Output(y)
	b.Signature("s")
	m := b.Model()
	m.SetMinRuntimeVersion("2.13.0")
	_ = dead
	compact(m)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	sg := m.Subgraphs[0]
	if len(sg.Tensors) != 3 || len(m.Buffers) != 3 {
		t.Fatalf("%d tensors, %d buffers after compact, want 3 and 3", len(sg.Tensors), len(m.Buffers))
	}
	if sg.Tensors[sg.Operators[0].Inputs[1]].Name != "c" || m.SignatureDefs[0].Outputs[0].Tensor != sg.Outputs[0] {
		t.Error("indices not renumbered")
	}
	if m.MinRuntimeVersion() != "2.13.0" {
		t.Error("metadata lost")
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		ok   bool
	}{
		{"*", "anything", true}, {"a*", "abc", true}, {"*.rstd", "x.y.rstd", true}, {"*.rstd", "x.rstd.y", false},
		{"v.*.attn.*", "v.stages.0.attn.f", true}, {"v.*.attn.*", "v.stages.0.ffn", false}, {"a*b*c", "abc", true}, {"a*b*c", "acb", false},
		{"ab", "ab", true}, {"ab*", "a", false},
	} {
		if glob(c.p, c.s) != c.ok {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, !c.ok)
		}
	}
}
