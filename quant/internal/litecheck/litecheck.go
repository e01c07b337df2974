// Package litecheck compares quantized models run by our interpreter with
// LiteRT (internal/litert), for quant's tests and measurements: whole
// models on sample inputs (Outputs) and every op alone on the inputs our
// interpreter computed for it (PerOp), which separates a kernel's own
// disagreement from disagreements carried in from earlier ops.
package litecheck

import (
	"fmt"
	"math"

	"github.com/lsms-edge/lsms/internal/litert"
	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/runtime/kernels"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Agreement counts how LiteRT's results compare with ours.
type Agreement struct {
	// Elems counts compared elements of int8-computed results, Off1 those
	// one unit apart and MaxUnits the largest difference in units of the
	// int8 scale.
	Elems, Off1 int
	MaxUnits    float64
	// FloatElems counts elements of float results, MaxRel their largest
	// difference relative to max|LiteRT|.
	FloatElems int
	MaxRel     float64
}

// OffFrac is Off1 / Elems.
func (a Agreement) OffFrac() float64 { return float64(a.Off1) / float64(max(a.Elems, 1)) }

// Within reports whether int8 results are at most one unit apart on at
// most frac of the elements, and float results within relTol.
func (a Agreement) Within(frac, relTol float64) bool {
	return a.MaxUnits <= 1 && a.OffFrac() <= frac && a.MaxRel <= relTol
}

func (a Agreement) String() string {
	return fmt.Sprintf("%d of %d int8 elements one unit apart (%.3f %%), max %.0f units; %d float elements, max rel err %.3g",
		a.Off1, a.Elems, 100*a.OffFrac(), a.MaxUnits, a.FloatElems, a.MaxRel)
}

func (a *Agreement) add(b Agreement) {
	a.Elems += b.Elems
	a.Off1 += b.Off1
	a.MaxUnits = max(a.MaxUnits, b.MaxUnits)
	a.FloatElems += b.FloatElems
	a.MaxRel = max(a.MaxRel, b.MaxRel)
}

// run invokes m (subgraph 0) on inputs by name with our interpreter using
// the linear planner, so every tensor can be read afterwards.
func run(m *tflite.Model, in map[string]any) (*interp.Interpreter, error) {
	it, err := interp.New(m, interp.Options{Threads: 1, Planner: "linear"})
	if err != nil {
		return nil, err
	}
	for name, v := range in {
		k, ok := it.InputIndex(name)
		if !ok {
			it.Close()
			return nil, fmt.Errorf("no input %q", name)
		}
		if err := it.SetInput(k, v); err != nil {
			it.Close()
			return nil, err
		}
	}
	if err := it.Invoke(); err != nil {
		it.Close()
		return nil, err
	}
	return it, nil
}

// data copies a kernel tensor's values into a typed slice.
func data(t *kernels.Tensor) (any, error) {
	n := t.NumElements()
	switch t.Type {
	case tflite.Float32:
		return append([]float32{}, t.F32()[:n]...), nil
	case tflite.Int8:
		return append([]int8{}, t.I8()[:n]...), nil
	case tflite.Int32:
		return append([]int32{}, t.I32()[:n]...), nil
	}
	return nil, fmt.Errorf("tensor %s: type %v not supported", t, t.Type)
}

// compare adds the agreement of one result: int8 raw values (unit 1), a
// float result that dequantizes an int8 tensor of scale unit (unit > 0),
// or a float result compared relatively (unit 0).
func compare(ours any, ref *npy.Array, unit float64) (Agreement, error) {
	var a Agreement
	switch o := ours.(type) {
	case []int8:
		r, ok := ref.Data.([]int8)
		if !ok || len(r) != len(o) {
			return a, fmt.Errorf("LiteRT gave %s%v for %d int8 values", ref.DType, ref.Shape, len(o))
		}
		for j, v := range o {
			d := math.Abs(float64(int(v) - int(r[j])))
			a.Elems++
			if d > 0 {
				a.Off1++
			}
			a.MaxUnits = max(a.MaxUnits, d)
		}
	case []float32:
		r, ok := ref.Data.([]float32)
		if !ok || len(r) != len(o) {
			return a, fmt.Errorf("LiteRT gave %s%v for %d float32 values", ref.DType, ref.Shape, len(o))
		}
		maxRef := 0.0
		for _, v := range r {
			maxRef = max(maxRef, math.Abs(float64(v)))
		}
		for j, v := range o {
			d := math.Abs(float64(v - r[j]))
			if unit > 0 {
				u := math.Round(d / unit)
				a.Elems++
				if u > 0 {
					a.Off1++
				}
				a.MaxUnits = max(a.MaxUnits, u)
				continue
			}
			a.FloatElems++
			if maxRef > 0 {
				a.MaxRel = max(a.MaxRel, d/maxRef)
			} else if d > 0 {
				a.MaxRel = math.Inf(1)
			}
		}
	case []int32:
		r, ok := ref.Data.([]int32)
		if !ok || len(r) != len(o) {
			return a, fmt.Errorf("LiteRT gave %s%v for %d int32 values", ref.DType, ref.Shape, len(o))
		}
		for j, v := range o {
			a.FloatElems++
			if v != r[j] {
				a.MaxRel = math.Inf(1)
			}
		}
	default:
		return a, fmt.Errorf("cannot compare %T", ours)
	}
	return a, nil
}

// outputUnits returns, per subgraph output of m, the scale of the int8
// tensor its DEQUANTIZE reads (0 when the output is computed in float).
// Float RESHAPE and RESIZE_BILINEAR ops after the DEQUANTIZE are followed
// back: they move values or take convex combinations of them, so a
// difference of k units in their input is at most k units in their output.
func outputUnits(m *tflite.Model) []float64 {
	sg := m.Subgraphs[0]
	producer := map[int]*tflite.Operator{}
	for _, op := range sg.Operators {
		for _, o := range op.Outputs {
			producer[o] = op
		}
	}
	out := make([]float64, len(sg.Outputs))
	for k, ti := range sg.Outputs {
		for op := producer[ti]; op != nil && len(op.Inputs) > 0; op = producer[op.Inputs[0]] {
			switch op.Code.Builtin {
			case schema.BuiltinOperatorDEQUANTIZE:
				if q := sg.Tensors[op.Inputs[0]].Quant; q != nil && len(q.Scale) == 1 {
					out[k] = float64(q.Scale[0])
				}
			case schema.BuiltinOperatorRESHAPE, schema.BuiltinOperatorRESIZE_BILINEAR:
				continue
			}
			break
		}
	}
	return out
}

// Outputs runs m on each sample (values by subgraph input name) in LiteRT
// and with our interpreter and compares the model outputs: outputs that
// dequantize an int8 tensor in units of its scale, float outputs
// relatively.
func Outputs(m *tflite.Model, samples []map[string]any) (Agreement, error) {
	ag, _, err := OutputsAndMasks(m, samples, float32(math.Inf(1)))
	return ag, err
}

// Masks counts how often thresholded float outputs agree.
type Masks struct{ Pixels, Same int }

// Frac is Same / Pixels (1 when nothing was compared).
func (k Masks) Frac() float64 {
	if k.Pixels == 0 {
		return 1
	}
	return float64(k.Same) / float64(k.Pixels)
}

// OutputsAndMasks is Outputs that also compares, for every float32 output
// element, whether LiteRT's and our value are both above threshold or both
// not (a segmentation mask from logits); threshold +Inf compares nothing.
func OutputsAndMasks(m *tflite.Model, samples []map[string]any, threshold float32) (Agreement, Masks, error) {
	var total Agreement
	var masks Masks
	raw, err := m.Marshal()
	if err != nil {
		return total, masks, err
	}
	sg := m.Subgraphs[0]
	var cases []litert.Case
	var ours [][]any
	for i, s := range samples {
		c := litert.Case{Model: raw}
		for _, ti := range sg.Inputs {
			t := sg.Tensors[ti]
			a, err := npy.New(s[t.Name], t.Shape...)
			if err != nil {
				return total, masks, fmt.Errorf("sample %d input %q: %w", i, t.Name, err)
			}
			c.Inputs = append(c.Inputs, a)
		}
		cases = append(cases, c)
		it, err := run(m, s)
		if err != nil {
			return total, masks, fmt.Errorf("sample %d: %w", i, err)
		}
		var outs []any
		for _, ti := range sg.Outputs {
			v, err := data(it.Tensor(ti))
			if err != nil {
				it.Close()
				return total, masks, err
			}
			outs = append(outs, v)
		}
		it.Close()
		ours = append(ours, outs)
	}
	res, err := litert.Run(cases)
	if err != nil {
		return total, masks, err
	}
	units := outputUnits(m)
	for i, r := range res {
		if r.Err != nil {
			return total, masks, fmt.Errorf("LiteRT failed on sample %d: %w", i, r.Err)
		}
		if len(r.Outputs) != len(ours[i]) {
			return total, masks, fmt.Errorf("LiteRT gave %d outputs, we gave %d", len(r.Outputs), len(ours[i]))
		}
		for k, a := range r.Outputs {
			ag, err := compare(ours[i][k], a, units[k])
			if err != nil {
				return total, masks, fmt.Errorf("sample %d output %d: %w", i, k, err)
			}
			total.add(ag)
			if o, ok := ours[i][k].([]float32); ok && !math.IsInf(float64(threshold), 1) {
				if r, ok := a.Data.([]float32); ok && len(r) == len(o) {
					for j := range o {
						masks.Pixels++
						if (o[j] > threshold) == (r[j] > threshold) {
							masks.Same++
						}
					}
				}
			}
		}
	}
	return total, masks, nil
}

// OpAgreement is one op's agreement with LiteRT when run alone.
type OpAgreement struct {
	Index int
	Op    string
	Name  string
	Agreement
}

// PerOp runs m on one sample with our interpreter, then runs every op of m
// alone in LiteRT (a one-op model whose inputs are the values our
// interpreter computed for that op) and compares its outputs with ours.
func PerOp(m *tflite.Model, sample map[string]any) ([]OpAgreement, error) {
	it, err := run(m, sample)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	sg := m.Subgraphs[0]
	var cases []litert.Case
	var ours [][]any
	var res []OpAgreement
	for oi, op := range sg.Operators {
		one := &tflite.Model{Version: tflite.SchemaVersion, Buffers: [][]byte{nil}}
		s := &tflite.Subgraph{Name: "op"}
		one.Subgraphs = []*tflite.Subgraph{s}
		remap := map[int]int{}
		c := litert.Case{}
		add := func(ti int, input bool) (int, error) {
			if ti < 0 {
				return -1, nil
			}
			if j, ok := remap[ti]; ok {
				return j, nil
			}
			t := *sg.Tensors[ti]
			t.Buffer = 0
			if d := m.Data(sg.Tensors[ti]); len(d) > 0 {
				t.Buffer = one.AddBuffer(d)
			} else if input {
				v, err := data(it.Tensor(ti))
				if err != nil {
					return 0, err
				}
				a, err := npy.New(v, t.Shape...)
				if err != nil {
					return 0, err
				}
				c.Inputs = append(c.Inputs, a)
				s.Inputs = append(s.Inputs, len(s.Tensors))
			}
			s.Tensors = append(s.Tensors, &t)
			remap[ti] = len(s.Tensors) - 1
			return remap[ti], nil
		}
		nop := *op
		nop.Inputs, nop.Outputs, nop.Intermediates = nil, nil, nil
		for _, ti := range op.Inputs {
			j, err := add(ti, true)
			if err != nil {
				return nil, fmt.Errorf("operator %d: %w", oi, err)
			}
			nop.Inputs = append(nop.Inputs, j)
		}
		var outs []any
		for _, ti := range op.Outputs {
			j, err := add(ti, false)
			if err != nil {
				return nil, fmt.Errorf("operator %d: %w", oi, err)
			}
			nop.Outputs = append(nop.Outputs, j)
			s.Outputs = append(s.Outputs, j)
			v, err := data(it.Tensor(ti))
			if err != nil {
				return nil, fmt.Errorf("operator %d: %w", oi, err)
			}
			outs = append(outs, v)
		}
		s.Operators = []*tflite.Operator{&nop}
		raw, err := one.Marshal()
		if err != nil {
			return nil, fmt.Errorf("operator %d: %w", oi, err)
		}
		c.Model = raw
		cases = append(cases, c)
		ours = append(ours, outs)
		res = append(res, OpAgreement{Index: oi, Op: op.Code.Name(), Name: sg.Tensors[op.Outputs[0]].Name})
	}
	lr, err := litert.Run(cases)
	if err != nil {
		return nil, err
	}
	for i, r := range lr {
		if r.Err != nil {
			return nil, fmt.Errorf("LiteRT failed on operator %d (%s): %w", res[i].Index, res[i].Op, r.Err)
		}
		for k, a := range r.Outputs {
			ag, err := compare(ours[i][k], a, 0)
			if err != nil {
				return nil, fmt.Errorf("operator %d output %d: %w", res[i].Index, k, err)
			}
			res[i].add(ag)
		}
	}
	return res, nil
}

// Total sums per-op agreements.
func Total(ops []OpAgreement) Agreement {
	var t Agreement
	for _, o := range ops {
		t.add(o.Agreement)
	}
	return t
}
