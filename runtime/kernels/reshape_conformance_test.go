package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceReshape(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 1))
	var f, q []conformance.Case
	for k := range 22 {
		shape := lcShape(rng, 1+rng.IntN(4), 6)
		n := lcNumel(shape)
		// A random factorization of n, with one -1 half the time.
		var oshape []int
		rem := n
		for rem > 1 && len(oshape) < 4 {
			d := 1
			for cand := 2; cand <= rem; cand++ {
				if rem%cand == 0 && rng.IntN(2) == 0 {
					d = cand
					break
				}
			}
			if d == 1 {
				d = rem
			}
			oshape = append(oshape, d)
			rem /= d
		}
		if len(oshape) == 0 {
			oshape = []int{1}
		}
		req := append([]int{}, oshape...)
		if k%2 == 0 {
			req[rng.IntN(len(req))] = -1
		}
		viaInput := k%3 != 0
		name := fmt.Sprintf("%v -> %v (input %v)", shape, req, viaInput)
		for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8} {
			c := lcNew(rng)
			var x, y int
			var qs float32
			if dt == tflite.Float32 {
				x = c.inF32("x", shape, -3, 3)
				y = c.b.Tensor("r", dt, oshape, nil)
			} else {
				s, z := lcQParams(rng)
				qs = s
				x = c.inQ("x", shape, s, z)
				y = c.b.Tensor("r", dt, oshape, lcQuant(s, z))
			}
			ins := []int{x}
			opts := &schema.ReshapeOptionsT{NewShape: lcI32s(req)}
			if viaInput {
				ins = append(ins, c.b.Const("shape", tflite.Int32, []int{len(req)}, lcI32s(req), nil))
			}
			c.b.Op(schema.BuiltinOperatorRESHAPE, opts, ins, y)
			c.out(y)
			if dt == tflite.Float32 {
				f = append(f, c.done(name, 0))
			} else {
				q = append(q, c.done(name, qs))
			}
		}
	}
	conformance.Run(t, "RESHAPE/float32", f)
	conformance.Run(t, "RESHAPE/int8", q)
}
