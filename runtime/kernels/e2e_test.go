package kernels_test

import (
	"math"
	"testing"

	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// e2eModel builds x[2,3] → ADD(c) → RELU → MUL(x) → SOFTMAX.
func e2eModel() *tflite.Model {
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, []int{2, 3}, nil)
	c := b.Const("c", tflite.Float32, []int{3}, []float32{1, -2, 0.5}, nil)
	s := b.Tensor("sum", tflite.Float32, []int{2, 3}, nil)
	r := b.Tensor("relu", tflite.Float32, []int{2, 3}, nil)
	m := b.Tensor("mul", tflite.Float32, []int{2, 3}, nil)
	y := b.Tensor("y", tflite.Float32, []int{2, 3}, nil)
	b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{x, c}, s)
	b.Op(schema.BuiltinOperatorRELU, nil, []int{s}, r)
	b.Op(schema.BuiltinOperatorMUL, &schema.MulOptionsT{}, []int{r, x}, m)
	b.Op(schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []int{m}, y)
	b.Output(y)
	return b.Model()
}

func TestEndToEndFloatGraph(t *testing.T) {
	in := []float32{1, 3, -1, 0.5, 2, 2}
	// Hand computation: x+c = [2,1,-0.5 | 1.5,0,2.5]; relu = [2,1,0 | 1.5,0,2.5];
	// ×x = [2,3,0 | 0.75,0,5]; softmax per row.
	rows := [][]float64{{2, 3, 0}, {0.75, 0, 5}}
	var want []float32
	for _, r := range rows {
		s := 0.0
		for _, v := range r {
			s += math.Exp(v)
		}
		for _, v := range r {
			want = append(want, float32(math.Exp(v)/s))
		}
	}
	var outs [][]float32
	for _, threads := range []int{1, 4} {
		it, err := interp.New(e2eModel(), interp.Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		if err := it.SetInput(0, in); err != nil {
			t.Fatal(err)
		}
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 6)
		if err := it.Output(0, got); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 {
				t.Fatalf("threads %d: got %v, want %v", threads, got, want)
			}
		}
		allocs := testing.AllocsPerRun(100, func() {
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("threads %d: Invoke allocates %.1f times", threads, allocs)
		}
		outs = append(outs, got)
		it.Close()
	}
	for i := range outs[0] {
		if math.Float32bits(outs[0][i]) != math.Float32bits(outs[1][i]) {
			t.Fatalf("threads 1 and 4 differ: %v vs %v", outs[0], outs[1])
		}
	}
}

// A larger graph covering every op of this area, float and int8, must not
// allocate in Invoke and must give identical results for 1 and 4 threads.
func TestEndToEndAllOpsNoAllocDeterministic(t *testing.T) {
	shape := []int{4, 64, 70}
	q := func(s float32, zp int64) *tflite.Quantization { return ewQ(s, zp) }
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, shape, nil)
	w := b.Const("w", tflite.Float32, []int{70}, make([]float32, 70), nil)
	cur := x
	add := func(op schema.BuiltinOperator, opts any, ins ...int) int {
		o := b.Tensor("t", tflite.Float32, shape, nil)
		b.Op(op, opts, ins, o)
		return o
	}
	cur = add(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, cur, w)
	cur = add(schema.BuiltinOperatorSUB, &schema.SubOptionsT{}, cur, w)
	cur = add(schema.BuiltinOperatorMUL, &schema.MulOptionsT{}, cur, cur)
	cur = add(schema.BuiltinOperatorSQUARED_DIFFERENCE, nil, cur, w)
	cur = add(schema.BuiltinOperatorSQRT, nil, cur)
	one := b.Const("one", tflite.Float32, []int{1}, []float32{1}, nil)
	cur = add(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, cur, one)
	cur = add(schema.BuiltinOperatorRSQRT, nil, cur)
	cur = add(schema.BuiltinOperatorDIV, &schema.DivOptionsT{}, x, cur)
	cur = add(schema.BuiltinOperatorTANH, nil, cur)
	cur = add(schema.BuiltinOperatorGELU, nil, cur)
	cur = add(schema.BuiltinOperatorLOGISTIC, nil, cur)
	cur = add(schema.BuiltinOperatorRELU6, nil, cur)
	cur = add(schema.BuiltinOperatorRELU, nil, cur)
	cur = add(schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, cur)
	// int8 branch.
	qi := b.Tensor("q", tflite.Int8, shape, q(0.05, -3))
	b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{x}, qi)
	qadd := b.Tensor("qadd", tflite.Int8, shape, q(0.08, 2))
	b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{qi, qi}, qadd)
	qmul := b.Tensor("qmul", tflite.Int8, shape, q(0.1, 0))
	b.Op(schema.BuiltinOperatorMUL, &schema.MulOptionsT{}, []int{qadd, qi}, qmul)
	qsig := b.Tensor("qsig", tflite.Int8, shape, q(1.0/256, -128))
	b.Op(schema.BuiltinOperatorLOGISTIC, nil, []int{qmul}, qsig)
	qsm := b.Tensor("qsm", tflite.Int8, shape, q(1.0/256, -128))
	b.Op(schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []int{qmul}, qsm)
	qrq := b.Tensor("qrq", tflite.Int8, shape, q(0.02, 5))
	b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{qsig}, qrq)
	d1 := b.Tensor("d1", tflite.Float32, shape, nil)
	b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{qrq}, d1)
	d2 := b.Tensor("d2", tflite.Float32, shape, nil)
	b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{qsm}, d2)
	b.Output(cur, d1, d2)
	m := b.Model()

	in := make([]float32, 4*64*70)
	for i := range in {
		in[i] = float32(math.Sin(float64(i)*0.37)) * 4
	}
	var first [][]float32
	for _, threads := range []int{1, 4} {
		it := ewRun(t, m, threads, in)
		allocs := testing.AllocsPerRun(20, func() {
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("threads %d: Invoke allocates %.1f times", threads, allocs)
		}
		var outs [][]float32
		for k := range it.NumOutputs() {
			outs = append(outs, append([]float32{}, it.OutputTensor(k).F32()...))
		}
		it.Close()
		if first == nil {
			first = outs
			continue
		}
		for k := range outs {
			for i := range outs[k] {
				if math.Float32bits(outs[k][i]) != math.Float32bits(first[k][i]) {
					t.Fatalf("output %d element %d: threads 4 gave %g, threads 1 %g", k, i, outs[k][i], first[k][i])
				}
			}
		}
	}
}
