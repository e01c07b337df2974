package interp

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/runtime/kernels"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestUnsupportedOpsAreNamedAtLoad(t *testing.T) {
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, []int{1, 4}, nil)
	y := b.Tensor("y", tflite.Float32, []int{1, 4}, nil)
	z := b.Tensor("z", tflite.Float32, []int{1, 4}, nil)
	b.Op(schema.BuiltinOperatorHARD_SWISH, nil, []int{x}, y)
	b.Op(schema.BuiltinOperatorLOG_SOFTMAX, nil, []int{y}, z)
	b.Output(z)
	_, err := New(b.Model(), Options{})
	if !errors.Is(err, kernels.ErrUnsupported) {
		t.Fatalf("got %v, want ErrUnsupported", err)
	}
	for _, want := range []string{"operator 0 (HARD_SWISH)", "operator 1 (LOG_SOFTMAX)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestCustomOpUnsupported(t *testing.T) {
	m, err := tflite.ReadFile("../../tflite/testdata/tf/custom_sinh.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(m, Options{})
	if !errors.Is(err, kernels.ErrUnsupported) || !strings.Contains(err.Error(), "CUSTOM:") {
		t.Fatalf("got %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, []int{1, 4}, nil)
	b.Output(x)
	if _, err := New(b.Model(), Options{Planner: "clever"}); err == nil || !strings.Contains(err.Error(), `unknown planner "clever"`) {
		t.Fatalf("got %v", err)
	}
	if _, err := New(b.Model(), Options{Signature: "nope"}); err == nil || !strings.Contains(err.Error(), `no signature "nope"`) {
		t.Fatalf("got %v", err)
	}
}

// An identity graph (input is output) exercises I/O without kernels.
func TestIdentityGraphIO(t *testing.T) {
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, []int{2, 3}, nil)
	b.Output(x)
	b.Signature("serving_default")
	it, err := New(b.Model(), Options{Signature: "serving_default"})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if i, ok := it.InputIndex("x"); !ok || i != 0 {
		t.Fatalf("InputIndex = %d,%v", i, ok)
	}
	in := []float32{1, 2, 3, 4, 5, 6}
	if err := it.SetInput(0, in); err != nil {
		t.Fatal(err)
	}
	if err := it.SetInput(0, []float32{1}); err == nil || !strings.Contains(err.Error(), "got 1 elements, want 6") {
		t.Fatalf("short input: %v", err)
	}
	if err := it.SetInput(0, []int8{1, 2, 3, 4, 5, 6}); err == nil || !strings.Contains(err.Error(), "got INT8 data") {
		t.Fatalf("wrong type: %v", err)
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 6)
	if err := it.Output(0, out); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Fatalf("out %v", out)
		}
	}
	if got := it.Inputs()[0]; got.Name != "x" || got.Type != tflite.Float32 || len(got.Shape) != 2 {
		t.Fatalf("Inputs() = %+v", got)
	}
}

// TestSharedRHSPacking runs two BATCH_MATMULs reading the same long
// computed rhs (y = x + 0, as the NMF's steps read its features): the
// second reuses the first one's packed rhs within an invocation, and a
// new input in the next invocation is packed anew (no stale results).
func TestSharedRHSPacking(t *testing.T) {
	const M, K, N = 3, 4096, 72 // 4·K·N > 1 MiB: the K split too
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, []int{1, K, N}, nil)
	a1 := b.Input("a1", tflite.Float32, []int{1, M, K}, nil)
	a2 := b.Input("a2", tflite.Float32, []int{1, M, K}, nil)
	zero := b.Const("zero", tflite.Float32, []int{1}, []float32{0}, nil)
	y := b.Tensor("y", tflite.Float32, []int{1, K, N}, nil)
	b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{x, zero}, y)
	o1 := b.Tensor("o1", tflite.Float32, []int{1, M, N}, nil)
	o2 := b.Tensor("o2", tflite.Float32, []int{1, M, N}, nil)
	b.Op(schema.BuiltinOperatorBATCH_MATMUL, &schema.BatchMatMulOptionsT{}, []int{a1, y}, o1)
	b.Op(schema.BuiltinOperatorBATCH_MATMUL, &schema.BatchMatMulOptionsT{}, []int{a2, y}, o2)
	b.Output(o1, o2)
	it, err := New(b.Model(), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	// Small integers: every sum is exact in float32, whatever the order.
	xs, as1, as2 := make([]float32, K*N), make([]float32, M*K), make([]float32, M*K)
	for run := range 3 {
		for i := range xs {
			xs[i] = float32((i*7+run*3)%5 - 2)
		}
		for i := range as1 {
			as1[i] = float32((i+run)%3 - 1)
			as2[i] = float32((i*5+run)%4 - 2)
		}
		for k, v := range [][]float32{xs, as1, as2} {
			if err := it.SetInput(k, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		for o, a := range [][]float32{as1, as2} {
			got := make([]float32, M*N)
			if err := it.Output(o, got); err != nil {
				t.Fatal(err)
			}
			for m := range M {
				for n := range N {
					var want float32
					for k := range K {
						want += a[m*K+k] * xs[k*N+n]
					}
					if got[m*N+n] != want {
						t.Fatalf("run %d output %d (%d,%d) = %g, want %g", run, o, m, n, got[m*N+n], want)
					}
				}
			}
		}
	}
}

// A RESHAPE (an in-place kernel) shares its input's buffer, which then
// lives as long as the output: x = a+1; y = reshape(x); then enough other
// tensors come and go for the planner to reuse x's bytes if x were dead
// after the reshape, and y is read last. Both planners give the same,
// correct outputs; the greedy one shares the buffer, graph outputs never.
func TestInPlaceReshape(t *testing.T) {
	b := tflite.NewBuilder("main")
	a := b.Input("a", tflite.Float32, []int{2, 8}, nil)
	one := b.Const("one", tflite.Float32, []int{1}, []float32{1}, nil)
	x := b.Tensor("x", tflite.Float32, []int{2, 8}, nil)
	b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{a, one}, x)
	shape := b.Const("shape", tflite.Int32, []int{2}, []int32{4, 4}, nil)
	y := b.Tensor("y", tflite.Float32, []int{4, 4}, nil)
	b.Op(schema.BuiltinOperatorRESHAPE, &schema.ReshapeOptionsT{}, []int{x, shape}, y)
	prev := a
	for i := range 4 { // temporaries of x's size
		n := b.Tensor(fmt.Sprintf("t%d", i), tflite.Float32, []int{2, 8}, nil)
		b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{prev, prev}, n)
		prev = n
	}
	shape2 := b.Const("shape2", tflite.Int32, []int{2}, []int32{4, 4}, nil)
	t4 := b.Tensor("t4", tflite.Float32, []int{4, 4}, nil)
	b.Op(schema.BuiltinOperatorRESHAPE, &schema.ReshapeOptionsT{}, []int{prev, shape2}, t4)
	z := b.Tensor("z", tflite.Float32, []int{4, 4}, nil)
	b.Op(schema.BuiltinOperatorSUB, &schema.SubOptionsT{}, []int{y, t4}, z)
	b.Output(z, t4)
	for _, planner := range []string{"greedy", "linear"} {
		it, err := New(b.Model(), Options{Planner: planner})
		if err != nil {
			t.Fatal(err)
		}
		in := make([]float32, 16)
		for i := range in {
			in[i] = float32(i)
		}
		if err := it.SetInput(0, in); err != nil {
			t.Fatal(err)
		}
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 16)
		if err := it.Output(0, got); err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if want := float32(i) + 1 - 16*float32(i); v != want {
				t.Fatalf("%s: z[%d] = %g, want %g", planner, i, v, want)
			}
		}
		same := func(p, q int) bool { return &it.Tensor(p).Data[0] == &it.Tensor(q).Data[0] }
		if !same(x, y) {
			t.Errorf("%s: the reshape's output has a buffer of its own", planner)
		}
		if same(prev, t4) {
			t.Errorf("%s: a graph output shares its input's buffer", planner)
		}
		it.Close()
	}
}

