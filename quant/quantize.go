package quant

import (
	"fmt"
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// DynamicMinElements is the smallest constant the Dynamic mode stores as
// int8 unless it is the weights of a CONV_2D, DEPTHWISE_CONV_2D or
// FULLY_CONNECTED (TensorFlow's dynamic-range quantizer uses the same
// threshold).
const DynamicMinElements = 1024

// Quantize rewrites the float32 model m as opts.Mode says and returns the
// new model (m is not changed) and what was done.
//
// Int8 quantizes the subgraph opts.Signature selects (subgraph 0 when
// empty) with the ranges of cal (from Calibrate on the same model) and
// opts.Estimator; with opts.AutoFloat > 0, cal.Sensitivity (from
// Sensitivity) names the ops to keep float32. Float16 and Dynamic need no
// calibration (cal may be nil) and rewrite the selected subgraph, or every
// subgraph when opts.Signature is empty.
func Quantize(m *tflite.Model, cal *Calibration, opts Options) (*tflite.Model, *Summary, error) {
	if err := opts.check(); err != nil {
		return nil, nil, err
	}
	if err := checkFloat(m); err != nil {
		return nil, nil, err
	}
	si, err := subgraphOf(m, opts.Signature)
	if err != nil {
		return nil, nil, err
	}
	switch opts.Mode {
	case Int8:
		var force map[int]string
		if opts.AutoFloat > 0 {
			if cal == nil || cal.Sensitivity == nil {
				return nil, nil, fmt.Errorf("%w: AutoFloat needs the sensitivity search (Sensitivity) in the calibration", ErrCalibration)
			}
			force = map[int]string{}
			for i, s := range cal.Sensitivity {
				if i >= opts.AutoFloat {
					break
				}
				force[s.Index] = fmt.Sprintf("sensitivity: output SQNR %.1f dB when quantized alone", float64(s.SQNR))
			}
		}
		return quantizeInt8(m, si, cal, &opts, force)
	case Float16, Dynamic:
		sgs := []int{si}
		if opts.Signature == "" {
			sgs = sgs[:0]
			for i := range m.Subgraphs {
				sgs = append(sgs, i)
			}
		}
		return rewriteConsts(m, sgs, opts.Mode)
	}
	return nil, nil, fmt.Errorf("quant: unknown mode %v", opts.Mode)
}

// rewriteConsts stores float32 constants of the given subgraphs as float16
// (Float16) or int8 (Dynamic), each read through a DEQUANTIZE placed at the
// start of the subgraph.
func rewriteConsts(m *tflite.Model, sgs []int, mode Mode) (*tflite.Model, *Summary, error) {
	out := cloneModel(m)
	sum := &Summary{Mode: mode.String()}
	for _, si := range sgs {
		sg := out.Subgraphs[si]
		// What each constant is to its consumers: weights axis, if any.
		axis := map[int]int{}
		used := map[int]bool{}
		for _, op := range sg.Operators {
			for k, ti := range op.Inputs {
				if ti < 0 {
					continue
				}
				used[ti] = true
				if r, ok := rules[op.Code.Builtin]; ok && r.kind == kWeighted && k == 1 {
					if _, seen := axis[ti]; !seen {
						axis[ti] = r.axis
					}
				}
			}
		}
		isOutput := map[int]bool{}
		for _, ti := range sg.Outputs {
			isOutput[ti] = true
		}
		var deq []*tflite.Operator
		n := len(sg.Tensors)
		for ti := range n {
			t := sg.Tensors[ti]
			if t.Type != tflite.Float32 || !out.IsConst(t) || !used[ti] || isOutput[ti] || t.IsVariable || t.Sparse {
				continue
			}
			v := floats(out.Data(t))
			var nt *tflite.Tensor
			var version int32
			switch mode {
			case Float16:
				h, ok := toHalf(v)
				if !ok {
					sum.ConstsKept = append(sum.ConstsKept, t.Name)
					continue
				}
				raw, _, _ := tflite.EncodeData(h)
				nt = &tflite.Tensor{Name: t.Name + "/fp16", Type: tflite.Float16, Shape: append([]int{}, t.Shape...), Buffer: out.AddBuffer(raw)}
				version = 3
			case Dynamic:
				ax, weights := axis[ti]
				if !weights && len(v) < DynamicMinElements {
					continue
				}
				var q []int8
				var scales []float32
				if !weights && len(t.Shape) < 2 {
					// Symmetric per tensor.
					q, scales = quantizePerAxis(v, []int{1, len(v)}, 0)
				} else {
					q, scales = quantizePerAxis(v, t.Shape, ax)
				}
				quant := &tflite.Quantization{Scale: scales, ZeroPoint: make([]int64, len(scales)), Dim: ax}
				if len(scales) == 1 {
					quant.Dim = 0
				}
				nt = &tflite.Tensor{Name: t.Name + "/int8", Type: tflite.Int8, Shape: append([]int{}, t.Shape...), Quant: quant, Buffer: out.AddBuffer(int8Bytes(q))}
				version = 2
			}
			sg.Tensors = append(sg.Tensors, nt)
			t.Buffer = 0
			deq = append(deq, &tflite.Operator{Code: tflite.OpCode{Builtin: schema.BuiltinOperatorDEQUANTIZE, Version: version}, Inputs: []int{len(sg.Tensors) - 1}, Outputs: []int{ti}})
		}
		sg.Operators = append(deq, sg.Operators...)
		sum.Added += len(deq)
	}
	compact(out)
	if err := out.Validate(); err != nil {
		return nil, nil, fmt.Errorf("quant: the %v model is invalid (a bug): %w", mode, err)
	}
	return out, sum, nil
}

// toHalf converts v to float16 bits, or reports false when a value would
// overflow or some value would change by more than 2^-10 of the largest
// magnitude in v (float16 rounding moves a normal value by at most 2^-11
// of itself; this catches values lost to underflow, such as a lone 1e-12).
func toHalf(v []float32) ([]uint16, bool) {
	out := make([]uint16, len(v))
	maxAbs := 0.0
	for _, x := range v {
		if f := math.Abs(float64(x)); !math.IsInf(f, 0) && f > maxAbs {
			maxAbs = f
		}
	}
	for i, x := range v {
		h := float32ToHalf(x)
		out[i] = h
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		back := float64(halfToFloat32(h))
		if math.IsInf(back, 0) || math.Abs(back-f) > 0x1p-10*maxAbs {
			return nil, false
		}
	}
	return out, true
}
