package kernels

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestReduceRandom(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for c := range 200 {
		rank := 1 + r.Intn(5)
		shape := layoutRandShape(r, rank, 7)
		if c%10 == 0 {
			rank = 4
			shape = []int{1 + r.Intn(2), 1 + r.Intn(12), 1 + r.Intn(12), 1 + r.Intn(20)}
		}
		var axes []int
		for range 1 + r.Intn(rank) {
			a := r.Intn(rank)
			if r.Intn(3) == 0 {
				a -= rank
			}
			axes = append(axes, a)
		}
		if c%10 == 0 {
			axes = [][]int{{1, 2}, {2, 1}, {-3, -2}, {1, 2, 2}}[c/10%4]
		}
		if c%10 == 5 {
			// N = 1, mean over H, W: the column-sum kernels (blocks of 32
			// and 8 channels, the rest in Go, thread splits of the channels)
			rank = 4
			shape = []int{1, 1 + r.Intn(9), 1 + r.Intn(9), 1 + r.Intn(80)}
			axes = []int{1, 2}
		}
		keep := r.Intn(2) == 0
		axes32 := make([]int32, len(axes))
		for i, a := range axes {
			axes32[i] = int32(a)
		}
		n := layoutProd(shape)
		f, q, i32 := layoutRandF32(r, n), layoutRandI8(r, n), layoutRandI32(r, n)
		inS, inZ := float32(0.01+r.Float64()*0.1), int32(r.Intn(100)-50)
		outS, outZ := float32(0.01+r.Float64()*0.1), int32(r.Intn(100)-50)
		for _, op := range []schema.BuiltinOperator{schema.BuiltinOperatorMEAN, schema.BuiltinOperatorSUM} {
			mean := op == schema.BuiltinOperatorMEAN
			oS := outS
			if !mean {
				// Keep sums mostly in range.
				_, _, count := reduceRefShape(shape, axes)
				oS = outS * float32(count)
			}
			opts := &schema.ReducerOptionsT{KeepDims: keep}
			for _, th := range []int{1, 3} {
				name := fmt.Sprintf("case %d %v %v axes %v keep %v threads %d", c, tflite.OpName(op), shape, axes, keep, th)
				at := layoutConstT("axes", tflite.Int32, []int{len(axes)}, axes32)
				out := &Tensor{Name: "out", Type: tflite.Float32}
				if err := layoutRun(t, op, opts, []*Tensor{layoutTensor("in", tflite.Float32, shape, f), at}, []*Tensor{out}, th); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				red, oshape, _ := reduceRefShape(shape, axes)
				if keep {
					oshape = nil
					for i, d := range shape {
						if red[i] {
							d = 1
						}
						oshape = append(oshape, d)
					}
				}
				if oshape == nil {
					oshape = []int{}
				}
				if !SameShape(out.Shape, oshape) {
					t.Fatalf("%s: shape %v, want %v", name, out.Shape, oshape)
				}
				layoutCloseF32(t, name, out.F32(), reduceRefSumF32(f, shape, axes, mean), 0)

				out8 := layoutQuant(&Tensor{Name: "out", Type: tflite.Int8}, oS, outZ)
				in8 := layoutQuant(layoutTensor("in", tflite.Int8, shape, q), inS, inZ)
				if err := layoutRun(t, op, opts, []*Tensor{in8, at}, []*Tensor{out8}, th); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				layoutEqualI8(t, name, out8.I8(), reduceRefI8XNN(q, shape, axes, mean, inS, inZ, oS, outZ))

				// TFLite's builtin arithmetic.
				ReduceInt8XNNPACK = false
				out8 = layoutQuant(&Tensor{Name: "out", Type: tflite.Int8}, oS, outZ)
				err := layoutRun(t, op, opts, []*Tensor{in8, at}, []*Tensor{out8}, th)
				ReduceInt8XNNPACK = true
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				layoutEqualI8(t, name+" (builtin)", out8.I8(), reduceRefI8(q, shape, axes, keep, mean, inS, inZ, oS, outZ))

				out32 := &Tensor{Name: "out", Type: tflite.Int32}
				if err := layoutRun(t, op, opts, []*Tensor{layoutTensor("in", tflite.Int32, shape, i32), at}, []*Tensor{out32}, th); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				_, _, count := reduceRefShape(shape, axes)
				sums := make([]int64, layoutProd(oshape))
				reduceRefVisit(shape, red, func(i, o int) { sums[o] += int64(i32[i]) })
				want := make([]int32, len(sums))
				for i, s := range sums {
					if mean {
						s /= int64(count)
					}
					want[i] = int32(s)
				}
				layoutEqualI32(t, name, out32.I32(), want)
			}
		}
	}
}

