package conformance

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/lsms-edge/lsms/internal/litert"
	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Input is one graph input: float32 or int32 data with its shape.
type Input struct {
	Shape []int
	F32   []float32
	I32   []int32
}

// Case is one generated graph with its inputs.
type Case struct {
	Name   string
	Model  *tflite.Model
	Inputs []Input
	// RelTol bounds float errors relative to max|reference|; 0 means 1e-5.
	RelTol float64
	// QuantScale > 0 marks outputs that are dequantized int8 values of
	// this scale; they are compared in units of it.
	QuantScale float32
}

// MaxOffFrac is the largest fraction of quantized output elements that
// may differ from LiteRT by one unit.
const MaxOffFrac = 0.01

// Threads are the thread counts our interpreter runs every case with; the
// outputs must be identical across them.
var Threads = []int{1, 3}

// Stats summarises a suite.
type Stats struct {
	Cases       int
	MaxRelErr   float64 // float cases: max over cases of max|err|/max|ref|
	QuantElems  int
	QuantOff1   int // elements one unit apart
	MaxUnitDiff float64
}

// Run runs the cases through our interpreter and LiteRT and fails t on any
// disagreement beyond the tolerances. Without a LiteRT harness the test is
// skipped, unless LSMS_REQUIRE_LITERT=1, when it fails.
func Run(t *testing.T, suite string, cases []Case) Stats {
	t.Helper()
	if err := litert.Available(); err != nil {
		if os.Getenv("LSMS_REQUIRE_LITERT") == "1" {
			t.Fatalf("%s: LiteRT harness required but unavailable: %v", suite, err)
		}
		t.Skipf("%s: LiteRT harness unavailable: %v", suite, err)
	}
	ours := make([][][]float32, len(cases))
	lcases := make([]litert.Case, len(cases))
	for i, c := range cases {
		data, err := c.Model.Marshal()
		if err != nil {
			t.Fatalf("%s/%s: marshal: %v", suite, c.Name, err)
		}
		m, err := tflite.Read(data)
		if err != nil {
			t.Fatalf("%s/%s: read back: %v", suite, c.Name, err)
		}
		ours[i], err = runOurs(m, c.Inputs)
		if err != nil {
			t.Fatalf("%s/%s: our interpreter: %v", suite, c.Name, err)
		}
		lc := litert.Case{Model: data}
		for _, in := range c.Inputs {
			a := &npy.Array{Shape: in.Shape}
			if in.I32 != nil {
				a.DType, a.Data = "int32", in.I32
			} else {
				a.DType, a.Data = "float32", in.F32
			}
			lc.Inputs = append(lc.Inputs, a)
		}
		lcases[i] = lc
	}
	res, err := litert.Run(lcases)
	if err != nil {
		t.Fatalf("%s: LiteRT: %v", suite, err)
	}
	var st Stats
	st.Cases = len(cases)
	for i, c := range cases {
		r := res[i]
		if r.Err != nil {
			t.Errorf("%s/%s: LiteRT failed: %v", suite, c.Name, r.Err)
			continue
		}
		if len(r.Outputs) != len(ours[i]) {
			t.Errorf("%s/%s: LiteRT gave %d outputs, we gave %d", suite, c.Name, len(r.Outputs), len(ours[i]))
			continue
		}
		for k, ref := range r.Outputs {
			refF, err := asFloat(ref)
			if err != nil {
				t.Errorf("%s/%s: output %d: %v", suite, c.Name, k, err)
				continue
			}
			got := ours[i][k]
			if len(refF) != len(got) {
				t.Errorf("%s/%s: output %d has %d elements in LiteRT, %d in ours", suite, c.Name, k, len(refF), len(got))
				continue
			}
			if c.QuantScale > 0 {
				off, worst := 0, 0.0
				for j := range got {
					d := math.Abs(float64(got[j]-refF[j])) / float64(c.QuantScale)
					if d > 0.5 {
						off++
					}
					worst = max(worst, d)
				}
				st.QuantElems += len(got)
				st.QuantOff1 += off
				st.MaxUnitDiff = max(st.MaxUnitDiff, worst)
				if worst > 1.5 {
					j := argmaxDiff(got, refF)
					t.Errorf("%s/%s: output %d differs by %.0f units of %g at element %d (ours %g, LiteRT %g)", suite, c.Name, k, worst, c.QuantScale, j, got[j], refF[j])
				}
				continue
			}
			tol := c.RelTol
			if tol == 0 {
				tol = 1e-5
			}
			maxRef, maxErr := 0.0, 0.0
			for j := range got {
				g, r := float64(got[j]), float64(refF[j])
				// Non-finite values must agree exactly (NaN with NaN, +Inf with +Inf).
				if math.IsNaN(g) || math.IsNaN(r) || math.IsInf(g, 0) || math.IsInf(r, 0) {
					if !(math.IsNaN(g) && math.IsNaN(r)) && g != r {
						t.Errorf("%s/%s: output %d element %d: ours %g, LiteRT %g", suite, c.Name, k, j, g, r)
					}
					continue
				}
				maxRef = max(maxRef, math.Abs(r))
				maxErr = max(maxErr, math.Abs(g-r))
			}
			rel := maxErr / max(maxRef, 1e-30)
			st.MaxRelErr = max(st.MaxRelErr, rel)
			if maxErr > tol*maxRef {
				j := argmaxDiff(got, refF)
				t.Errorf("%s/%s: output %d: max error %g > %g × max|ref| %g at element %d (ours %g, LiteRT %g)", suite, c.Name, k, maxErr, tol, maxRef, j, got[j], refF[j])
			}
		}
	}
	if st.QuantElems > 0 {
		frac := float64(st.QuantOff1) / float64(st.QuantElems)
		t.Logf("%s: %d cases; int8 outputs one unit off LiteRT on %d of %d elements (%.3f%%), max %.0f units", suite, st.Cases, st.QuantOff1, st.QuantElems, 100*frac, st.MaxUnitDiff)
		if frac > MaxOffFrac {
			t.Errorf("%s: %.3f%% of int8 outputs are one unit off LiteRT (limit %.1f%%)", suite, 100*frac, 100*MaxOffFrac)
		}
	} else {
		t.Logf("%s: %d cases; max float error %.3g × max|ref|", suite, st.Cases, st.MaxRelErr)
	}
	return st
}

