package quant

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Dataset returns input i of a calibration or evaluation set: one typed
// slice ([]float32, []int32, ...) per model input, keyed by the input's
// signature name or tensor name.
type Dataset func(i int) (map[string]any, error)

// Calibration holds the statistics of every float32 tensor computed at run
// time (and of the float32 inputs) of one subgraph, over Samples inputs.
type Calibration struct {
	Subgraph int
	Samples  int
	// Tensors is indexed like the subgraph's tensors; nil for tensors
	// that were not observed (constants, non-float tensors).
	Tensors []*TensorStats
	// Histograms reports whether histograms were kept (the Percentile and
	// MSE estimators need them).
	Histograms bool
	// Skipped lists the inputs left out because the float model's outputs
	// were not finite on them (NaN or ±Inf: such an input says nothing
	// about the ranges that matter, and its activations are often huge).
	Skipped []int
	// Dropped lists the inputs Options.DropOutliers left out.
	Dropped []int
	// Sensitivity is the result of the sensitivity search (Sensitivity),
	// most sensitive op first; Quantize keeps the first Options.AutoFloat
	// of them float32.
	Sensitivity []OpSensitivity
}

// Range returns the estimated range of tensor ti, or false when the tensor
// was not observed.
func (c *Calibration) Range(ti int, e Estimator, pct float64) (Range, bool) {
	if ti < 0 || ti >= len(c.Tensors) || c.Tensors[ti] == nil || c.Tensors[ti].Count == 0 {
		return Range{}, false
	}
	return c.Tensors[ti].rangeOf(e, pct), true
}

// subgraphOf returns the subgraph index a signature key selects (0 for "").
func subgraphOf(m *tflite.Model, sig string) (int, error) {
	if sig == "" {
		if len(m.Subgraphs) == 0 {
			return 0, fmt.Errorf("quant: model has no subgraphs")
		}
		return 0, nil
	}
	s, ok := m.Signature(sig)
	if !ok {
		keys := make([]string, len(m.SignatureDefs))
		for i, sd := range m.SignatureDefs {
			keys[i] = sd.Key
		}
		return 0, fmt.Errorf("quant: no signature %q (have %s)", sig, strings.Join(keys, ", "))
	}
	return s.Subgraph, nil
}

// checkFloat refuses models that already hold quantized or float16 data.
func checkFloat(m *tflite.Model) error {
	if err := m.Validate(); err != nil {
		return err
	}
	for si, sg := range m.Subgraphs {
		for ti, t := range sg.Tensors {
			if t.Quant != nil && len(t.Quant.Scale) > 0 {
				return fmt.Errorf("%w: subgraph %d tensor %d %q has quantization parameters", ErrNotFloat, si, ti, t.Name)
			}
			switch t.Type {
			case tflite.Int8, tflite.UInt8, tflite.Int16, tflite.Float16, tflite.Int4:
				return fmt.Errorf("%w: subgraph %d tensor %d %q is %v", ErrNotFloat, si, ti, t.Name, t.Type)
			}
		}
		for oi, op := range sg.Operators {
			switch op.Code.Builtin {
			case schema.BuiltinOperatorQUANTIZE, schema.BuiltinOperatorDEQUANTIZE:
				return fmt.Errorf("%w: subgraph %d operator %d is %s", ErrNotFloat, si, oi, op.Code.Name())
			}
		}
	}
	return nil
}

// feed sets an interpreter's inputs from one dataset entry.
func feed(it *interp.Interpreter, in map[string]any) error {
	seen := make([]bool, it.NumInputs())
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		k, ok := it.InputIndex(name)
		if !ok {
			return fmt.Errorf("model has no input %q", name)
		}
		if seen[k] {
			return fmt.Errorf("input %q given twice", name)
		}
		seen[k] = true
		if err := it.SetInput(k, in[name]); err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
	}
	for k, ok := range seen {
		if !ok {
			return fmt.Errorf("input %q is missing", it.Inputs()[k].Name)
		}
	}
	return nil
}

// runtimeFloatTensors lists the float32 tensors of sg that are inputs or
// produced by an operator.
func runtimeFloatTensors(m *tflite.Model, sg *tflite.Subgraph) []int {
	want := make([]bool, len(sg.Tensors))
	for _, ti := range sg.Inputs {
		want[ti] = true
	}
	for _, op := range sg.Operators {
		for _, ti := range op.Outputs {
			want[ti] = true
		}
	}
	var out []int
	for ti, t := range sg.Tensors {
		if want[ti] && t.Type == tflite.Float32 && !m.IsConst(t) {
			out = append(out, ti)
		}
	}
	return out
}

