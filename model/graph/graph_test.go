package graph

import (
	"math"
	"testing"

	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
)

func TestGeluComposite(t *testing.T) {
	const n = 40001
	b := tflite.NewBuilder("gelu")
	g := New(b)
	x := g.Input("x", tflite.Float32, 1, n)
	g.Output(g.GeluComposite("gelu", x), g.Gelu("gelu_op", x, false))
	in := make([]float32, n)
	for i := range in {
		in[i] = float32(-20 + 40*float64(i)/(n-1))
	}
	it, err := interp.New(b.Model(), interp.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := it.SetInput(0, in); err != nil {
		t.Fatal(err)
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	comp, op := make([]float32, n), make([]float32, n)
	it.Output(0, comp)
	it.Output(1, op)
	worst, worstOp := 0.0, 0.0
	for i, v := range in {
		x := float64(v)
		exact := 0.5 * x * math.Erfc(-x/math.Sqrt2)
		worst = max(worst, math.Abs(float64(comp[i])-exact)/max(1, math.Abs(x)))
		worstOp = max(worstOp, math.Abs(float64(op[i])-exact)/max(1, math.Abs(x)))
	}
	t.Logf("max |gelu − exact| / max(1,|x|) on [-20, 20]: composite %.3g, GELU op %.3g", worst, worstOp)
	if worst > 5e-7 {
		t.Errorf("composite GELU error %.3g", worst)
	}
}

func TestBroadcast(t *testing.T) {
	s, ok := Broadcast([]int{1, 4, 4, 8}, []int{8})
	if !ok || len(s) != 4 || s[3] != 8 || s[1] != 4 {
		t.Errorf("%v %v", s, ok)
	}
	if _, ok := Broadcast([]int{3, 2}, []int{4, 2}); ok {
		t.Error("3 vs 4 broadcast")
	}
	if err := Catch(func() { New(tflite.NewBuilder("x")).Reshape("r", Value{Shape: []int{2, 3}}, 4) }); err == nil {
		t.Error("bad reshape not caught")
	}
}
