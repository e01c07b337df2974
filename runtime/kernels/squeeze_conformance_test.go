package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// lcUnitShape draws a shape with some unit dimensions.
func lcUnitShape(rng *rand.Rand, rank int) []int {
	s := lcShape(rng, rank, 6)
	for i := range s {
		if rng.IntN(2) == 0 {
			s[i] = 1
		}
	}
	return s
}

// lcMove builds one data-movement op per dtype (float32, int8).
func lcMove(rng *rand.Rand, shape, oshape []int, build func(c *lcCase, x, y int)) (f, q conformance.Case) {
	name := fmt.Sprintf("%v -> %v", shape, oshape)
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
		y := c.b.Tensor("y0", dt, oshape, qp)
		build(c, x, y)
		c.out(y)
		if dt == tflite.Float32 {
			f = c.done(name, 0)
		} else {
			q = c.done(name, qs)
		}
	}
	return f, q
}

func TestConformanceSqueeze(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 1))
	var fs, qs []conformance.Case
	for k := range 22 {
		rank := 1 + rng.IntN(5)
		shape := lcUnitShape(rng, rank)
		var dims []int32
		drop := make([]bool, rank)
		if k%2 == 0 {
			for i, d := range shape {
				if d == 1 && rng.IntN(2) == 0 {
					a := i
					if rng.IntN(2) == 0 {
						a -= rank
					}
					dims = append(dims, int32(a))
					drop[i] = true
				}
			}
		}
		if dims == nil {
			for i, d := range shape {
				drop[i] = d == 1
			}
		}
		oshape := []int{}
		for i, d := range shape {
			if !drop[i] {
				oshape = append(oshape, d)
			}
		}
		f, q := lcMove(rng, shape, oshape, func(c *lcCase, x, y int) {
			c.b.Op(schema.BuiltinOperatorSQUEEZE, &schema.SqueezeOptionsT{SqueezeDims: dims}, []int{x}, y)
		})
		fs, qs = append(fs, f), append(qs, q)
	}
	conformance.Run(t, "SQUEEZE/float32", fs)
	conformance.Run(t, "SQUEEZE/int8", qs)
}

func TestConformanceExpandDims(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 1))
	var fs, qs []conformance.Case
	for range 22 {
		rank := rng.IntN(5)
		shape := lcShape(rng, rank, 6)
		ax := rng.IntN(2*rank+2) - rank - 1
		a := ax
		if a < 0 {
			a += rank + 1
		}
		oshape := append(append(append([]int{}, shape[:a]...), 1), shape[a:]...)
		f, q := lcMove(rng, shape, oshape, func(c *lcCase, x, y int) {
			at := c.b.Const("axis", tflite.Int32, []int{}, []int32{int32(ax)}, nil)
			c.b.Op(schema.BuiltinOperatorEXPAND_DIMS, nil, []int{x, at}, y)
		})
		fs, qs = append(fs, f), append(qs, q)
	}
	conformance.Run(t, "EXPAND_DIMS/float32", fs)
	conformance.Run(t, "EXPAND_DIMS/int8", qs)
}

// SHAPE feeds an ADD with an int32 input: LiteRT computes SHAPE while
// preparing the graph and does not return such an output directly.
func TestConformanceShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 1))
	var cs []conformance.Case
	for range 20 {
		rank := 1 + rng.IntN(5)
		shape := lcShape(rng, rank, 6)
		c := lcNew(rng)
		x := c.inF32("x", shape, -1, 1)
		z := c.inI32("z", []int{rank}, -5, 5)
		y := c.b.Tensor("shape", tflite.Int32, []int{rank}, nil)
		c.b.Op(schema.BuiltinOperatorSHAPE, &schema.ShapeOptionsT{OutType: schema.TensorTypeINT32}, []int{x}, y)
		s := c.b.Tensor("sum", tflite.Int32, []int{rank}, nil)
		c.b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{y, z}, s)
		c.out(s)
		cs = append(cs, c.done(fmt.Sprint(shape), 0))
	}
	conformance.Run(t, "SHAPE/int32", cs)
}

func TestConformanceSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 1))
	var fs, qs []conformance.Case
	for range 22 {
		rank := 1 + rng.IntN(4)
		shape := lcShape(rng, rank, 5)
		ax := rng.IntN(rank)
		parts := 1 + rng.IntN(3)
		shape[ax] *= parts
		oshape := append([]int{}, shape...)
		oshape[ax] /= parts
		optAx := ax
		if rng.IntN(2) == 0 {
			optAx -= rank
		}
		f, q := lcMove(rng, shape, oshape, func(c *lcCase, x, y int) {
			at := c.b.Const("axis", tflite.Int32, []int{}, []int32{int32(optAx)}, nil)
			outs := []int{y}
			for p := 1; p < parts; p++ {
				outs = append(outs, c.b.Tensor(fmt.Sprint("y", p), c.b.TensorAt(y).Type, oshape, c.b.TensorAt(y).Quant))
			}
			c.b.Op(schema.BuiltinOperatorSPLIT, &schema.SplitOptionsT{NumSplits: int32(parts)}, []int{at, x}, outs...)
			for _, o := range outs[1:] {
				if c.b.TensorAt(o).Type == tflite.Int8 {
					conformance.DequantizeOutput(c.b, o, fmt.Sprint("d", o))
				} else {
					c.b.Output(o)
				}
			}
		})
		fs, qs = append(fs, f), append(qs, q)
	}
	conformance.Run(t, "SPLIT/float32", fs)
	conformance.Run(t, "SPLIT/int8", qs)
}
