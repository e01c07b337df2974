package quant

import (
	"fmt"
	"math"
	"sort"

	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/runtime/kernels"
	"github.com/lsms-edge/lsms/tflite"
)

// OpSensitivity is how much one op hurts the model output when it alone is
// quantized to int8.
type OpSensitivity struct {
	OpInfo
	// SQNR of the model outputs (all outputs pooled) with only this op in
	// int8, over the search inputs; +Inf when the outputs are unchanged.
	SQNR DB `json:"sqnr_db"`
}

// outputsOf runs it on data entry i and returns copies of the outputs as
// float64 (int8 outputs dequantized).
func outputsOf(it *interp.Interpreter, data Dataset, i int) ([][]float64, error) {
	in, err := data(i)
	if err != nil {
		return nil, fmt.Errorf("input %d: %w", i, err)
	}
	if err := feed(it, in); err != nil {
		return nil, fmt.Errorf("input %d: %w", i, err)
	}
	if err := it.Invoke(); err != nil {
		return nil, fmt.Errorf("input %d: %w", i, err)
	}
	out := make([][]float64, it.NumOutputs())
	for k := range out {
		v, ok := asFloat64(it.OutputTensor(k))
		if !ok {
			return nil, fmt.Errorf("output %d %s cannot be compared", k, it.OutputTensor(k))
		}
		out[k] = v
	}
	return out, nil
}

// asFloat64 reads a float32, int32 or per-tensor int8 tensor as real values.
func asFloat64(t *kernels.Tensor) ([]float64, bool) {
	n := t.NumElements()
	out := make([]float64, n)
	switch t.Type {
	case tflite.Float32:
		for i, x := range t.F32()[:n] {
			out[i] = float64(x)
		}
	case tflite.Int32:
		for i, x := range t.I32()[:n] {
			out[i] = float64(x)
		}
	case tflite.Int8:
		if len(t.Scale) != 1 {
			return nil, false
		}
		s, zp := float64(t.Scale[0]), t.ZeroPoint[0]
		for i, x := range t.I8()[:n] {
			out[i] = s * float64(int32(x)-zp)
		}
	default:
		return nil, false
	}
	return out, true
}

// Sensitivity quantizes each int8-capable op of the float model m alone
// (everything else float32) and measures the SQNR of the model outputs
// against the float model on the first opts.SearchInputs inputs of data
// (of the first n) that calibration kept (not in cal.Skipped or
// cal.Dropped) and on which the float outputs are finite. It stores the ops, least SQNR first, in cal.Sensitivity and
// returns them. Ops that FloatOps or the op table already keep float32 are
// not candidates; nor are data-movement ops, which follow their input.
// opts.Progress is called with stage "search".
func Sensitivity(m *tflite.Model, cal *Calibration, data Dataset, n int, opts Options) ([]OpSensitivity, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := checkFloat(m); err != nil {
		return nil, err
	}
	si, err := subgraphOf(m, opts.Signature)
	if err != nil {
		return nil, err
	}
	if cal == nil {
		return nil, fmt.Errorf("%w: the sensitivity search needs calibration data", ErrCalibration)
	}
	k := opts.SearchInputs
	if k == 0 {
		k = DefaultSearchInputs
	}
	k = min(k, n)
	if k <= 0 {
		return nil, fmt.Errorf("%w: the sensitivity search needs at least one input", ErrCalibration)
	}
	sg := m.Subgraphs[si]
	modes, _, err := planOps(m, sg, &opts, nil)
	if err != nil {
		return nil, err
	}
	var cands []int
	for oi, op := range sg.Operators {
		if modes[oi] != modeInt8 {
			continue
		}
		r := rules[op.Code.Builtin]
		if r.kind == kAny || r.kind == kSame && !m.IsConst(sg.Tensors[op.Inputs[r.src]]) {
			continue
		}
		cands = append(cands, oi)
	}
	iopts := interp.Options{Threads: max(opts.Threads, 1), Signature: opts.Signature}
	// The first k inputs with finite float outputs.
	var ref [][][]float64
	var use []int
	{
		it, err := interp.New(m, iopts)
		if err != nil {
			return nil, fmt.Errorf("quant: search: %w", err)
		}
		left := map[int]bool{}
		for _, i := range append(append([]int{}, cal.Skipped...), cal.Dropped...) {
			left[i] = true
		}
		for i := 0; i < n && len(use) < k; i++ {
			if left[i] {
				continue
			}
			out, err := outputsOf(it, data, i)
			if err != nil {
				it.Close()
				return nil, fmt.Errorf("quant: search: %w", err)
			}
			if finiteOutputs(it) {
				ref = append(ref, out)
				use = append(use, i)
			}
		}
		it.Close()
	}
	if len(use) == 0 {
		return nil, fmt.Errorf("%w: the float model's outputs are not finite on any input", ErrCalibration)
	}
	var res []OpSensitivity
	opts.progress("search", 0, len(cands))
	for ci, c := range cands {
		force := make(map[int]string, len(sg.Operators))
		for oi := range sg.Operators {
			if oi != c {
				force[oi] = "search"
			}
		}
		o := opts
		o.FloatOps = nil
		q, _, err := quantizeInt8(m, si, cal, &o, force)
		if err != nil {
			return nil, err
		}
		it, err := interp.New(q, iopts)
		if err != nil {
			return nil, fmt.Errorf("quant: search: operator %d alone in int8: %w", c, err)
		}
		var sig, noise float64
		for r, i := range use {
			got, err := outputsOf(it, data, i)
			if err != nil {
				it.Close()
				return nil, fmt.Errorf("quant: search: operator %d alone in int8: %w", c, err)
			}
			for j := range got {
				for e, x := range ref[r][j] {
					d := got[j][e] - x
					sig += x * x
					noise += d * d
				}
			}
		}
		it.Close()
		op := sg.Operators[c]
		res = append(res, OpSensitivity{OpInfo: OpInfo{Index: c, Op: op.Code.Name(), Name: opName(sg, op)}, SQNR: sqnr(sig, noise)})
		opts.progress("search", ci+1, len(cands))
	}
	sort.SliceStable(res, func(a, b int) bool { return res[a].SQNR < res[b].SQNR })
	cal.Sensitivity = res
	return res, nil
}

// sqnr is 10·log10(signal/noise) in dB: +Inf without noise, −Inf for noise
// on a zero signal and for non-finite noise (quantized values that are NaN
// or infinite where the float ones are not).
func sqnr(signal, noise float64) DB {
	if math.IsNaN(noise) || math.IsInf(noise, 0) {
		return DB(math.Inf(-1))
	}
	if noise == 0 {
		return DB(math.Inf(1))
	}
	if signal == 0 {
		return DB(math.Inf(-1))
	}
	return DB(10 * math.Log10(signal/noise))
}
