package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestTransposeRandom(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for c := range 200 {
		rank := 1 + r.Intn(6)
		shape := layoutRandShape(r, rank, 7)
		if c%10 == 0 {
			shape = layoutRandShape(r, rank, 40)
			for layoutProd(shape) > 100000 {
				shape[r.Intn(rank)] = 1
			}
		}
		perm := r.Perm(rank)
		perm32 := make([]int32, rank)
		for i, p := range perm {
			perm32[i] = int32(p)
		}
		n := layoutProd(shape)
		for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8, tflite.Int32, tflite.Int16, tflite.Int64} {
			var data any
			switch dt {
			case tflite.Float32:
				data = layoutRandF32(r, n)
			case tflite.Int8:
				data = layoutRandI8(r, n)
			case tflite.Int32:
				data = layoutRandI32(r, n)
			case tflite.Int16:
				v := make([]int16, n)
				for i := range v {
					v[i] = int16(r.Intn(65536))
				}
				data = v
			case tflite.Int64:
				v := make([]int64, n)
				for i := range v {
					v[i] = r.Int63()
				}
				data = v
			}
			for _, th := range []int{1, 3} {
				in := layoutTensor("in", dt, shape, data)
				pt := layoutConstT("perm", tflite.Int32, []int{rank}, perm32)
				out := &Tensor{Name: "out", Type: dt}
				name := fmt.Sprintf("case %d %v%v perm %v threads %d", c, dt, shape, perm, th)
				if err := layoutRun(t, schema.BuiltinOperatorTRANSPOSE, nil, []*Tensor{in, pt}, []*Tensor{out}, th); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				var want []int64
				var got []int64
				switch v := data.(type) {
				case []float32:
					w, os := transposeRef(v, shape, perm)
					if !SameShape(os, out.Shape) {
						t.Fatalf("%s: shape %v want %v", name, out.Shape, os)
					}
					for i, x := range w {
						want = append(want, int64(math.Float32bits(x)))
						got = append(got, int64(math.Float32bits(out.F32()[i])))
					}
				case []int8:
					w, _ := transposeRef(v, shape, perm)
					layoutEqualI8(t, name, out.I8(), w)
				case []int32:
					w, _ := transposeRef(v, shape, perm)
					layoutEqualI32(t, name, out.I32(), w)
				case []int16:
					w, _ := transposeRef(v, shape, perm)
					for i, x := range w {
						want = append(want, int64(x))
						got = append(got, int64(out.I16()[i]))
					}
				case []int64:
					w, _ := transposeRef(v, shape, perm)
					want, got = w, out.I64()
				}
				for i := range want {
					if want[i] != got[i] {
						t.Fatalf("%s: element %d differs", name, i)
					}
				}
			}
		}
	}
}

func TestTransposeErrors(t *testing.T) {
	in := layoutTensor("in", tflite.Float32, []int{2, 3}, make([]float32, 6))
	for _, perm := range [][]int32{{0}, {0, 0}, {0, 2}, {-1, 0}} {
		pt := layoutConstT("perm", tflite.Int32, []int{len(perm)}, perm)
		out := &Tensor{Name: "out", Type: tflite.Float32}
		if err := layoutRun(t, schema.BuiltinOperatorTRANSPOSE, nil, []*Tensor{in, pt}, []*Tensor{out}, 1); err == nil {
			t.Errorf("perm %v accepted", perm)
		}
	}
	pt := layoutTensor("perm", tflite.Int32, []int{2}, []int32{1, 0})
	out := &Tensor{Name: "out", Type: tflite.Float32}
	if err := layoutRun(t, schema.BuiltinOperatorTRANSPOSE, nil, []*Tensor{in, pt}, []*Tensor{out}, 1); err == nil {
		t.Errorf("run-time perm accepted")
	}
}

func BenchmarkTransposeNHWCToNCHW(b *testing.B) {
	for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8} {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/120x120x32/threads=%d", dt, th), func(b *testing.B) {
				shape := []int{1, 120, 120, 32}
				var data any = make([]float32, layoutProd(shape))
				if dt == tflite.Int8 {
					data = make([]int8, layoutProd(shape))
				}
				in := layoutTensor("in", dt, shape, data)
				pt := layoutConstT("perm", tflite.Int32, []int{4}, []int32{0, 3, 1, 2})
				out := &Tensor{Name: "out", Type: dt}
				layoutBench(b, schema.BuiltinOperatorTRANSPOSE, nil, []*Tensor{in, pt}, []*Tensor{out}, th, in.Bytes())
			})
		}
	}
}

// TestTransposeBlocks32 covers the 8×8 vector blocks of 32-bit
// transposes: block-aligned and ragged tiles, an outer batch dimension,
// one and three threads, against the reference.
func TestTransposeBlocks32(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, c := range []struct {
		shape []int
		perm  []int
	}{
		{[]int{1, 200, 64}, []int{0, 2, 1}}, // the NMF's coef_t, smaller
		{[]int{64, 64}, []int{1, 0}},
		{[]int{37, 45}, []int{1, 0}},
		{[]int{3, 33, 70}, []int{0, 2, 1}},
		{[]int{9, 5, 41}, []int{2, 1, 0}},
		{[]int{2, 16, 3, 24}, []int{0, 3, 2, 1}},
	} {
		n := layoutProd(c.shape)
		data := layoutRandI32(r, n)
		perm32 := make([]int32, len(c.perm))
		for i, p := range c.perm {
			perm32[i] = int32(p)
		}
		for _, th := range []int{1, 3} {
			in := layoutTensor("in", tflite.Int32, c.shape, data)
			pt := layoutConstT("perm", tflite.Int32, []int{len(c.perm)}, perm32)
			out := &Tensor{Name: "out", Type: tflite.Int32}
			if err := layoutRun(t, schema.BuiltinOperatorTRANSPOSE, nil, []*Tensor{in, pt}, []*Tensor{out}, th); err != nil {
				t.Fatal(err)
			}
			w, _ := transposeRef(data, c.shape, c.perm)
			layoutEqualI32(t, fmt.Sprintf("%v perm %v threads %d", c.shape, c.perm, th), out.I32(), w)
		}
	}
}
