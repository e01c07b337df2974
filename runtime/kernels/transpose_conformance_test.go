package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	var f, q, i []conformance.Case
	for k := range 24 {
		rank := 1 + k%6
		shape := lcShape(rng, rank, 7)
		if k%6 == 3 {
			shape = []int{1, 10 + rng.IntN(20), 10 + rng.IntN(20), 1 + rng.IntN(16)}
		}
		perm := rng.Perm(rank)
		if k%6 == 3 {
			perm = [][]int{{0, 3, 1, 2}, {0, 2, 3, 1}, {0, 2, 1, 3}}[k%3]
		}
		oshape := make([]int, rank)
		for a, p := range perm {
			oshape[a] = shape[p]
		}
		name := fmt.Sprintf("%v perm %v", shape, perm)
		for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8, tflite.Int32} {
			c := lcNew(rng)
			var x, y int
			var qs float32
			switch dt {
			case tflite.Float32:
				x = c.inF32("x", shape, -3, 3)
				y = c.b.Tensor("t", dt, oshape, nil)
			case tflite.Int8:
				s, z := lcQParams(rng)
				qs = s
				x = c.inQ("x", shape, s, z)
				y = c.b.Tensor("t", dt, oshape, lcQuant(s, z))
			case tflite.Int32:
				x = c.inI32("x", shape, -1000, 1000)
				y = c.b.Tensor("t", dt, oshape, nil)
			}
			p := c.b.Const("perm", tflite.Int32, []int{rank}, lcI32s(perm), nil)
			c.b.Op(schema.BuiltinOperatorTRANSPOSE, nil, []int{x, p}, y)
			c.out(y)
			cs := c.done(name, qs)
			switch dt {
			case tflite.Float32:
				f = append(f, cs)
			case tflite.Int8:
				q = append(q, cs)
			default:
				i = append(i, cs)
			}
		}
	}
	conformance.Run(t, "TRANSPOSE/float32", f)
	conformance.Run(t, "TRANSPOSE/int8", q)
	conformance.Run(t, "TRANSPOSE/int32", i)
}