// Calibrate runs the float model on inputs 0..n−1 of data with our
// interpreter and records the statistics of every float32 run-time tensor
// of the selected subgraph (opts.Signature). Inputs on which the float
// model's outputs are not finite are skipped (Calibration.Skipped); with
// opts.DropOutliers, a first pass finds the inputs on which the model's
// activations are furthest above the typical input's and leaves them out
// (Calibration.Dropped). Histograms are kept when
// opts.Estimator needs them. opts.Progress is called with stage
// "calibrate" after each input.
func Calibrate(m *tflite.Model, data Dataset, n int, opts Options) (*Calibration, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, fmt.Errorf("%w: need at least one input, got %d", ErrCalibration, n)
	}
	if err := checkFloat(m); err != nil {
		return nil, err
	}
	si, err := subgraphOf(m, opts.Signature)
	if err != nil {
		return nil, err
	}
	sg := m.Subgraphs[si]
	it, err := interp.New(m, interp.Options{Threads: max(opts.Threads, 1), Planner: "linear", Signature: opts.Signature})
	if err != nil {
		return nil, fmt.Errorf("quant: calibrate: %w", err)
	}
	defer it.Close()
	softmaxIn := map[int]bool{}
	for _, op := range sg.Operators {
		if op.Code.Builtin == schema.BuiltinOperatorSOFTMAX && len(op.Inputs) > 0 && op.Inputs[0] >= 0 {
			softmaxIn[op.Inputs[0]] = true
		}
	}
	cal := &Calibration{Subgraph: si, Tensors: make([]*TensorStats, len(sg.Tensors)), Histograms: opts.Estimator != MinMax}
	watch := runtimeFloatTensors(m, sg)
	for _, ti := range watch {
		cal.Tensors[ti] = newStats(sg.Tensors[ti].Name, cal.Histograms, softmaxIn[ti])
	}
	run := func(i int) (bool, error) {
		in, err := data(i)
		if err != nil {
			return false, fmt.Errorf("%w: input %d: %v", ErrCalibration, i, err)
		}
		if err := feed(it, in); err != nil {
			return false, fmt.Errorf("%w: input %d: %v", ErrCalibration, i, err)
		}
		if err := it.Invoke(); err != nil {
			return false, fmt.Errorf("quant: calibrate: input %d: %w", i, err)
		}
		return finiteOutputs(it), nil
	}
	total := n
	if opts.DropOutliers > 0 {
		total = 2 * n
	}
	done := 0
	opts.progress("calibrate", 0, total)
	use := make([]bool, n)
	for i := range use {
		use[i] = true
	}
	if opts.DropOutliers > 0 {
		// First pass: each input's largest magnitude per tensor.
		absMax := make([][]float32, n)
		for i := range n {
			ok, err := run(i)
			if err != nil {
				return nil, err
			}
			done++
			opts.progress("calibrate", done, total)
			if !ok {
				continue
			}
			row := make([]float32, len(watch))
			for k, ti := range watch {
				t := it.Tensor(ti)
				for _, x := range t.F32()[:t.NumElements()] {
					if a := float32(math.Abs(float64(x))); a > row[k] && !math.IsInf(float64(a), 0) {
						row[k] = a
					}
				}
			}
			absMax[i] = row
		}
		cal.Dropped = outliers(absMax, opts.DropOutliers)
		for _, i := range cal.Dropped {
			use[i] = false
		}
	}
	for i := range n {
		if !use[i] {
			done++
			opts.progress("calibrate", done, total)
			continue
		}
		ok, err := run(i)
		if err != nil {
			return nil, err
		}
		done++
		if !ok {
			cal.Skipped = append(cal.Skipped, i)
			opts.progress("calibrate", done, total)
			continue
		}
		for _, ti := range watch {
			t := it.Tensor(ti)
			row := 0
			if len(t.Shape) > 0 {
				row = t.Shape[len(t.Shape)-1]
			}
			cal.Tensors[ti].observe(t.F32()[:t.NumElements()], row)
		}
		cal.Samples++
		opts.progress("calibrate", done, total)
	}
	if cal.Samples == 0 {
		return nil, fmt.Errorf("%w: the float model's outputs are not finite on any of the %d inputs", ErrCalibration, n)
	}
	return cal, nil
}

// outliers returns the inputs (rows of absMax; nil rows are inputs already
// left out) to drop: the fraction frac of them whose activations are
// largest next to the typical input's. An input's score is the sum over
// tensors of max(0, log(its largest magnitude / the median over inputs of
// the largest magnitude)): an input on which the model's activations blow
// up scores high on many tensors.
func outliers(absMax [][]float32, frac float64) []int {
	var rows []int
	for i, r := range absMax {
		if r != nil {
			rows = append(rows, i)
		}
	}
	drop := int(math.Ceil(frac * float64(len(rows))))
	drop = min(drop, len(rows)-1)
	if drop <= 0 {
		return nil
	}
	nt := len(absMax[rows[0]])
	med := make([]float64, nt)
	col := make([]float64, len(rows))
	for k := range nt {
		for j, i := range rows {
			col[j] = float64(absMax[i][k])
		}
		sort.Float64s(col)
		med[k] = col[len(col)/2]
	}
	score := make([]float64, len(absMax))
	for _, i := range rows {
		for k, a := range absMax[i] {
			if med[k] > 0 && float64(a) > med[k] {
				score[i] += math.Log(float64(a) / med[k])
			}
		}
	}
	sort.SliceStable(rows, func(a, b int) bool { return score[rows[a]] > score[rows[b]] })
	out := append([]int{}, rows[:drop]...)
	sort.Ints(out)
	return out
}

// finiteOutputs reports whether every float32 output of it is finite.
func finiteOutputs(it *interp.Interpreter) bool {
	for k := range it.NumOutputs() {
		t := it.OutputTensor(k)
		if t.Type != tflite.Float32 {
			continue
		}
		for _, x := range t.F32()[:t.NumElements()] {
			if x-x != 0 { // NaN or ±Inf
				return false
			}
		}
	}
	return true
}
