package kernels

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestGatherRandom(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for c := range 150 {
		rank := 1 + r.Intn(4)
		shape := layoutRandShape(r, rank, 6)
		axis := r.Intn(rank)
		optAxis := axis
		if r.Intn(2) == 0 {
			optAxis -= rank
		}
		ishape := layoutRandShape(r, r.Intn(3), 4)
		ni := layoutProd(ishape)
		idx := make([]int, ni)
		idx32 := make([]int32, ni)
		idx64 := make([]int64, ni)
		for i := range idx {
			idx[i] = r.Intn(shape[axis])
			idx32[i], idx64[i] = int32(idx[i]), int64(idx[i])
		}
		wantShape := append(append(append([]int{}, shape[:axis]...), ishape...), shape[axis+1:]...)
		n := layoutProd(shape)
		f, q, i32 := layoutRandF32(r, n), layoutRandI8(r, n), layoutRandI32(r, n)
		opts := &schema.GatherOptionsT{Axis: int32(optAxis)}
		for _, th := range []int{1, 3} {
			for _, it := range []*Tensor{
				layoutTensor("idx", tflite.Int32, ishape, idx32),
				layoutConstT("idx", tflite.Int64, ishape, idx64),
			} {
				name := fmt.Sprintf("case %d %v axis %d idx %v%v threads %d", c, shape, optAxis, it.Type, ishape, th)
				out := &Tensor{Name: "out", Type: tflite.Float32}
				if err := layoutRun(t, schema.BuiltinOperatorGATHER, opts, []*Tensor{layoutTensor("p", tflite.Float32, shape, f), it}, []*Tensor{out}, th); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !SameShape(out.Shape, wantShape) {
					t.Fatalf("%s: shape %v, want %v", name, out.Shape, wantShape)
				}
				layoutCloseF32(t, name, out.F32(), gatherRef(f, shape, idx, axis), 0)
				out8 := layoutQuant(&Tensor{Name: "out", Type: tflite.Int8}, 0.1, 1)
				p8 := layoutQuant(layoutConstT("p", tflite.Int8, shape, q), 0.1, 1)
				if err := layoutRun(t, schema.BuiltinOperatorGATHER, opts, []*Tensor{p8, it}, []*Tensor{out8}, th); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				layoutEqualI8(t, name, out8.I8(), gatherRef(q, shape, idx, axis))
				out32 := &Tensor{Name: "out", Type: tflite.Int32}
				if err := layoutRun(t, schema.BuiltinOperatorGATHER, opts, []*Tensor{layoutTensor("p", tflite.Int32, shape, i32), it}, []*Tensor{out32}, th); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				layoutEqualI32(t, name, out32.I32(), gatherRef(i32, shape, idx, axis))
			}
		}
	}
}

func TestGatherOutOfRange(t *testing.T) {
	p := layoutTensor("p", tflite.Float32, []int{3, 2}, make([]float32, 6))
	for _, bad := range []int32{3, -1} {
		idx := layoutTensor("idx", tflite.Int32, []int{2}, []int32{0, bad})
		out := &Tensor{Name: "out", Type: tflite.Float32}
		err := layoutRun(t, schema.BuiltinOperatorGATHER, nil, []*Tensor{p, idx}, []*Tensor{out}, 1)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("index %d at position 1", bad)) {
			t.Errorf("index %d: got %v", bad, err)
		}
	}
	idx := layoutTensor("idx", tflite.Int32, []int{1}, []int32{0})
	out := &Tensor{Name: "out", Type: tflite.Float32}
	if err := layoutRun(t, schema.BuiltinOperatorGATHER, &schema.GatherOptionsT{BatchDims: 1}, []*Tensor{p, idx}, []*Tensor{out}, 1); err == nil {
		t.Error("batch_dims 1 accepted")
	}
}
