package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformancePad(t *testing.T) { lcPad(t, false, 26) }

func TestConformancePadV2(t *testing.T) { lcPad(t, true, 35) }

// lcPad runs PAD (pad value: 0 or the zero point) or PADV2 (a constant
// value) cases.
func lcPad(t *testing.T, v2 bool, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	cases := map[string][]conformance.Case{}
	for k := range 24 {
		rank := 1 + rng.IntN(4)
		shape := lcShape(rng, rank, 6)
		if k%6 == 0 {
			shape = []int{1, 4 + rng.IntN(12), 4 + rng.IntN(12), 1 + rng.IntN(8)}
			rank = 4
		}
		pads := make([]int32, 2*rank)
		oshape := make([]int, rank)
		for a := range rank {
			if rng.IntN(3) > 0 {
				pads[2*a], pads[2*a+1] = int32(rng.IntN(3)), int32(rng.IntN(3))
			}
			oshape[a] = shape[a] + int(pads[2*a]+pads[2*a+1])
		}
		{
			op, opName := schema.BuiltinOperatorPAD, "PAD"
			if v2 {
				op, opName = schema.BuiltinOperatorPADV2, "PADV2"
			}
			name := fmt.Sprintf("%v pads %v", shape, pads)
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
				p := c.b.Const("pads", tflite.Int32, []int{rank, 2}, pads, nil)
				ins := []int{x, p}
				if v2 {
					if dt == tflite.Float32 {
						ins = append(ins, c.b.Const("cv", dt, nil, []float32{float32(rng.NormFloat64())}, nil))
					} else {
						ins = append(ins, c.b.Const("cv", dt, nil, []int8{int8(rng.IntN(256) - 128)}, qp))
					}
				}
				y := c.b.Tensor("p", dt, oshape, qp)
				c.b.Op(op, nil, ins, y)
				c.out(y)
				key := fmt.Sprintf("%s/%v", opName, dt)
				cases[key] = append(cases[key], c.done(name, qs))
			}
		}
	}
	for key, cs := range cases {
		conformance.Run(t, key, cs)
	}
}