// DIV(MUL(a, b), ADD(d, ε)) runs as one fused node (kernels.InputFuser)
// with the same bits as the three nodes (the linear planner does not
// fuse); a product or sum that something else reads, or a broadcast, is
// left alone.
func TestFusedMulAddDiv(t *testing.T) {
	const n = 37
	build := func(shareMul, broadcast bool) *tflite.Model {
		b := tflite.NewBuilder("main")
		dShape := []int{1, n}
		if broadcast {
			dShape = []int{1, 1}
		}
		a := b.Input("a", tflite.Float32, []int{1, n}, nil)
		x := b.Input("b", tflite.Float32, []int{1, n}, nil)
		d := b.Input("d", tflite.Float32, dShape, nil)
		eps := b.Const("eps", tflite.Float32, []int{}, []float32{1e-6}, nil)
		p := b.Tensor("p", tflite.Float32, []int{1, n}, nil)
		b.Op(schema.BuiltinOperatorMUL, &schema.MulOptionsT{}, []int{a, x}, p)
		q := b.Tensor("q", tflite.Float32, dShape, nil)
		b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{d, eps}, q)
		y := b.Tensor("y", tflite.Float32, []int{1, n}, nil)
		b.Op(schema.BuiltinOperatorDIV, &schema.DivOptionsT{}, []int{p, q}, y)
		outs := []int{y}
		if shareMul {
			z := b.Tensor("z", tflite.Float32, []int{1, n}, nil)
			b.Op(schema.BuiltinOperatorADD, &schema.AddOptionsT{}, []int{p, p}, z)
			outs = append(outs, z)
		}
		b.Output(outs...)
		return b.Model()
	}
	in := [3][]float32{make([]float32, n), make([]float32, n), make([]float32, n)}
	for i := range n {
		in[0][i] = float32(i)*0.37 - 3
		in[1][i] = float32(i%5) + 0.1
		in[2][i] = float32(i%3) * 1e-7 // den + ε near 0
	}
	in[2][4] = float32(math.Inf(1))
	in[0][5] = float32(math.NaN())
	run := func(m *tflite.Model, planner string) ([]float32, []bool) {
		it, err := New(m, Options{Planner: planner, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		for i := range 3 {
			v := in[i]
			if it.InputTensor(i).NumElements() == 1 {
				v = v[:1]
			}
			if err := it.SetInput(i, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, n)
		if err := it.Output(0, out); err != nil {
			t.Fatal(err)
		}
		return out, slices.Clone(it.skip)
	}
	for _, c := range []struct {
		name             string
		share, broadcast bool
		fused            bool
	}{{"plain", false, false, true}, {"product read twice", true, false, false}, {"broadcast", false, true, false}} {
		m := build(c.share, c.broadcast)
		got, skip := run(m, "greedy")
		want, skipLinear := run(m, "linear")
		if slices.Contains(skipLinear, true) {
			t.Errorf("%s: the linear planner fused", c.name)
		}
		if fused := skip[0] && skip[1]; fused != c.fused {
			t.Errorf("%s: fused %v, want %v (skip %v)", c.name, fused, c.fused, skip)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("%s: y[%d] = %v, want %v", c.name, i, got[i], want[i])
			}
		}
	}
}