// TFLite's H,W int8 mean (optimized_integer_ops::Mean) differs from its
// general quantized mean; check a value where they disagree.
func TestReduceMeanHWInt8Path(t *testing.T) {
	ReduceInt8XNNPACK = false
	defer func() { ReduceInt8XNNPACK = true }()
	// 1x2x2x1 input, mean over H,W with keep_dims: sum of raw values 3
	// (0,1,1,1), scale_in 1, zp_in 0; scale_out 1, zp_out 0.
	in := layoutQuant(layoutTensor("in", tflite.Int8, []int{1, 2, 2, 1}, []int8{0, 1, 1, 1}), 1, 0)
	at := layoutConstT("axes", tflite.Int32, []int{2}, []int32{1, 2})
	out := layoutQuant(&Tensor{Name: "out", Type: tflite.Int8}, 1, 0)
	if err := layoutRun(t, schema.BuiltinOperatorMEAN, &schema.ReducerOptionsT{KeepDims: true}, []*Tensor{in, at}, []*Tensor{out}, 1); err != nil {
		t.Fatal(err)
	}
	if got := out.I8()[0]; got != 1 { // 0.75 rounds to 1
		t.Fatalf("mean = %d, want 1", got)
	}
	if !(&reduce{}).hwPath(t, in, at, out) {
		t.Fatal("H,W path not taken")
	}
}

func (k *reduce) hwPath(t *testing.T, in, at, out *Tensor) bool {
	n := &Node{Op: schema.BuiltinOperatorMEAN, Inputs: []*Tensor{in, at}, Outputs: []*Tensor{out}, Options: &schema.ReducerOptionsT{KeepDims: true}}
	k.op = schema.BuiltinOperatorMEAN
	if _, err := k.Prepare(&Context{Threads: 1, Pool: NewPool(1)}, n); err != nil {
		t.Fatal(err)
	}
	return k.hw
}

func BenchmarkReduceMean(b *testing.B) {
	cases := []struct {
		name  string
		shape []int
		axes  []int32
		keep  bool
	}{
		{"HW/1x120x120x64", []int{1, 120, 120, 64}, []int32{1, 2}, true},
		{"last/128x768", []int{1, 128, 768}, []int32{-1}, true},
	}
	for _, c := range cases {
		for _, dt := range []tflite.DType{tflite.Float32, tflite.Int8} {
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%v/threads=%d", c.name, dt, th), func(b *testing.B) {
					var data any = make([]float32, layoutProd(c.shape))
					if dt == tflite.Int8 {
						data = make([]int8, layoutProd(c.shape))
					}
					in := layoutQuant(layoutTensor("in", dt, c.shape, data), 0.1, 0)
					at := layoutConstT("axes", tflite.Int32, []int{len(c.axes)}, c.axes)
					out := layoutQuant(&Tensor{Name: "out", Type: dt}, 0.1, 0)
					layoutBench(b, schema.BuiltinOperatorMEAN, &schema.ReducerOptionsT{KeepDims: c.keep}, []*Tensor{in, at}, []*Tensor{out}, th, in.Bytes())
				})
			}
		}
	}
}
