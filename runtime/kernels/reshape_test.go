package kernels

import (
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestReshape(t *testing.T) {
	data := make([]float32, 24)
	for i := range data {
		data[i] = float32(i)
	}
	cases := []struct {
		name  string
		opts  any
		shape []int32 // shape input, nil for none
		want  []int
		err   string
	}{
		{"options", &schema.ReshapeOptionsT{NewShape: []int32{4, 6}}, nil, []int{4, 6}, ""},
		{"options -1", &schema.ReshapeOptionsT{NewShape: []int32{-1, 2, 3}}, nil, []int{4, 2, 3}, ""},
		{"input", nil, []int32{2, -1}, []int{2, 12}, ""},
		{"input wins", &schema.ReshapeOptionsT{NewShape: []int32{24}}, []int32{3, 8}, []int{3, 8}, ""},
		{"two -1", nil, []int32{-1, -1}, nil, "more than one -1"},
		{"bad count", nil, []int32{5, 5}, nil, "has 25 elements"},
		{"bad infer", nil, []int32{-1, 5}, nil, "cannot infer"},
	}
	for _, c := range cases {
		for _, th := range []int{1, 3} {
			in := layoutTensor("in", tflite.Float32, []int{2, 3, 4}, data)
			ins := []*Tensor{in}
			if c.shape != nil {
				ins = append(ins, layoutConstT("shape", tflite.Int32, []int{len(c.shape)}, c.shape))
			}
			out := &Tensor{Name: "out", Type: tflite.Float32}
			err := layoutRun(t, schema.BuiltinOperatorRESHAPE, c.opts, ins, []*Tensor{out}, th)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("%s: got error %v, want %q", c.name, err, c.err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !SameShape(out.Shape, c.want) {
				t.Fatalf("%s: shape %v, want %v", c.name, out.Shape, c.want)
			}
			layoutCloseF32(t, c.name, out.F32(), data, 0)
		}
	}
	// Legacy scalar [0].
	in := layoutTensor("in", tflite.Int8, []int{1, 1}, []int8{7})
	out := &Tensor{Name: "out", Type: tflite.Int8}
	if err := layoutRun(t, schema.BuiltinOperatorRESHAPE, &schema.ReshapeOptionsT{NewShape: []int32{0}}, []*Tensor{in}, []*Tensor{out}, 1); err != nil || len(out.Shape) != 0 || out.I8()[0] != 7 {
		t.Fatalf("scalar: %v %v", err, out.Shape)
	}
	// Run-time shape input falls back on the model's output shape.
	in = layoutTensor("in", tflite.Int32, []int{2, 3}, []int32{1, 2, 3, 4, 5, 6})
	st := layoutTensor("shape", tflite.Int32, []int{2}, []int32{3, 2})
	out = &Tensor{Name: "out", Type: tflite.Int32, Shape: []int{3, 2}}
	if err := layoutRun(t, schema.BuiltinOperatorRESHAPE, nil, []*Tensor{in, st}, []*Tensor{out}, 1); err != nil {
		t.Fatal(err)
	}
	layoutEqualI32(t, "run-time shape", out.I32(), []int32{1, 2, 3, 4, 5, 6})
}
