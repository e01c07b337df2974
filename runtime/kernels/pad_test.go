package kernels

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestPadRandom(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for c := range 150 {
		rank := r.Intn(6) + 1
		if c == 0 {
			rank = 0
		}
		shape := layoutRandShape(r, rank, 4)
		before, after := make([]int, rank), make([]int, rank)
		pads := make([]int32, 2*rank)
		for i := range rank {
			if r.Intn(3) > 0 {
				before[i], after[i] = r.Intn(3), r.Intn(3)
			}
			pads[2*i], pads[2*i+1] = int32(before[i]), int32(after[i])
		}
		n := layoutProd(shape)
		f, q, i32 := layoutRandF32(r, n), layoutRandI8(r, n), layoutRandI32(r, n)
		v2 := c%2 == 1
		op := schema.BuiltinOperatorPAD
		if v2 {
			op = schema.BuiltinOperatorPADV2
		}
		for _, th := range []int{1, 3} {
			name := fmt.Sprintf("case %d %v pads %v v2 %v threads %d", c, shape, pads, v2, th)
			pt := layoutConstT("pads", tflite.Int32, []int{rank, 2}, pads)
			if c%3 == 0 {
				p64 := make([]int64, len(pads))
				for i, p := range pads {
					p64[i] = int64(p)
				}
				pt = layoutConstT("pads", tflite.Int64, []int{rank, 2}, p64)
			}
			// float32
			ins := []*Tensor{layoutTensor("in", tflite.Float32, shape, f), pt}
			fv := float32(0)
			if v2 {
				fv = 2.5
				ins = append(ins, layoutConstT("cv", tflite.Float32, nil, []float32{fv}))
			}
			out := &Tensor{Name: "out", Type: tflite.Float32}
			if err := layoutRun(t, op, nil, ins, []*Tensor{out}, th); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want, oshape := padRef(f, shape, before, after, fv)
			if !SameShape(out.Shape, oshape) {
				t.Fatalf("%s: shape %v, want %v", name, out.Shape, oshape)
			}
			layoutCloseF32(t, name, out.F32(), want, 0)
			// int8: zero point, or constant_values (run-time for v2).
			ins = []*Tensor{layoutQuant(layoutTensor("in", tflite.Int8, shape, q), 0.1, -7), pt}
			qv := int8(-7)
			if v2 {
				qv = 42
				ins = append(ins, layoutQuant(layoutTensor("cv", tflite.Int8, nil, []int8{qv}), 0.1, -7))
			}
			out8 := layoutQuant(&Tensor{Name: "out", Type: tflite.Int8}, 0.1, -7)
			if err := layoutRun(t, op, nil, ins, []*Tensor{out8}, th); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want8, _ := padRef(q, shape, before, after, qv)
			layoutEqualI8(t, name, out8.I8(), want8)
			// int32
			out32 := &Tensor{Name: "out", Type: tflite.Int32}
			if err := layoutRun(t, schema.BuiltinOperatorPAD, nil, []*Tensor{layoutTensor("in", tflite.Int32, shape, i32), pt}, []*Tensor{out32}, th); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want32, _ := padRef(i32, shape, before, after, 0)
			layoutEqualI32(t, name, out32.I32(), want32)
		}
	}
}

func TestPadErrors(t *testing.T) {
	in := layoutTensor("in", tflite.Float32, []int{2, 2}, make([]float32, 4))
	out := &Tensor{Name: "out", Type: tflite.Float32}
	neg := layoutConstT("pads", tflite.Int32, []int{2, 2}, []int32{0, -1, 0, 0})
	if err := layoutRun(t, schema.BuiltinOperatorPAD, nil, []*Tensor{in, neg}, []*Tensor{out}, 1); err == nil {
		t.Error("negative padding accepted")
	}
	short := layoutConstT("pads", tflite.Int32, []int{1, 2}, []int32{0, 1})
	if err := layoutRun(t, schema.BuiltinOperatorPAD, nil, []*Tensor{in, short}, []*Tensor{out}, 1); err == nil {
		t.Error("paddings of the wrong rank accepted")
	}
}
