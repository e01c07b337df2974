package kernels

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestSliceRandom(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for c := range 100 {
		rank := 1 + r.Intn(5)
		shape := layoutRandShape(r, rank, 6)
		begin, size := make([]int32, rank), make([]int32, rank)
		start, count, step := make([]int, rank), make([]int, rank), make([]int, rank)
		for i, d := range shape {
			b := r.Intn(d)
			s := r.Intn(d - b + 1)
			begin[i], size[i] = int32(b), int32(s)
			if r.Intn(4) == 0 {
				size[i], s = -1, d-b
			}
			start[i], count[i], step[i] = b, s, 1
		}
		n := layoutProd(shape)
		f, q := layoutRandF32(r, n), layoutRandI8(r, n)
		for _, th := range []int{1, 3} {
			name := fmt.Sprintf("case %d %v begin %v size %v", c, shape, begin, size)
			bt := layoutConstT("begin", tflite.Int32, []int{rank}, begin)
			st := layoutConstT("size", tflite.Int32, []int{rank}, size)
			out := &Tensor{Name: "out", Type: tflite.Float32}
			if err := layoutRun(t, schema.BuiltinOperatorSLICE, nil, []*Tensor{layoutTensor("in", tflite.Float32, shape, f), bt, st}, []*Tensor{out}, th); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !SameShape(out.Shape, count) {
				t.Fatalf("%s: shape %v, want %v", name, out.Shape, count)
			}
			layoutCloseF32(t, name, out.F32(), sliceRef(f, shape, start, count, step), 0)
			out8 := &Tensor{Name: "out", Type: tflite.Int8}
			if err := layoutRun(t, schema.BuiltinOperatorSLICE, nil, []*Tensor{layoutTensor("in", tflite.Int8, shape, q), bt, st}, []*Tensor{out8}, th); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			layoutEqualI8(t, name, out8.I8(), sliceRef(q, shape, start, count, step))
		}
	}
}

func TestStridedSliceAxis(t *testing.T) {
	// Python semantics on a length-5 axis.
	cases := []struct {
		begin, end, stride   int
		beginMask, endMask   bool
		wantStart, wantCount int
	}{
		{1, 4, 1, false, false, 1, 3},   // [1:4]
		{0, 5, 2, false, false, 0, 3},   // [0:5:2]
		{-1, 0, -1, false, false, 4, 4}, // [-1:0:-1]
		{0, 0, -1, true, true, 4, 5},    // [::-1]
		{-2, 0, 1, false, true, 3, 2},   // [-2:]
		{3, 1, 1, false, false, 3, 0},   // empty
		{-9, 9, 1, false, false, 0, 5},  // clamped
		{4, -9, -2, false, false, 4, 3}, // [4::-2]
	}
	for _, c := range cases {
		s, n := stridedSliceAxis(5, c.begin, c.end, c.stride, c.beginMask, c.endMask, false)
		if s != c.wantStart || n != c.wantCount {
			t.Errorf("%+v: got start %d count %d", c, s, n)
		}
	}
	if s, n := stridedSliceAxis(5, -2, 0, 1, false, false, true); s != 3 || n != 1 {
		t.Errorf("shrink -2: got %d %d", s, n)
	}
}

func TestSqueezeExpandShapeSplit(t *testing.T) {
	data := make([]float32, 12)
	for i := range data {
		data[i] = float32(i)
	}
	in := layoutTensor("in", tflite.Float32, []int{1, 3, 1, 4}, data)
	out := &Tensor{Name: "out", Type: tflite.Float32}
	if err := layoutRun(t, schema.BuiltinOperatorSQUEEZE, nil, []*Tensor{in}, []*Tensor{out}, 1); err != nil || !SameShape(out.Shape, []int{3, 4}) {
		t.Fatalf("squeeze all: %v %v", err, out.Shape)
	}
	layoutCloseF32(t, "squeeze", out.F32(), data, 0)
	if err := layoutRun(t, schema.BuiltinOperatorSQUEEZE, &schema.SqueezeOptionsT{SqueezeDims: []int32{-2}}, []*Tensor{in}, []*Tensor{out}, 1); err != nil || !SameShape(out.Shape, []int{1, 3, 4}) {
		t.Fatalf("squeeze -2: %v %v", err, out.Shape)
	}
	if err := layoutRun(t, schema.BuiltinOperatorSQUEEZE, &schema.SqueezeOptionsT{SqueezeDims: []int32{1}}, []*Tensor{in}, []*Tensor{out}, 1); err == nil {
		t.Fatal("squeezing a dimension of 3 accepted")
	}
	for _, c := range []struct {
		axis int32
		want []int
	}{{0, []int{1, 1, 3, 1, 4}}, {4, []int{1, 3, 1, 4, 1}}, {-1, []int{1, 3, 1, 4, 1}}, {-2, []int{1, 3, 1, 1, 4}}} {
		ax := layoutConstT("axis", tflite.Int32, nil, []int32{c.axis})
		if err := layoutRun(t, schema.BuiltinOperatorEXPAND_DIMS, nil, []*Tensor{in, ax}, []*Tensor{out}, 1); err != nil || !SameShape(out.Shape, c.want) {
			t.Fatalf("expand %d: %v %v", c.axis, err, out.Shape)
		}
		layoutCloseF32(t, "expand", out.F32(), data, 0)
	}
	sh := &Tensor{Name: "shape", Type: tflite.Int32}
	if err := layoutRun(t, schema.BuiltinOperatorSHAPE, nil, []*Tensor{in}, []*Tensor{sh}, 1); err != nil {
		t.Fatal(err)
	}
	layoutEqualI32(t, "shape", sh.I32(), []int32{1, 3, 1, 4})
	sh64 := &Tensor{Name: "shape", Type: tflite.Int64}
	if err := layoutRun(t, schema.BuiltinOperatorSHAPE, &schema.ShapeOptionsT{OutType: schema.TensorTypeINT64}, []*Tensor{in}, []*Tensor{sh64}, 1); err != nil || sh64.I64()[3] != 4 {
		t.Fatalf("shape int64: %v", err)
	}
	// SPLIT [1,3,1,4] into 2 along the last axis.
	ax := layoutConstT("axis", tflite.Int32, nil, []int32{-1})
	o1, o2 := &Tensor{Name: "a", Type: tflite.Float32}, &Tensor{Name: "b", Type: tflite.Float32}
	if err := layoutRun(t, schema.BuiltinOperatorSPLIT, &schema.SplitOptionsT{NumSplits: 2}, []*Tensor{ax, in}, []*Tensor{o1, o2}, 1); err != nil {
		t.Fatal(err)
	}
	layoutCloseF32(t, "split a", o1.F32(), []float32{0, 1, 4, 5, 8, 9}, 0)
	layoutCloseF32(t, "split b", o2.F32(), []float32{2, 3, 6, 7, 10, 11}, 0)
}
