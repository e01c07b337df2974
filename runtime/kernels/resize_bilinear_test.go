package kernels

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestResizeBilinearRandom(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	modes := [][2]bool{{false, false}, {true, false}, {false, true}}
	for c := range 120 {
		shape := []int{1 + r.Intn(2), 1 + r.Intn(9), 1 + r.Intn(9), 1 + r.Intn(5)}
		if c%3 == 1 { // channel runs of 8 and more (the vector path) with ragged tails
			shape[3] = []int{8, 13, 24, 64}[r.Intn(4)]
		}
		oh, ow := 1+r.Intn(17), 1+r.Intn(17)
		if c%7 == 0 { // exact 2x upsampling, as in decoder heads
			oh, ow = 2*shape[1], 2*shape[2]
		}
		m := modes[r.Intn(len(modes))]
		opts := &schema.ResizeBilinearOptionsT{AlignCorners: m[0], HalfPixelCenters: m[1]}
		n := layoutProd(shape)
		f := layoutRandF32(r, n)
		q := layoutRandI8(r, n)
		for _, th := range []int{1, 3} {
			name := fmt.Sprintf("case %d %v -> %dx%d align %v half %v threads %d", c, shape, oh, ow, m[0], m[1], th)
			size := layoutConstT("size", tflite.Int32, []int{2}, []int32{int32(oh), int32(ow)})
			out := &Tensor{Name: "out", Type: tflite.Float32}
			if err := layoutRun(t, schema.BuiltinOperatorRESIZE_BILINEAR, opts, []*Tensor{layoutTensor("in", tflite.Float32, shape, f), size}, []*Tensor{out}, th); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !SameShape(out.Shape, []int{shape[0], oh, ow, shape[3]}) {
				t.Fatalf("%s: shape %v", name, out.Shape)
			}
			layoutCloseF32(t, name, out.F32(), resizeBilinearRefF32(f, shape, oh, ow, m[0], m[1]), 1e-6)

			in8 := layoutQuant(layoutTensor("in", tflite.Int8, shape, q), 0.05, 3)
			out8 := layoutQuant(&Tensor{Name: "out", Type: tflite.Int8}, 0.05, 3)
			if err := layoutRun(t, schema.BuiltinOperatorRESIZE_BILINEAR, opts, []*Tensor{in8, size}, []*Tensor{out8}, th); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			layoutEqualI8(t, name, out8.I8(), resizeBilinearRefXNN(q, shape, oh, ow, m[0], m[1]))

			// TFLite's builtin integer kernel.
			ResizeBilinearInt8XNNPACK = false
			out8 = layoutQuant(&Tensor{Name: "out", Type: tflite.Int8}, 0.05, 3)
			err := layoutRun(t, schema.BuiltinOperatorRESIZE_BILINEAR, opts, []*Tensor{in8, size}, []*Tensor{out8}, th)
			ResizeBilinearInt8XNNPACK = true
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			layoutEqualI8(t, name+" (builtin)", out8.I8(), resizeBilinearRefI8(q, shape, oh, ow, m[0], m[1]))
		}
	}
}

// Known values: TFLite's int8 integer path rounds half away from zero in
// 2^-20 units; 2x2 -> 3x3 with align_corners takes exact midpoints.
func TestResizeBilinearInt8Midpoints(t *testing.T) {
	ResizeBilinearInt8XNNPACK = false
	defer func() { ResizeBilinearInt8XNNPACK = true }()
	in := layoutQuant(layoutTensor("in", tflite.Int8, []int{1, 2, 2, 1}, []int8{0, 1, -1, -4}), 1, 0)
	size := layoutConstT("size", tflite.Int32, []int{2}, []int32{3, 3})
	out := layoutQuant(&Tensor{Name: "out", Type: tflite.Int8}, 1, 0)
	if err := layoutRun(t, schema.BuiltinOperatorRESIZE_BILINEAR, &schema.ResizeBilinearOptionsT{AlignCorners: true}, []*Tensor{in, size}, []*Tensor{out}, 1); err != nil {
		t.Fatal(err)
	}
	// Row 0: 0, 0.5→1, 1. Row 1: -0.5→-1, -1, -1.5→-2. Row 2: -1, -2.5→-3, -4.
	layoutEqualI8(t, "midpoints", out.I8(), []int8{0, 1, 1, -1, -1, -2, -1, -3, -4})
}

// TFLite's ThreeDimensionalResizeInt8 test (expected within 1 unit), for
// both int8 arithmetics.
func TestResizeBilinearInt8TFLiteTest(t *testing.T) {
	want := []int8{3, 4, 5, 8, 6, 10, 7, 9, 10, 12, 11, 13, 10, 12, 12, 14, 14, 16}
	for _, xnn := range []bool{true, false} {
		ResizeBilinearInt8XNNPACK = xnn
		in := layoutQuant(layoutTensor("in", tflite.Int8, []int{1, 2, 2, 2}, []int8{3, 4, 6, 10, 10, 12, 14, 16}), 1, 0)
		size := layoutConstT("size", tflite.Int32, []int{2}, []int32{3, 3})
		out := layoutQuant(&Tensor{Name: "out", Type: tflite.Int8}, 1, 0)
		err := layoutRun(t, schema.BuiltinOperatorRESIZE_BILINEAR, nil, []*Tensor{in, size}, []*Tensor{out}, 1)
		ResizeBilinearInt8XNNPACK = true
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out.I8() {
			if d := int(v) - int(want[i]); d < -1 || d > 1 {
				t.Fatalf("xnnpack=%v: element %d is %d, want %d±1 (%v)", xnn, i, v, want[i], out.I8())
			}
		}
	}
}

func TestResizeBilinearErrors(t *testing.T) {
	in := layoutTensor("in", tflite.Float32, []int{1, 2, 2, 1}, make([]float32, 4))
	size := layoutConstT("size", tflite.Int32, []int{2}, []int32{3, 3})
	out := &Tensor{Name: "out", Type: tflite.Float32}
	if err := layoutRun(t, schema.BuiltinOperatorRESIZE_BILINEAR, &schema.ResizeBilinearOptionsT{AlignCorners: true, HalfPixelCenters: true}, []*Tensor{in, size}, []*Tensor{out}, 1); err == nil {
		t.Error("align_corners with half_pixel_centers accepted")
	}
	in3 := layoutTensor("in", tflite.Float32, []int{2, 2, 1}, make([]float32, 4))
	if err := layoutRun(t, schema.BuiltinOperatorRESIZE_BILINEAR, nil, []*Tensor{in3, size}, []*Tensor{out}, 1); err == nil {
		t.Error("rank 3 accepted")
	}
}

func BenchmarkResizeBilinear(b *testing.B) {
	for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8} {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/60x60x32to120x120/threads=%d", dt, th), func(b *testing.B) {
				shape := []int{1, 60, 60, 32}
				var data any = make([]float32, layoutProd(shape))
				if dt == tflite.Int8 {
					data = make([]int8, layoutProd(shape))
				}
				in := layoutQuant(layoutTensor("in", dt, shape, data), 0.1, 0)
				size := layoutConstT("size", tflite.Int32, []int{2}, []int32{120, 120})
				out := layoutQuant(&Tensor{Name: "out", Type: dt}, 0.1, 0)
				layoutBench(b, schema.BuiltinOperatorRESIZE_BILINEAR, &schema.ResizeBilinearOptionsT{HalfPixelCenters: true},
					[]*Tensor{in, size}, []*Tensor{out}, th, 120*120*32*dt.Size())
			})
		}
	}
}
