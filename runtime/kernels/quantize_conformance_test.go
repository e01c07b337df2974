package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// QUANTIZE float32→int8 (through DEQUANTIZE back to float32), and int8→int8
// requantization.
func TestConformanceQuantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 1))
	var fc, rc []conformance.Case
	for i := range 24 {
		s := ewcShape(rng, 5)
		amp := 0.1 + 10*rng.Float64()
		sc, zp := ewcQParams(rng, amp)
		b := tflite.NewBuilder("main")
		q := conformance.QuantizeInput(b, "x", s, sc, zp)
		conformance.DequantizeOutput(b, q, "out")
		// Inputs overflow the range a little to exercise saturation; a
		// third of them sit on rounding ties (k + ½)·scale, where
		// TFLite's AffineQuantize (half away from zero) and XNNPACK's
		// conversion (x·(1/scale), ties to even) part.
		in := ewcFloats(rng, ewcNumel(s), -1.3*amp, 1.3*amp)
		for j := 0; j < len(in); j += 3 {
			in[j] = (float32(rng.IntN(256)-128-int(zp)) + 0.5) * sc
		}
		fc = append(fc, conformance.Case{Name: fmt.Sprintf("QUANTIZE_f32_%d_%v", i, s), Model: b.Model(),
			Inputs:     []conformance.Input{{Shape: s, F32: in}},
			QuantScale: sc})

		s2, z2 := ewcQParams(rng, amp*(0.3+1.5*rng.Float64()))
		switch i % 8 {
		case 0:
			s2, z2 = sc, zp // identity requantization
		case 3:
			s2 = sc * 300 // ratio below 2^-8: XNNPACK declines, TFLite's Requantize runs
		}
		b = tflite.NewBuilder("main")
		q = conformance.QuantizeInput(b, "x", s, sc, zp)
		r := b.Tensor("r", tflite.Int8, s, ewQ(s2, z2))
		b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{q}, r)
		conformance.DequantizeOutput(b, r, "out")
		lo, hi := ewcRange(sc, zp)
		rc = append(rc, conformance.Case{Name: fmt.Sprintf("REQUANTIZE_i8_%d_%v", i, s), Model: b.Model(),
			Inputs:     []conformance.Input{{Shape: s, F32: ewcFloats(rng, ewcNumel(s), lo, hi)}},
			QuantScale: s2})
	}
	conformanceExact(t, "QUANTIZE/float32->int8", conformance.Run(t, "QUANTIZE/float32->int8", fc))
	conformance.Run(t, "QUANTIZE/int8->int8", rc)
}

// DEQUANTIZE of int8 is exercised by every int8 conformance case; here
// float16 constants (including subnormals and the
// largest finite values; infinities make the harness's error NaN) are dequantized and added to a float32 input.
func TestConformanceDequantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 1))
	special := []uint16{0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x3c00, 0xbc00, 0x7bff, 0xfbff, 0x3555}
	var cases []conformance.Case
	for i := range 22 {
		s := ewcShape(rng, 4)
		n := ewcNumel(s)
		bits := make([]uint16, n)
		for j := range bits {
			if rng.IntN(4) == 0 {
				bits[j] = special[rng.IntN(len(special))]
			} else {
				// Finite halves: exponent field 0..30.
				bits[j] = uint16(rng.IntN(2))<<15 | uint16(rng.IntN(31))<<10 | uint16(rng.IntN(1024))
			}
		}
		b := tflite.NewBuilder("main")
		x := b.Input("x", tflite.Float32, s, nil)
		w := b.Const("w", tflite.Float16, s, bits, nil)
		wf := b.Tensor("wf", tflite.Float32, s, nil)
		b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{w}, wf)
		y := b.Tensor("y", tflite.Float32, s, nil)
		b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{x, wf}, y)
		b.Output(y)
		// x = 0 keeps the exact half values in the output.
		cases = append(cases, conformance.Case{Name: fmt.Sprintf("DEQUANTIZE_f16_%d_%v", i, s), Model: b.Model(),
			Inputs: []conformance.Input{{Shape: s, F32: make([]float32, n)}}, RelTol: 1e-30})
	}
	conformance.Run(t, "DEQUANTIZE/float16", cases)
}

// conformanceExact fails t unless a suite's int8 outputs equal LiteRT's
// bit for bit: the kernels that follow LiteRT's XNNPACK arithmetic (fp32
// requantization, x·(1/scale) quantization) or TFLite's exact integer
// form, where the conformance harness's general one-unit tolerance would
// hide a regression.
func conformanceExact(t *testing.T, suite string, st conformance.Stats) {
	t.Helper()
	if st.QuantOff1 != 0 || st.MaxUnitDiff != 0 {
		t.Errorf("%s: %d of %d int8 outputs differ from LiteRT (max %.0f units); these kernels are bit for bit with it", suite, st.QuantOff1, st.QuantElems, st.MaxUnitDiff)
	}
}
