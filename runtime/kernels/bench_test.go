package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Benchmarks of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and
// BATCH_MATMUL at the shapes of the LSMS model, each a one-op model run
// through interp.New, reporting GFLOP/s (float32) or GOP/s (int8) with one
// multiply-add counted as two operations:
//
//	go test -run '^$' -bench . ./runtime/kernels/

// benchOp is a one-op model with its multiply-add count.
type benchOp struct {
	name  string
	model *tflite.Model
	macs  float64
}

var benchSpatial = [][3]int{{120, 120, 32}, {60, 60, 64}, {15, 15, 256}}

func benchQ(scale float32, zp int64) *tflite.Quantization {
	return &tflite.Quantization{Scale: []float32{scale}, ZeroPoint: []int64{zp}}
}

func benchRandF32(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.Float64()*2 - 1)
	}
	return out
}

func benchRandI8(rng *rand.Rand, n int) []int8 {
	out := make([]int8, n)
	for i := range out {
		out[i] = int8(rng.IntN(255) - 127)
	}
	return out
}

// benchConv builds CONV_2D (depthwise=false) or DEPTHWISE_CONV_2D with
// SAME padding and stride 1 on 1×h×w×c, c output channels.
func benchConv(rng *rand.Rand, depthwise, i8 bool, h, w, c, kh, kw int) benchOp {
	b := tflite.NewBuilder("main")
	in := []int{1, h, w, c}
	wShape := []int{c, kh, kw, c}
	op := schema.BuiltinOperatorCONV_2D
	var opts any = &schema.Conv2DOptionsT{Padding: schema.PaddingSAME, StrideH: 1, StrideW: 1, DilationHFactor: 1, DilationWFactor: 1}
	macs := float64(h * w * c * kh * kw * c)
	qdim := 0
	if depthwise {
		wShape = []int{1, kh, kw, c}
		op = schema.BuiltinOperatorDEPTHWISE_CONV_2D
		opts = &schema.DepthwiseConv2DOptionsT{Padding: schema.PaddingSAME, StrideH: 1, StrideW: 1, DilationHFactor: 1, DilationWFactor: 1, DepthMultiplier: 1}
		macs = float64(h * w * c * kh * kw)
		qdim = 3
	}
	nw := wShape[0] * wShape[1] * wShape[2] * wShape[3]
	var x, wt, bias, y int
	if i8 {
		x = b.Input("x", tflite.Int8, in, benchQ(0.02, 3))
		scales := make([]float32, c)
		bscales := make([]float32, c)
		for i := range scales {
			scales[i] = 0.01
			bscales[i] = 0.02 * 0.01
		}
		wt = b.Const("w", tflite.Int8, wShape, benchRandI8(rng, nw), &tflite.Quantization{Scale: scales, ZeroPoint: make([]int64, c), Dim: qdim})
		bd := make([]int32, c)
		for i := range bd {
			bd[i] = int32(rng.IntN(2000) - 1000)
		}
		bias = b.Const("b", tflite.Int32, []int{c}, bd, &tflite.Quantization{Scale: bscales, ZeroPoint: make([]int64, c)})
		y = b.Tensor("y", tflite.Int8, in, benchQ(0.05, -2))
	} else {
		x = b.Input("x", tflite.Float32, in, nil)
		wt = b.Const("w", tflite.Float32, wShape, benchRandF32(rng, nw), nil)
		bias = b.Const("b", tflite.Float32, []int{c}, benchRandF32(rng, c), nil)
		y = b.Tensor("y", tflite.Float32, in, nil)
	}
	b.Op(op, opts, []int{x, wt, bias}, y)
	b.Output(y)
	return benchOp{model: b.Model(), macs: macs}
}

