package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceMean(t *testing.T) { lcReduce(t, schema.BuiltinOperatorMEAN, 27) }

func TestConformanceSum(t *testing.T) { lcReduce(t, schema.BuiltinOperatorSUM, 34) }

// lcReduce runs MEAN or SUM cases; every fourth case is the NHWC global
// average pool (axes {1,2}, keep_dims), which TFLite's builtin kernel
// computes on its own int8 path.
func lcReduce(t *testing.T, op schema.BuiltinOperator, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	cases := map[string][]conformance.Case{}
	for k := range 24 {
		rank := 2 + rng.IntN(3)
		shape := lcShape(rng, rank, 10)
		var axes []int
		for range 1 + rng.IntN(rank) {
			a := rng.IntN(rank)
			if rng.IntN(3) == 0 {
				a -= rank
			}
			axes = append(axes, a)
		}
		keep := rng.IntN(2) == 0
		if k%4 == 0 {
			shape = []int{1 + rng.IntN(2), 2 + rng.IntN(14), 2 + rng.IntN(14), 1 + rng.IntN(16)}
			axes, keep = []int{1, 2}, true
			if k%8 == 4 {
				axes = []int{2, 1}
			}
		}
		red := make([]bool, len(shape))
		count := 1
		for _, a := range axes {
			if a < 0 {
				a += len(shape)
			}
			if !red[a] {
				count *= shape[a]
			}
			red[a] = true
		}
		oshape := []int{}
		for a, d := range shape {
			switch {
			case !red[a]:
				oshape = append(oshape, d)
			case keep:
				oshape = append(oshape, 1)
			}
		}
		name := fmt.Sprintf("%v axes %v keep %v", shape, axes, keep)
		{
			for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8} {
				c := lcNew(rng)
				var x int
				var qp *tflite.Quantization
				qs := float32(0)
				if dt == tflite.Float32 {
					x = c.inF32("x", shape, -3, 3)
				} else {
					s, z := lcQParams(rng)
					x = c.inQ("x", shape, s, z)
					// Output range: means stay within the input's range;
					// sums grow like sqrt(count) around count·mean.
					os := s * float32(0.5+rng.Float64())
					if op == schema.BuiltinOperatorSUM {
						os = s * float32(2+count/4)
					}
					oz := int64(rng.IntN(41) - 20)
					qp, qs = lcQuant(os, oz), os
				}
				at := c.b.Const("axes", tflite.Int32, []int{len(axes)}, lcI32s(axes), nil)
				y := c.b.Tensor("r", dt, oshape, qp)
				c.b.Op(op, &schema.ReducerOptionsT{KeepDims: keep}, []int{x, at}, y)
				c.out(y)
				key := fmt.Sprintf("%s/%v", tflite.OpName(op), dt)
				cs := c.done(name, qs)
				// LiteRT sums floats in another order; allow for the
				// cancellation in sums of many signed terms.
				cs.RelTol = max(1e-5, 2e-7*float64(count))
				cases[key] = append(cases[key], cs)
			}
		}
	}
	for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8} {
		key := fmt.Sprintf("%s/%v", tflite.OpName(op), dt)
		conformance.Run(t, key, cases[key])
	}
}