func argmaxDiff(a, b []float32) int {
	best, bi := -1.0, 0
	for j := range a {
		d := math.Abs(float64(a[j] - b[j]))
		if math.IsNaN(d) {
			return j
		}
		if d > best {
			best, bi = d, j
		}
	}
	return bi
}

func asFloat(a *npy.Array) ([]float32, error) {
	switch v := a.Data.(type) {
	case []float32:
		return v, nil
	case []int32:
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out, nil
	case []uint8:
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported LiteRT output dtype %s", a.DType)
}

// runOurs runs a model at every thread count in Threads, checks the
// outputs are identical, and returns them as float32.
func runOurs(m *tflite.Model, inputs []Input) ([][]float32, error) {
	var first [][]float32
	for _, th := range Threads {
		it, err := interp.New(m, interp.Options{Threads: th})
		if err != nil {
			return nil, err
		}
		if it.NumInputs() != len(inputs) {
			it.Close()
			return nil, fmt.Errorf("model has %d inputs, case gives %d", it.NumInputs(), len(inputs))
		}
		for i, in := range inputs {
			var data any = in.F32
			if in.I32 != nil {
				data = in.I32
			}
			if err := it.SetInput(i, data); err != nil {
				it.Close()
				return nil, err
			}
		}
		if err := it.Invoke(); err != nil {
			it.Close()
			return nil, err
		}
		var outs [][]float32
		for k := range it.NumOutputs() {
			t := it.OutputTensor(k)
			var f []float32
			switch t.Type {
			case tflite.Float32:
				f = append([]float32{}, t.F32()...)
			case tflite.Int32:
				for _, x := range t.I32() {
					f = append(f, float32(x))
				}
			default:
				it.Close()
				return nil, fmt.Errorf("output %d is %v; conformance graphs give float32 or int32", k, t.Type)
			}
			outs = append(outs, f)
		}
		it.Close()
		if first == nil {
			first = outs
			continue
		}
		for k := range outs {
			for j := range outs[k] {
				if math.Float32bits(outs[k][j]) != math.Float32bits(first[k][j]) && !(isNaN32(outs[k][j]) && isNaN32(first[k][j])) {
					return nil, fmt.Errorf("threads=%d output %d element %d is %g, threads=%d gave %g", th, k, j, outs[k][j], Threads[0], first[k][j])
				}
			}
		}
	}
	return first, nil
}

func isNaN32(f float32) bool { return f != f }

// QuantizeInput adds a float32 graph input and a QUANTIZE to int8 with the
// given parameters; it returns the int8 tensor.
func QuantizeInput(b *tflite.Builder, name string, shape []int, scale float32, zeroPoint int64) int {
	in := b.Input(name, tflite.Float32, shape, nil)
	q := b.Tensor(name+"/int8", tflite.Int8, shape, &tflite.Quantization{Scale: []float32{scale}, ZeroPoint: []int64{zeroPoint}})
	b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{in}, q)
	return q
}

// DequantizeOutput adds a DEQUANTIZE of an int8 tensor to a float32 graph
// output and returns it.
func DequantizeOutput(b *tflite.Builder, int8Tensor int, name string) int {
	src := b.TensorAt(int8Tensor)
	out := b.Tensor(name, tflite.Float32, src.Shape, nil)
	b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{int8Tensor}, out)
	b.Output(out)
	return out
}
