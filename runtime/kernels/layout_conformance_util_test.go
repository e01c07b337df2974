package kernels_test

import (
	"math/rand/v2"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
)

// Helpers for the conformance tests of the layout kernels (RESHAPE,
// TRANSPOSE, CONCATENATION, RESIZE_BILINEAR, GATHER, PAD, MEAN, SUM).

// lcCase accumulates a one-op graph: float32/int32 graph inputs, optional
// QUANTIZE to int8, and the output (DEQUANTIZEd for int8).
type lcCase struct {
	b      *tflite.Builder
	inputs []conformance.Input
	rng    *rand.Rand
}

func lcNew(rng *rand.Rand) *lcCase { return &lcCase{b: tflite.NewBuilder("main"), rng: rng} }

func lcNumel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// inF32 adds a float32 graph input with values in [lo,hi].
func (c *lcCase) inF32(name string, shape []int, lo, hi float64) int {
	t := c.b.Input(name, tflite.Float32, shape, nil)
	v := make([]float32, lcNumel(shape))
	for i := range v {
		v[i] = float32(lo + (hi-lo)*c.rng.Float64())
	}
	c.inputs = append(c.inputs, conformance.Input{Shape: shape, F32: v})
	return t
}

// inI32 adds an int32 graph input with values in [lo,hi].
func (c *lcCase) inI32(name string, shape []int, lo, hi int) int {
	t := c.b.Input(name, tflite.Int32, shape, nil)
	v := make([]int32, lcNumel(shape))
	for i := range v {
		v[i] = int32(lo + c.rng.IntN(hi-lo+1))
	}
	c.inputs = append(c.inputs, conformance.Input{Shape: shape, I32: v})
	return t
}

// inQ adds a float32 graph input quantized to int8 with (scale, zp); the
// values cover the representable range.
func (c *lcCase) inQ(name string, shape []int, scale float32, zp int64) int {
	t := conformance.QuantizeInput(c.b, name, shape, scale, zp)
	lo, hi := float64(scale)*float64(-128-zp), float64(scale)*float64(127-zp)
	v := make([]float32, lcNumel(shape))
	for i := range v {
		v[i] = float32(lo + (hi-lo)*c.rng.Float64())
	}
	c.inputs = append(c.inputs, conformance.Input{Shape: shape, F32: v})
	return t
}

func lcQuant(scale float32, zp int64) *tflite.Quantization {
	return &tflite.Quantization{Scale: []float32{scale}, ZeroPoint: []int64{zp}}
}

// lcQParams draws an int8 scale and zero point.
func lcQParams(rng *rand.Rand) (float32, int64) {
	return float32(0.005 + 0.05*rng.Float64()), int64(rng.IntN(101) - 50)
}

// out finishes the graph with output tensor t (int8 is dequantized).
func (c *lcCase) out(t int) {
	if c.b.TensorAt(t).Type == tflite.Int8 {
		conformance.DequantizeOutput(c.b, t, "y")
		return
	}
	c.b.Output(t)
}

func (c *lcCase) done(name string, quantScale float32) conformance.Case {
	return conformance.Case{Name: name, Model: c.b.Model(), Inputs: c.inputs, QuantScale: quantScale}
}

func lcShape(rng *rand.Rand, rank, maxDim int) []int {
	s := make([]int, rank)
	for i := range s {
		s[i] = 1 + rng.IntN(maxDim)
	}
	return s
}

func lcI32s(v []int) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}
