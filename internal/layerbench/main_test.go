package main

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/internal/litert"
	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/runtime/kernels"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Every benchmark graph is a valid model that survives a write and read.
func TestLayersBuild(t *testing.T) {
	ls := layers(true)
	if len(ls) != 2*(3*2+3*3+2)+3+6 {
		t.Errorf("%d layers", len(ls))
	}
	seen := map[string]bool{}
	for _, l := range ls {
		key := l.Name + " " + l.DType
		if seen[key] {
			t.Errorf("duplicate layer %s", key)
		}
		seen[key] = true
		b, err := l.model.Marshal()
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		m, err := tflite.Read(b)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if got := len(m.Subgraphs[0].Operators); (l.DType == "int8") != (got > 1) {
			t.Errorf("%s: %d operators", key, got)
		}
		if len(l.in) != numel(l.shape) {
			t.Errorf("%s: input %d elements for shape %v", key, len(l.in), l.shape)
		}
	}
}

// An operator without a kernel is reported as unsupported, not as a failure.
func TestUnsupportedOp(t *testing.T) {
	b := tflite.NewBuilder("main")
	x := b.Input("x", tflite.Float32, []int{4}, nil)
	y := b.Tensor("y", tflite.Float32, []int{4}, nil)
	b.Op(schema.BuiltinOperatorCUMSUM, nil, []int{x}, y)
	b.Output(y)
	_, _, err := runOurs(b.Model(), make([]float32, 4), config{threads: 1, runs: 1})
	if !errors.Is(err, kernels.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
}

func TestCompare(t *testing.T) {
	ref := func(v ...float32) []*npy.Array {
		return []*npy.Array{{DType: "float32", Shape: []int{len(v)}, Data: v}}
	}
	for _, c := range []struct {
		ours  []float32
		ref   []*npy.Array
		scale float32
		want  string
	}{
		{[]float32{1, 2, 3}, ref(1, 2, 3.0002), 0, "ok"},
		{[]float32{1, 2, 3}, ref(1, 2, 3.01), 0, "mismatch"},
		{[]float32{0.5, 1}, ref(0.5, 1.25), 0.25, "ok"},
		{[]float32{0.5, 1}, ref(0.5, 1.5), 0.25, "mismatch"},
		{[]float32{1, 2}, ref(1, 2, 3), 0, "mismatch"},
	} {
		var r Row
		compare(&r, c.ours, c.ref, c.scale)
		if r.Check != c.want {
			t.Errorf("compare(%v, %v, %g) = %s (diff %g), want %s", c.ours, c.ref[0].Data, c.scale, r.Check, r.Diff, c.want)
		}
	}
}

// End to end on operators that exist from the start: ADD, MUL, SOFTMAX and
// QUANTIZE/DEQUANTIZE, float32 and int8, through both runtimes.
func TestSmokeAgainstLiteRT(t *testing.T) {
	litert.Require(t)
	cfg := config{threads: 2, runs: 3, warmup: 1, smoke: true, filter: regexp.MustCompile(`^(ADD|MUL|SOFTMAX) |quant\+dequant 15x15`)}
	rep, err := bench(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 7 {
		t.Fatalf("%d rows", len(rep.Rows))
	}
	if rep.Meta.LiteRTVariant == "" || rep.Meta.LiteRTThreads < 1 {
		t.Errorf("meta %+v", rep.Meta)
	}
	for _, r := range rep.Rows {
		if r.Ours != "ok" || r.LiteRT != "ok" || r.Check != "ok" {
			t.Errorf("%s %s: ours %s (%s) LiteRT %s (%s) check %s diff %g", r.Layer, r.DType, r.Ours, r.OursErr, r.LiteRT, r.LiteRTErr, r.Check, r.Diff)
		}
		if r.OursMs <= 0 || r.LiteRTMs <= 0 || r.Ratio <= 0 {
			t.Errorf("%s %s: times %g %g ratio %g", r.Layer, r.DType, r.OursMs, r.LiteRTMs, r.Ratio)
		}
	}
	var buf bytes.Buffer
	printTable(&buf, rep)
	out := buf.String()
	t.Log("\n" + out)
	for _, want := range []string{"ours/LiteRT", "SOFTMAX 60x60x64", rep.Meta.LiteRTVariant, "QUANTIZE"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
}
