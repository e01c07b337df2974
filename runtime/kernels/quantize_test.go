package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/kernels"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestQuantizeF32ToI8(t *testing.T) {
	const scale, zp = 0.5, -3
	in := []float32{0, 0.25, -0.25, 0.75, -0.75, 1, 63, 64, -64, 1000, -1000,
		float32(math.Inf(1)), float32(math.Inf(-1)), 62.25, -62.75, 0.2499}
	// LiteRT's (XNNPACK's) rounding: x·(1/scale), ties to even
	// (0.25/0.5 = 0.5 → 0; 62.25/0.5 = 124.5 → 124).
	want := []int8{-3, -3, -3, -1, -5, -1, 123, 125, -128, 127, -128, 127, -128, 121, -128, -3}
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, []int{len(in)}, nil)
	y := b.Tensor("y", tflite.Int8, []int{len(in)}, ewQ(scale, zp))
	b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{x}, y)
	b.Output(y)
	it := ewRun(t, b.Model(), 1, in)
	defer it.Close()
	got := it.OutputTensor(0).I8()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("quantize(%g) = %d, want %d", in[i], got[i], want[i])
		}
	}
}

func TestQuantizeRequantizeI8(t *testing.T) {
	in := make([]int8, 256)
	for i := range in {
		in[i] = int8(i - 128)
	}
	run := func(s1 float32, z1 int64, s2 float32, z2 int64) []int8 {
		b := tflite.NewBuilder("main")
		x := b.Input("x", tflite.Int8, []int{256}, ewQ(s1, z1))
		y := b.Tensor("y", tflite.Int8, []int{256}, ewQ(s2, z2))
		b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{x}, y)
		b.Output(y)
		it := ewRun(t, b.Model(), 2, in)
		defer it.Close()
		return append([]int8{}, it.OutputTensor(0).I8()...)
	}
	// Ratio 0.27 (XNNPACK's range): Q8 multiplier round(256·r) = 69.
	got := run(0.1, 5, 0.37, -20)
	for i, q := range in {
		w := max(-128, min(127, ((int32(q)-5)*69+(-20<<8)+0x80)>>8))
		exact := max(-128, min(127, math.Round(float64(int32(q)-5)*0.1/0.37)-20))
		if int32(got[i]) != w || math.Abs(float64(got[i])-exact) > 1 {
			t.Errorf("requantize(%d) = %d, want %d (exact %g)", q, got[i], w, exact)
		}
	}
	// Ratio 1/300 (outside XNNPACK's range): TFLite's Requantize, whose
	// double rounding may be one off exact rounding.
	got = run(0.01, 3, 3, 1)
	m, sh := kernels.QuantizeMultiplier(float64(float32(0.01)) / float64(float32(3)))
	for i, q := range in {
		w := max(-128, min(127, kernels.MultiplyByQuantizedMultiplier(int32(q)-3, m, sh)+1))
		if int32(got[i]) != w {
			t.Errorf("requantize(%d) = %d, want %d", q, got[i], w)
		}
	}
}

func TestQuantizePerAxisAndDequantizeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shape := []int{3, 4, 5}
	scales := []float32{0.01, 0.1, 0.5, 2}
	zps := []int64{0, 3, -7, 10}
	q := &tflite.Quantization{Scale: scales, ZeroPoint: zps, Dim: 1}
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, shape, nil)
	y := b.Tensor("y", tflite.Int8, shape, q)
	z := b.Tensor("z", tflite.Float32, shape, nil)
	b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{x}, y)
	b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{y}, z)
	b.Output(z)
	in := make([]float32, 60)
	for i := range in {
		in[i] = float32(rng.NormFloat64())
	}
	it := ewRun(t, b.Model(), 3, in)
	defer it.Close()
	got := it.OutputTensor(0).F32()
	for i, v := range in {
		c := (i / 5) % 4
		s, zp := scales[c], int32(zps[c])
		qv := int32(math.Round(float64(v/s))) + zp
		qv = max(-128, min(127, qv))
		w := float32(float64(s) * float64(qv-zp))
		if got[i] != w {
			t.Errorf("elem %d (channel %d): %g -> %g, want %g", i, c, v, got[i], w)
		}
	}
}

func TestDequantizeI8(t *testing.T) {
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Int8, []int{256}, ewQ(0.0123, -17))
	y := b.Tensor("y", tflite.Float32, []int{256}, nil)
	b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{x}, y)
	b.Output(y)
	in := make([]int8, 256)
	for i := range in {
		in[i] = int8(i - 128)
	}
	it := ewRun(t, b.Model(), 1, in)
	defer it.Close()
	got := it.OutputTensor(0).F32()
	for i, q := range in {
		w := float32(float64(float32(0.0123)) * float64(int32(q)+17))
		if got[i] != w {
			t.Errorf("dequantize(%d) = %g, want %g", q, got[i], w)
		}
	}
}

// halfRef converts binary16 bits by the definition of the format.
func halfRef(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0:
		return sign * m * math.Pow(2, -24)
	case 31:
		if m == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}

func TestDequantizeFloat16AllValues(t *testing.T) {
	const n = 1 << 16
	bits := make([]uint16, n)
	for i := range bits {
		bits[i] = uint16(i)
	}
	b := tflite.NewBuilder("main")
	c := b.Const("w", tflite.Float16, []int{n}, bits, nil)
	y := b.Tensor("y", tflite.Float32, []int{n}, nil)
	b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{c}, y)
	b.Output(y)
	it := ewRun(t, b.Model(), 4)
	defer it.Close()
	got := it.OutputTensor(0).F32()
	for i, h := range bits {
		w := halfRef(h)
		g := got[i]
		if math.IsNaN(w) {
			if g == g {
				t.Fatalf("half %#04x -> %g, want NaN", h, g)
			}
			// Payload and sign survive.
			if gb := math.Float32bits(g); gb>>31 != uint32(h>>15) || (gb>>13)&0x3ff != uint32(h&0x3ff) {
				t.Fatalf("half NaN %#04x -> bits %#08x", h, gb)
			}
			continue
		}
		if float64(g) != w || math.Signbit(float64(g)) != (h&0x8000 != 0) {
			t.Fatalf("half %#04x -> %g, want %g", h, g, w)
		}
	}
	// A few well-known values.
	for h, w := range map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 5.960464477539063e-08, 0x0400: 6.103515625e-05, 0x3555: 0.33325195} {
		if got[h] != w {
			t.Errorf("half %#04x -> %g, want %g", h, got[h], w)
		}
	}
}

func TestQuantizeRejects(t *testing.T) {
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Int32, []int{4}, nil)
	y := b.Tensor("y", tflite.Int8, []int{4}, ewQ(1, 0))
	b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{x}, y)
	b.Output(y)
	if _, err := ewNew(b.Model()); err == nil {
		t.Fatal("int32 QUANTIZE accepted")
	}
}
