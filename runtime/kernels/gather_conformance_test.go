package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceGather(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 1))
	var f, q, i []conformance.Case
	for k := range 24 {
		rank := 1 + rng.IntN(4)
		shape := lcShape(rng, rank, 8)
		axis := rng.IntN(rank)
		optAxis := axis
		if k%3 == 2 {
			optAxis -= rank
		}
		ishape := lcShape(rng, rng.IntN(3), 5)
		idx := make([]int, lcNumel(ishape))
		for j := range idx {
			idx[j] = rng.IntN(shape[axis])
		}
		oshape := append(append(append([]int{}, shape[:axis]...), ishape...), shape[axis+1:]...)
		i64 := k%2 == 1
		name := fmt.Sprintf("%v axis %d indices %v (int64 %v)", shape, optAxis, ishape, i64)
		opts := &schema.GatherOptionsT{Axis: int32(optAxis)}
		for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8, tflite.Int32} {
			c := lcNew(rng)
			var x int
			var qp *tflite.Quantization
			qs := float32(0)
			switch dt {
			case tflite.Float32:
				x = c.inF32("x", shape, -3, 3)
			case tflite.Int8:
				s, z := lcQParams(rng)
				x = c.inQ("x", shape, s, z)
				qp, qs = lcQuant(s, z), s
			case tflite.Int32:
				x = c.inI32("x", shape, -1000, 1000)
			}
			var ind int
			if i64 {
				v := make([]int64, len(idx))
				for j, d := range idx {
					v[j] = int64(d)
				}
				ind = c.b.Const("idx", tflite.Int64, ishape, v, nil)
			} else {
				ind = c.b.Const("idx", tflite.Int32, ishape, lcI32s(idx), nil)
			}
			y := c.b.Tensor("g", dt, oshape, qp)
			c.b.Op(schema.BuiltinOperatorGATHER, opts, []int{x, ind}, y)
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
	conformance.Run(t, "GATHER/float32", f)
	conformance.Run(t, "GATHER/int8", q)
	conformance.Run(t, "GATHER/int32", i)
}
