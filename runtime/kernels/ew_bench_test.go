package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// ewBench prepares one node and benchmarks its Eval.
func ewBench(b *testing.B, op schema.BuiltinOperator, opts any, ins []*Tensor, outType tflite.DType, oScale float32, oZP int32, threads int) {
	f, _ := Lookup(op)
	out := &Tensor{Type: outType}
	if oScale > 0 {
		out.Scale, out.ZeroPoint = []float32{oScale}, []int32{oZP}
	}
	n := &Node{Op: op, Options: opts, Inputs: ins, Outputs: []*Tensor{out}}
	ctx := &Context{Threads: threads, Pool: NewPool(threads)}
	defer ctx.Pool.Close()
	k := f()
	if _, err := k.Prepare(ctx, n); err != nil {
		b.Fatal(err)
	}
	out.Data = make([]byte, out.Bytes())
	b.SetBytes(int64(out.Bytes()))
	b.ResetTimer()
	for range b.N {
		if err := k.Eval(ctx, n); err != nil {
			b.Fatal(err)
		}
	}
}

const ewBenchN = 1 << 20

func BenchmarkAddF32SameShape(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ewTensor([]int{ewBenchN}, ewRandF32(rng, ewBenchN), 0, 0)
	ewBench(b, schema.BuiltinOperatorADD, nil, []*Tensor{x, x}, tflite.Float32, 0, 0, 1)
}

func BenchmarkAddF32LastAxis(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ewTensor([]int{1024, 1024}, ewRandF32(rng, ewBenchN), 0, 0)
	y := ewTensor([]int{1024}, ewRandF32(rng, 1024), 0, 0)
	ewBench(b, schema.BuiltinOperatorADD, nil, []*Tensor{x, y}, tflite.Float32, 0, 0, 1)
}

func BenchmarkAddI8SameShape(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ewTensor([]int{ewBenchN}, ewRandI8(rng, ewBenchN), 0.05, 3)
	ewBench(b, schema.BuiltinOperatorADD, nil, []*Tensor{x, x}, tflite.Int8, 0.1, -2, 1)
}

func BenchmarkMulI8SameShape(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ewTensor([]int{ewBenchN}, ewRandI8(rng, ewBenchN), 0.05, 3)
	ewBench(b, schema.BuiltinOperatorMUL, nil, []*Tensor{x, x}, tflite.Int8, 0.1, -2, 1)
}

func BenchmarkLogisticI8(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ewTensor([]int{ewBenchN}, ewRandI8(rng, ewBenchN), 0.05, 3)
	ewBench(b, schema.BuiltinOperatorLOGISTIC, nil, []*Tensor{x}, tflite.Int8, 1.0/256, -128, 1)
}

func BenchmarkLogisticF32(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ewTensor([]int{ewBenchN}, ewRandF32(rng, ewBenchN), 0, 0)
	ewBench(b, schema.BuiltinOperatorLOGISTIC, nil, []*Tensor{x}, tflite.Float32, 0, 0, 1)
}

func BenchmarkSoftmaxF32(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ewTensor([]int{1024, 1024}, ewRandF32(rng, ewBenchN), 0, 0)
	ewBench(b, schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []*Tensor{x}, tflite.Float32, 0, 0, 1)
}

func BenchmarkSoftmaxI8(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ewTensor([]int{1024, 1024}, ewRandI8(rng, ewBenchN), 0.05, 0)
	ewBench(b, schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []*Tensor{x}, tflite.Int8, 1.0/256, -128, 1)
}

// An NHWC tensor minus (times) a per-channel value: the instance-norm
// centring and scaling of LSMS's int8 graph (stage 1 at 480×480).
func BenchmarkSubI8PerChannel(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ewTensor([]int{1, 120, 120, 32}, ewRandI8(rng, 120*120*32), 0.05, 3)
	y := ewTensor([]int{1, 1, 1, 32}, ewRandI8(rng, 32), 0.05, -1)
	ewBench(b, schema.BuiltinOperatorSUB, nil, []*Tensor{x, y}, tflite.Int8, 0.1, -2, 1)
}

func BenchmarkMulI8PerChannel(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ewTensor([]int{1, 120, 120, 32}, ewRandI8(rng, 120*120*32), 0.05, 3)
	y := ewTensor([]int{1, 1, 1, 32}, ewRandI8(rng, 32), 0.02, -1)
	ewBench(b, schema.BuiltinOperatorMUL, nil, []*Tensor{x, y}, tflite.Int8, 0.1, -2, 1)
}