func benchFC(rng *rand.Rand, i8 bool, batch, depth, units int) benchOp {
	b := tflite.NewBuilder("main")
	var x, wt, bias, y int
	if i8 {
		x = b.Input("x", tflite.Int8, []int{batch, depth}, benchQ(0.02, 3))
		scales := make([]float32, units)
		for i := range scales {
			scales[i] = 0.01
		}
		wt = b.Const("w", tflite.Int8, []int{units, depth}, benchRandI8(rng, units*depth), &tflite.Quantization{Scale: scales, ZeroPoint: make([]int64, units)})
		bias = b.Const("b", tflite.Int32, []int{units}, make([]int32, units), benchQ(0.0002, 0))
		y = b.Tensor("y", tflite.Int8, []int{batch, units}, benchQ(0.05, -2))
	} else {
		x = b.Input("x", tflite.Float32, []int{batch, depth}, nil)
		wt = b.Const("w", tflite.Float32, []int{units, depth}, benchRandF32(rng, units*depth), nil)
		bias = b.Const("b", tflite.Float32, []int{units}, benchRandF32(rng, units), nil)
		y = b.Tensor("y", tflite.Float32, []int{batch, units}, nil)
	}
	b.Op(schema.BuiltinOperatorFULLY_CONNECTED, &schema.FullyConnectedOptionsT{}, []int{x, wt, bias}, y)
	b.Output(y)
	return benchOp{model: b.Model(), macs: float64(batch * depth * units)}
}

func benchBMM(rng *rand.Rand, i8, constRHS bool, m, k, n int) benchOp {
	b := tflite.NewBuilder("main")
	dt := tflite.Float32
	var lq, rq, oq *tflite.Quantization
	if i8 {
		dt = tflite.Int8
		lq, rq, oq = benchQ(0.02, 3), benchQ(0.03, -1), benchQ(0.5, 1)
	}
	x := b.Input("x", dt, []int{1, m, k}, lq)
	var r int
	switch {
	case constRHS && i8:
		r = b.Const("r", dt, []int{1, k, n}, benchRandI8(rng, k*n), rq)
	case constRHS:
		r = b.Const("r", dt, []int{1, k, n}, benchRandF32(rng, k*n), nil)
	default:
		r = b.Input("r", dt, []int{1, k, n}, rq)
	}
	y := b.Tensor("y", dt, []int{1, m, n}, oq)
	b.Op(schema.BuiltinOperatorBATCH_MATMUL, &schema.BatchMatMulOptionsT{}, []int{x, r}, y)
	b.Output(y)
	return benchOp{model: b.Model(), macs: float64(m * k * n)}
}

// benchOps lists the benchmarked models.
func benchOps() []benchOp {
	rng := rand.New(rand.NewPCG(5, 6))
	var ops []benchOp
	for _, i8 := range []bool{false, true} {
		dt := "f32"
		if i8 {
			dt = "i8"
		}
		for _, s := range benchSpatial {
			for _, k := range []int{1, 3} {
				o := benchConv(rng, false, i8, s[0], s[1], s[2], k, k)
				o.name = fmt.Sprintf("CONV_2D/%s/%dx%d/%dx%dx%d", dt, k, k, s[0], s[1], s[2])
				ops = append(ops, o)
			}
		}
		for _, s := range benchSpatial {
			for _, k := range [][2]int{{5, 5}, {1, 21}, {21, 1}} {
				o := benchConv(rng, true, i8, s[0], s[1], s[2], k[0], k[1])
				o.name = fmt.Sprintf("DEPTHWISE_CONV_2D/%s/%dx%d/%dx%dx%d", dt, k[0], k[1], s[0], s[1], s[2])
				ops = append(ops, o)
			}
		}
		o := benchFC(rng, i8, 3600, 64, 256)
		o.name = fmt.Sprintf("FULLY_CONNECTED/%s/3600x64to256", dt)
		ops = append(ops, o)
		o = benchBMM(rng, i8, false, 3600, 64, 20)
		o.name = fmt.Sprintf("BATCH_MATMUL/%s/1x3600x64_1x64x20", dt)
		ops = append(ops, o)
		o = benchBMM(rng, i8, true, 3600, 64, 20)
		o.name = fmt.Sprintf("BATCH_MATMUL/%s/1x3600x64_const1x64x20", dt)
		ops = append(ops, o)
	}
	// the NMF of the tiny decoder at 480×480 (float32 in every model):
	// coef numerator Xᵀ·B, coef denominator coef·(BᵀB), bases numerator
	// coefᵀ·Xᵀ and bases Gram coefᵀ·coef
	for _, s := range [][4]int{{14400, 256, 64}, {14400, 64, 64}, {64, 14400, 256}, {64, 14400, 64}} {
		o := benchBMM(rng, false, false, s[0], s[1], s[2])
		o.name = fmt.Sprintf("BATCH_MATMUL/f32/nmf/1x%dx%d_1x%dx%d", s[0], s[1], s[1], s[2])
		ops = append(ops, o)
	}
	return ops
}

