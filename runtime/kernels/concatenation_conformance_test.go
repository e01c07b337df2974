package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// TFLite accepts CONCATENATION only without fused activation and, for
// int8, only with inputs quantized like the output; the cases stay there.
func TestConformanceConcatenation(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 1))
	var f, q, i []conformance.Case
	for k := range 24 {
		rank := 1 + rng.IntN(4)
		base := lcShape(rng, rank, 6)
		axis := rng.IntN(rank)
		nin := 1 + rng.IntN(4)
		shapes := make([][]int, nin)
		oshape := append([]int{}, base...)
		oshape[axis] = 0
		for j := range shapes {
			shapes[j] = append([]int{}, base...)
			shapes[j][axis] = 1 + rng.IntN(6)
			oshape[axis] += shapes[j][axis]
		}
		optAxis := axis
		if k%2 == 1 {
			optAxis -= rank
		}
		name := fmt.Sprintf("%v axis %d", shapes, optAxis)
		opts := &schema.ConcatenationOptionsT{Axis: int32(optAxis)}
		for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8, tflite.Int32} {
			c := lcNew(rng)
			s, z := lcQParams(rng)
			var ins []int
			for j, sh := range shapes {
				nm := fmt.Sprint("x", j)
				switch dt {
				case tflite.Float32:
					ins = append(ins, c.inF32(nm, sh, -3, 3))
				case tflite.Int8:
					ins = append(ins, c.inQ(nm, sh, s, z))
				case tflite.Int32:
					ins = append(ins, c.inI32(nm, sh, -100, 100))
				}
			}
			var qp *tflite.Quantization
			qs := float32(0)
			if dt == tflite.Int8 {
				qp, qs = lcQuant(s, z), s
			}
			y := c.b.Tensor("c", dt, oshape, qp)
			c.b.Op(schema.BuiltinOperatorCONCATENATION, opts, ins, y)
			c.out(y)
			switch dt {
			case tflite.Float32:
				f = append(f, c.done(name, 0))
			case tflite.Int8:
				q = append(q, c.done(name, qs))
			default:
				i = append(i, c.done(name, 0))
			}
		}
	}
	conformance.Run(t, "CONCATENATION/float32", f)
	conformance.Run(t, "CONCATENATION/int8", q)
	conformance.Run(t, "CONCATENATION/int32", i)
}
