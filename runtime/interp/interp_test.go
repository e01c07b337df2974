package interp

import (
	"errors"
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
