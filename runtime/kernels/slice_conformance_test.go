package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(28, 1))
	var f, q []conformance.Case
	for range 24 {
		rank := 1 + rng.IntN(4)
		shape := lcShape(rng, rank, 7)
		begin, size, oshape := make([]int, rank), make([]int, rank), make([]int, rank)
		for i, d := range shape {
			begin[i] = rng.IntN(d)
			oshape[i] = 1 + rng.IntN(d-begin[i])
			size[i] = oshape[i]
			if rng.IntN(4) == 0 {
				size[i], oshape[i] = -1, d-begin[i]
			}
		}
		name := fmt.Sprintf("%v begin %v size %v", shape, begin, size)
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
				qp, qs = lcQuant(s, z), s
			}
			bt := c.b.Const("begin", tflite.Int32, []int{rank}, lcI32s(begin), nil)
			st := c.b.Const("size", tflite.Int32, []int{rank}, lcI32s(size), nil)
			y := c.b.Tensor("s", dt, oshape, qp)
			c.b.Op(schema.BuiltinOperatorSLICE, nil, []int{x, bt, st}, y)
			c.out(y)
			if dt == tflite.Float32 {
				f = append(f, c.done(name, 0))
			} else {
				q = append(q, c.done(name, qs))
			}
		}
	}
	conformance.Run(t, "SLICE/float32", f)
	conformance.Run(t, "SLICE/int8", q)
}

// stridedOut computes the output shape with Python slicing rules.
func stridedOut(shape, begin, end, strides []int, bm, em, sm int) []int {
	out := []int{}
	for i, d := range shape {
		if sm>>i&1 != 0 {
			continue
		}
		b, e, s := begin[i], end[i], strides[i]
		lo, hi := 0, d
		if s < 0 {
			lo, hi = -1, d-1
		}
		clamp := func(v int) int {
			if v < 0 {
				v += d
			}
			return max(lo, min(v, hi))
		}
		if bm>>i&1 != 0 {
			if s > 0 {
				b = 0
			} else {
				b = d - 1
			}
		} else {
			b = clamp(b)
		}
		if em>>i&1 != 0 {
			if s > 0 {
				e = d
			} else {
				e = -1
			}
		} else {
			e = clamp(e)
		}
		n := 0
		if s > 0 && e > b {
			n = (e - b + s - 1) / s
		} else if s < 0 && b > e {
			n = (b - e - s - 1) / -s
		}
		out = append(out, n)
	}
	return out
}

func TestConformanceStridedSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 1))
	var f, q []conformance.Case
	for len(f) < 24 {
		rank := 1 + rng.IntN(4)
		shape := lcShape(rng, rank, 7)
		begin, end, strides := make([]int, rank), make([]int, rank), make([]int, rank)
		bm, em, sm := 0, 0, 0
		for i, d := range shape {
			begin[i] = rng.IntN(2*d+1) - d
			end[i] = rng.IntN(2*d+1) - d
			strides[i] = []int{1, 1, 2, 3, -1, -2}[rng.IntN(6)]
			if rng.IntN(4) == 0 {
				bm |= 1 << i
			}
			if rng.IntN(4) == 0 {
				em |= 1 << i
			}
			if rng.IntN(6) == 0 {
				sm |= 1 << i
				strides[i] = 1
				begin[i] = rng.IntN(2*d) - d
				end[i] = begin[i] + 1
				bm &^= 1 << i
				em &^= 1 << i
			}
		}
		oshape := stridedOut(shape, begin, end, strides, bm, em, sm)
		if lcNumel(oshape) == 0 {
			continue
		}
		opts := &schema.StridedSliceOptionsT{BeginMask: int32(bm), EndMask: int32(em), ShrinkAxisMask: int32(sm)}
		name := fmt.Sprintf("%v begin %v end %v strides %v masks %b/%b/%b", shape, begin, end, strides, bm, em, sm)
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
				qp, qs = lcQuant(s, z), s
			}
			bt := c.b.Const("begin", tflite.Int32, []int{rank}, lcI32s(begin), nil)
			et := c.b.Const("end", tflite.Int32, []int{rank}, lcI32s(end), nil)
			st := c.b.Const("strides", tflite.Int32, []int{rank}, lcI32s(strides), nil)
			y := c.b.Tensor("s", dt, oshape, qp)
			c.b.Op(schema.BuiltinOperatorSTRIDED_SLICE, opts, []int{x, bt, et, st}, y)
			c.out(y)
			if dt == tflite.Float32 {
				f = append(f, c.done(name, 0))
			} else {
				q = append(q, c.done(name, qs))
			}
		}
	}
	conformance.Run(t, "STRIDED_SLICE/float32", f)
	conformance.Run(t, "STRIDED_SLICE/int8", q)
}
