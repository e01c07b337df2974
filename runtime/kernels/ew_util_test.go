package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"

	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
)

// ewQ returns per-tensor quantization parameters.
func ewQ(scale float32, zp int64) *tflite.Quantization {
	return &tflite.Quantization{Scale: []float32{scale}, ZeroPoint: []int64{zp}}
}

// ewRun builds an interpreter for m with the given thread count, copies
// inputs in (typed slices), invokes and returns the interpreter (the
// caller closes it).
func ewRun(t testing.TB, m *tflite.Model, threads int, inputs ...any) *interp.Interpreter {
	t.Helper()
	it, err := interp.New(m, interp.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		if err := it.SetInput(i, in); err != nil {
			it.Close()
			t.Fatal(err)
		}
	}
	if err := it.Invoke(); err != nil {
		it.Close()
		t.Fatal(err)
	}
	return it
}

func ewNew(m *tflite.Model) (*interp.Interpreter, error) {
	it, err := interp.New(m, interp.Options{Threads: 1})
	if err == nil {
		it.Close()
	}
	return it, err
}

// Conformance case builders of the elementwise ops ----------------------

// ewcShapes returns two shapes that broadcast (rank ≤ maxRank, at most
// ~maxElems output elements).
func ewcShapes(rng *rand.Rand, maxRank int) ([]int, []int) {
	for {
		r := 1 + rng.IntN(maxRank)
		out := make([]int, r)
		n := 1
		for i := range out {
			out[i] = 1 + rng.IntN(7)
			n *= out[i]
		}
		if n > 6000 {
			continue
		}
		pick := func() []int {
			k := rng.IntN(r + 1)
			s := append([]int{}, out[r-k:]...)
			for i := range s {
				if rng.IntN(3) == 0 {
					s[i] = 1
				}
			}
			return s
		}
		switch rng.IntN(4) {
		case 0: // same shape
			return out, append([]int{}, out...)
		case 1: // last-axis broadcast
			return out, []int{out[r-1]}
		default:
			return pick(), pick()
		}
	}
}

// ewcShape returns a shape of rank 0..maxRank with at most ~8000 elements.
func ewcShape(rng *rand.Rand, maxRank int) []int {
	for {
		s := make([]int, rng.IntN(maxRank+1))
		for i := range s {
			s[i] = 1 + rng.IntN(12)
		}
		if ewcNumel(s) <= 8000 {
			return s
		}
	}
}

func ewcNumel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// ewcFloats returns n values in [lo,hi).
func ewcFloats(rng *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return v
}

// ewcQParams draws int8 quantization parameters for values of about ±amp.
func ewcQParams(rng *rand.Rand, amp float64) (float32, int64) {
	s := float32(amp * (0.5 + rng.Float64()) / 127)
	return s, int64(rng.IntN(61) - 30)
}

// ewcRange is the real range an int8 tensor represents.
func ewcRange(s float32, zp int64) (float64, float64) {
	return float64(s) * float64(-128-zp), float64(s) * float64(127-zp)
}

// ewcBinaryFloat builds float32 cases of a binary op; opts gives the
// options of each case; gen draws an input's values.
func ewcBinaryFloat(rng *rand.Rand, name string, op schema.BuiltinOperator, n, maxRank int, opts func(i int) any, gen func(which int, cnt int) []float32) []conformance.Case {
	var cases []conformance.Case
	for i := range n {
		as, bs := ewcShapes(rng, maxRank)
		if i%5 == 4 {
			bs = nil // scalar
		}
		out, _ := ewcBroadcast(as, bs)
		b := tflite.NewBuilder("main")
		xa := b.Input("a", tflite.Float32, as, nil)
		var xb int
		inputs := []conformance.Input{{Shape: as, F32: gen(0, ewcNumel(as))}}
		if i%4 == 3 {
			xb = b.Const("b", tflite.Float32, bs, gen(1, ewcNumel(bs)), nil)
		} else {
			xb = b.Input("b", tflite.Float32, bs, nil)
			inputs = append(inputs, conformance.Input{Shape: bs, F32: gen(1, ewcNumel(bs))})
		}
		y := b.Tensor("y", tflite.Float32, out, nil)
		b.Op(op, opts(i), []int{xa, xb}, y)
		b.Output(y)
		cases = append(cases, conformance.Case{Name: fmt.Sprintf("%s_f32_%d_%v_%v", name, i, as, bs), Model: b.Model(), Inputs: inputs})
	}
	return cases
}