// benchFill writes random data into every graph input.
func benchFill(it *interp.Interpreter, rng *rand.Rand) {
	for i := range it.NumInputs() {
		t := it.InputTensor(i)
		switch t.Type {
		case tflite.Float32:
			for j, v := range benchRandF32(rng, t.NumElements()) {
				t.F32()[j] = v
			}
		case tflite.Int8:
			for j, v := range benchRandI8(rng, t.NumElements()) {
				t.I8()[j] = v
			}
		}
	}
}

func BenchmarkGemmOps(b *testing.B) {
	for _, op := range benchOps() {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", op.name, threads), func(b *testing.B) {
				it, err := interp.New(op.model, interp.Options{Threads: threads})
				if err != nil {
					b.Fatal(err)
				}
				defer it.Close()
				benchFill(it, rand.New(rand.NewPCG(1, 1)))
				if err := it.Invoke(); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					if err := it.Invoke(); err != nil {
						b.Fatal(err)
					}
				}
				unit := "GFLOP/s"
				if it.InputTensor(0).Type == tflite.Int8 {
					unit = "GOP/s"
				}
				b.ReportMetric(2*op.macs*float64(b.N)/b.Elapsed().Seconds()/1e9, unit)
			})
		}
	}
}

// Invoke of every benchmarked kind of model (at reduced size) allocates
// nothing and gives the same output for 1 and 3 threads.
func TestGemmOpsNoAllocDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var ops []benchOp
	for _, i8 := range []bool{false, true} {
		ops = append(ops,
			benchConv(rng, false, i8, 9, 11, 8, 1, 1),
			benchConv(rng, false, i8, 9, 11, 8, 3, 3),
			benchConv(rng, true, i8, 9, 11, 8, 5, 5),
			benchConv(rng, true, i8, 9, 23, 8, 1, 21),
			benchConv(rng, true, i8, 23, 9, 8, 21, 1),
			benchFC(rng, i8, 30, 16, 12),
			benchBMM(rng, i8, false, 30, 16, 5),
			benchBMM(rng, i8, true, 30, 16, 5),
		)
	}
	for oi, op := range ops {
		var first []byte
		for _, threads := range []int{1, 3} {
			it, err := interp.New(op.model, interp.Options{Threads: threads})
			if err != nil {
				t.Fatalf("model %d: %v", oi, err)
			}
			benchFill(it, rand.New(rand.NewPCG(3, 3)))
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
			if a := testing.AllocsPerRun(5, func() { _ = it.Invoke() }); a != 0 {
				t.Errorf("model %d threads %d: Invoke allocates %.1f times", oi, threads, a)
			}
			out := append([]byte{}, it.OutputTensor(0).Data...)
			it.Close()
			if first == nil {
				first = out
				continue
			}
			for j := range out {
				if out[j] != first[j] {
					t.Fatalf("model %d: byte %d differs between 1 and 3 threads", oi, j)
				}
			}
		}
	}
}
