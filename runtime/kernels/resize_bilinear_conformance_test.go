package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceResizeBilinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 1))
	modes := [][2]bool{{false, false}, {true, false}, {false, true}}
	var f, q []conformance.Case
	for k := range 30 {
		shape := []int{1 + rng.IntN(2), 1 + rng.IntN(12), 1 + rng.IntN(12), 1 + rng.IntN(8)}
		oh, ow := 1+rng.IntN(24), 1+rng.IntN(24)
		if k%5 == 0 {
			oh, ow = 2*shape[1], 2*shape[2]
		}
		m := modes[k%3]
		opts := &schema.ResizeBilinearOptionsT{AlignCorners: m[0], HalfPixelCenters: m[1]}
		oshape := []int{shape[0], oh, ow, shape[3]}
		name := fmt.Sprintf("%v -> %dx%d align %v half %v", shape, oh, ow, m[0], m[1])
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
			size := c.b.Const("size", tflite.Int32, []int{2}, []int32{int32(oh), int32(ow)}, nil)
			c.b.Op(schema.BuiltinOperatorRESIZE_BILINEAR, opts, []int{x, size}, y)
			c.out(y)
			if dt == tflite.Float32 {
				f = append(f, c.done(name, 0))
			} else {
				q = append(q, c.done(name, qs))
			}
		}
	}
	conformance.Run(t, "RESIZE_BILINEAR/float32", f)
	conformance.Run(t, "RESIZE_BILINEAR/int8", q)
}