// ewcBinaryInt8 builds int8 cases (QUANTIZE → op → DEQUANTIZE) of a
// binary op; outAmp gives the output range from the input ranges.
func ewcBinaryInt8(rng *rand.Rand, name string, op schema.BuiltinOperator, n, maxRank int, opts func(i int) any, outAmp func(a, b float64) float64) []conformance.Case {
	var cases []conformance.Case
	for i := range n {
		as, bs := ewcShapes(rng, maxRank)
		if i%5 == 4 {
			bs = []int{1}
		}
		out, _ := ewcBroadcast(as, bs)
		ampA, ampB := 0.5+4*rng.Float64(), 0.5+4*rng.Float64()
		sa, za := ewcQParams(rng, ampA)
		sb, zb := ewcQParams(rng, ampB)
		so, zo := ewcQParams(rng, outAmp(ampA, ampB))
		b := tflite.NewBuilder("main")
		qa := conformance.QuantizeInput(b, "a", as, sa, za)
		qb := conformance.QuantizeInput(b, "b", bs, sb, zb)
		y := b.Tensor("y", tflite.Int8, out, ewQ(so, zo))
		b.Op(op, opts(i), []int{qa, qb}, y)
		conformance.DequantizeOutput(b, y, "out")
		loA, hiA := ewcRange(sa, za)
		loB, hiB := ewcRange(sb, zb)
		cases = append(cases, conformance.Case{
			Name:  fmt.Sprintf("%s_i8_%d_%v_%v", name, i, as, bs),
			Model: b.Model(),
			Inputs: []conformance.Input{
				{Shape: as, F32: ewcFloats(rng, ewcNumel(as), loA, hiA)},
				{Shape: bs, F32: ewcFloats(rng, ewcNumel(bs), loB, hiB)},
			},
			QuantScale: so,
		})
	}
	return cases
}

// ewcUnaryFloat builds float32 cases of a unary op.
func ewcUnaryFloat(rng *rand.Rand, name string, op schema.BuiltinOperator, n int, opts any, lo, hi float64, relTol float64) []conformance.Case {
	var cases []conformance.Case
	for i := range n {
		s := ewcShape(rng, 5)
		b := tflite.NewBuilder("main")
		x := b.Input("x", tflite.Float32, s, nil)
		y := b.Tensor("y", tflite.Float32, s, nil)
		b.Op(op, opts, []int{x}, y)
		b.Output(y)
		cases = append(cases, conformance.Case{Name: fmt.Sprintf("%s_f32_%d_%v", name, i, s), Model: b.Model(),
			Inputs: []conformance.Input{{Shape: s, F32: ewcFloats(rng, ewcNumel(s), lo, hi)}}, RelTol: relTol})
	}
	return cases
}

// ewcUnaryInt8 builds int8 cases of a unary op: input parameters for
// values in [inLo, inHi], output parameters from outParams.
func ewcUnaryInt8(rng *rand.Rand, name string, op schema.BuiltinOperator, n int, opts any, inLo, inHi float64, outParams func(i int) (float32, int64)) []conformance.Case {
	var cases []conformance.Case
	for i := range n {
		s := ewcShape(rng, 5)
		lo := inLo * (0.6 + 0.8*rng.Float64())
		hi := inHi * (0.6 + 0.8*rng.Float64())
		si := float32((hi - lo) / 255)
		zi := int64(math.Round(-128 - lo/float64(si)))
		zi = max(-128, min(127, zi))
		so, zo := outParams(i)
		b := tflite.NewBuilder("main")
		q := conformance.QuantizeInput(b, "x", s, si, zi)
		y := b.Tensor("y", tflite.Int8, s, ewQ(so, zo))
		b.Op(op, opts, []int{q}, y)
		conformance.DequantizeOutput(b, y, "out")
		rl, rh := ewcRange(si, zi)
		cases = append(cases, conformance.Case{Name: fmt.Sprintf("%s_i8_%d_%v", name, i, s), Model: b.Model(),
			Inputs:     []conformance.Input{{Shape: s, F32: ewcFloats(rng, ewcNumel(s), rl, rh)}},
			QuantScale: so})
	}
	return cases
}

// ewcBroadcast is the broadcast shape of a and b.
func ewcBroadcast(a, b []int) ([]int, bool) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := range r {
		da, db := 1, 1
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// ewcActs cycles through the fused activations.
func ewcAct(i int) schema.ActivationFunctionType {
	return []schema.ActivationFunctionType{
		schema.ActivationFunctionTypeNONE, schema.ActivationFunctionTypeRELU,
		schema.ActivationFunctionTypeNONE, schema.ActivationFunctionTypeRELU6,
		schema.ActivationFunctionTypeRELU_N1_TO_1,
	}[i%5]
}
