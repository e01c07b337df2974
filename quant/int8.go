package quant

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// OpInfo names one operator of the quantized subgraph's source.
type OpInfo struct {
	Index int    `json:"index"`
	Op    string `json:"op"`
	Name  string `json:"name"` // first output tensor
	// Reason an op stayed float32 ("float ops option", "sensitivity",
	// "TFLite has no int8 DIV", ...).
	Reason string `json:"reason,omitempty"`
}

// Summary describes what Quantize did.
type Summary struct {
	Mode string `json:"mode"`
	// Int8Ops counts ops computed in int8, FloatOps those left float32
	// (Float lists them with the reason), Added the QUANTIZE and
	// DEQUANTIZE ops the rewrite inserted.
	Int8Ops  int      `json:"int8_ops"`
	FloatOps int      `json:"float_ops"`
	Added    int      `json:"added_ops"`
	Float    []OpInfo `json:"float,omitempty"`
	// ConstsKept lists float32 constants the Float16 mode left as they
	// are (values float16 cannot hold).
	ConstsKept []string `json:"consts_kept,omitempty"`
	// Notes report anything else worth knowing (saturated biases, ...).
	Notes []string `json:"notes,omitempty"`
}

// opName is the name of an op for reports: its first output's name.
func opName(sg *tflite.Subgraph, op *tflite.Operator) string {
	if len(op.Outputs) > 0 && op.Outputs[0] >= 0 && op.Outputs[0] < len(sg.Tensors) {
		return sg.Tensors[op.Outputs[0]].Name
	}
	return ""
}

// matchFloatOps returns, per op, the pattern of opts.FloatOps that keeps it
// float; a pattern matching nothing is an error.
func matchFloatOps(sg *tflite.Subgraph, patterns []string) ([]string, error) {
	match := make([]string, len(sg.Operators))
	var missing []string
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		hit := false
		for oi, op := range sg.Operators {
			ok := false
			switch {
			case strings.HasPrefix(p, "#"):
				n, err := strconv.Atoi(p[1:])
				if err != nil {
					return nil, fmt.Errorf("quant: float op %q: bad op index", p)
				}
				ok = n == oi
			case strings.Contains(p, "*"):
				ok = glob(p, opName(sg, op))
			default:
				ok = op.Code.Name() == p || opName(sg, op) == p
			}
			if ok {
				hit = true
				if match[oi] == "" {
					match[oi] = p
				}
			}
		}
		if !hit {
			missing = append(missing, strconv.Quote(p))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoMatch, strings.Join(missing, ", "))
	}
	return match, nil
}

// FloatOpsIn returns the entries of patterns (as Options.FloatOps takes
// them) that match at least one op of the subgraph signature selects in m,
// so that one list can be split over several models: an entry is an
// error only if it matches in none of them.
func FloatOpsIn(m *tflite.Model, signature string, patterns []string) ([]string, error) {
	si, err := subgraphOf(m, signature)
	if err != nil {
		return nil, err
	}
	sg := m.Subgraphs[si]
	var in []string
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if _, err := matchFloatOps(sg, []string{p}); err == nil {
			in = append(in, p)
		} else if !errors.Is(err, ErrNoMatch) {
			return nil, err
		}
	}
	return in, nil
}

// glob matches name against pattern, where '*' stands for any run of
// characters (dots and slashes included).
func glob(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(name) < len(first)+len(last) || !strings.HasPrefix(name, first) || !strings.HasSuffix(name, last) {
		return false
	}
	mid := name[len(first) : len(name)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(mid, p)
		if i < 0 {
			return false
		}
		mid = mid[i+len(p):]
	}
	return true
}

type opMode int

const (
	modePass  opMode = iota // no float32 tensor: copied as is
	modeInt8                // rewritten to int8
	modeFloat               // kept float32
)

type twinKey struct {
	t int
	p qparams
}

// rewriter rewrites one subgraph to int8.
type rewriter struct {
	m      *tflite.Model // the output model (a clone of the source)
	sg     *tflite.Subgraph
	src    *tflite.Subgraph // the source subgraph (unchanged)
	srcM   *tflite.Model
	cal    *Calibration
	opts   *Options
	int8   []bool // per tensor of sg: holds int8 (set by its producer)
	qtwin  map[twinKey]int
	ftwin  map[int]int
	consts map[twinKey]int
	waxis  map[[2]int]int
	ops    []*tflite.Operator // the new operator list
	sum    *Summary
}

// planOps decides, per op, int8, float or pass-through, with reasons.
func planOps(m *tflite.Model, sg *tflite.Subgraph, opts *Options, force map[int]string) ([]opMode, []string, error) {
	match, err := matchFloatOps(sg, opts.FloatOps)
	if err != nil {
		return nil, nil, err
	}
	modes := make([]opMode, len(sg.Operators))
	why := make([]string, len(sg.Operators))
	var unsupported []error
	for oi, op := range sg.Operators {
		hasFloat := false
		for _, list := range [][]int{op.Inputs, op.Outputs} {
			for _, ti := range list {
				if ti >= 0 && sg.Tensors[ti].Type == tflite.Float32 {
					hasFloat = true
				}
			}
		}
		if !hasFloat {
			modes[oi] = modePass
			continue
		}
		r, known := rules[op.Code.Builtin]
		if op.Code.Builtin == schema.BuiltinOperatorCUSTOM {
			known = false
		}
		switch {
		case match[oi] != "":
			modes[oi], why[oi] = modeFloat, "float ops option "+strconv.Quote(match[oi])
		case force[oi] != "":
			modes[oi], why[oi] = modeFloat, force[oi]
		case !known:
			unsupported = append(unsupported, fmt.Errorf("operator %d (%s) %q: no int8 form known to the quantizer", oi, op.Code.Name(), opName(sg, op)))
		case r.kind == kFloatOnly:
			modes[oi], why[oi] = modeFloat, r.why
		case r.kind == kWeighted && !weightsConst(m, sg, op):
			modes[oi], why[oi] = modeFloat, "weights or bias computed at run time"
		default:
			modes[oi] = modeInt8
		}
	}
	if len(unsupported) > 0 {
		return nil, nil, fmt.Errorf("%w (name them in the float ops to keep them float32): %w", ErrUnsupportedOp, errors.Join(unsupported...))
	}
	floatDenominators(m, sg, modes, why)
	return modes, why, nil
}

// floatDenominators keeps float32 the ops that compute the denominator of
// a float DIV: the op writing it and, through an ADD, SUB or MUL with a
// constant (an epsilon, a scale), the op before. A denominator that int8
// rounds to zero turns the division into Inf or NaN, and one that int8
// rounds coarsely carries its relative error straight into the quotient.
func floatDenominators(m *tflite.Model, sg *tflite.Subgraph, modes []opMode, why []string) {
	producer := make([]int, len(sg.Tensors))
	for i := range producer {
		producer[i] = -1
	}
	for oi, op := range sg.Operators {
		for _, ti := range op.Outputs {
			producer[ti] = oi
		}
	}
	for oi, op := range sg.Operators {
		if op.Code.Builtin != schema.BuiltinOperatorDIV || modes[oi] != modeFloat || len(op.Inputs) < 2 || op.Inputs[1] < 0 {
			continue
		}
		ti := op.Inputs[1]
		for depth := 0; depth < 2; depth++ {
			p := producer[ti]
			if p < 0 || modes[p] != modeInt8 {
				break
			}
			modes[p], why[p] = modeFloat, fmt.Sprintf("computes the denominator of DIV #%d", oi)
			pop := sg.Operators[p]
			switch pop.Code.Builtin {
			case schema.BuiltinOperatorADD, schema.BuiltinOperatorSUB, schema.BuiltinOperatorMUL:
			default:
				depth = 2
				continue
			}
			next := -1
			for _, in := range pop.Inputs {
				if in >= 0 && !m.IsConst(sg.Tensors[in]) {
					if next >= 0 {
						next = -2 // two run-time operands: stop here
					} else if next == -1 {
						next = in
					}
				}
			}
			if next < 0 {
				break
			}
			ti = next
		}
	}
}

func weightsConst(m *tflite.Model, sg *tflite.Subgraph, op *tflite.Operator) bool {
	if len(op.Inputs) < 2 || op.Inputs[1] < 0 || !m.IsConst(sg.Tensors[op.Inputs[1]]) || sg.Tensors[op.Inputs[1]].Type != tflite.Float32 {
		return false
	}
	if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
		b := sg.Tensors[op.Inputs[2]]
		return m.IsConst(b) && b.Type == tflite.Float32
	}
	return true
}

// quantizeInt8 rewrites subgraph si of a clone of m; force keeps the listed
// ops float32 (with the reason).
func quantizeInt8(m *tflite.Model, si int, cal *Calibration, opts *Options, force map[int]string) (*tflite.Model, *Summary, error) {
	src := m.Subgraphs[si]
	if cal == nil {
		return nil, nil, fmt.Errorf("%w: int8 needs calibration data", ErrCalibration)
	}
	if cal.Subgraph != si || len(cal.Tensors) != len(src.Tensors) {
		return nil, nil, fmt.Errorf("%w: calibration is for subgraph %d with %d tensors, model subgraph %d has %d", ErrCalibration, cal.Subgraph, len(cal.Tensors), si, len(src.Tensors))
	}
	for ti, s := range cal.Tensors {
		if s != nil && s.Name != src.Tensors[ti].Name {
			return nil, nil, fmt.Errorf("%w: calibration tensor %d is %q, the model's is %q", ErrCalibration, ti, s.Name, src.Tensors[ti].Name)
		}
	}
	if opts.Estimator != MinMax && !cal.Histograms {
		return nil, nil, fmt.Errorf("%w: the %v estimator needs histograms; calibrate with it", ErrCalibration, opts.Estimator)
	}
	modes, why, err := planOps(m, src, opts, force)
	if err != nil {
		return nil, nil, err
	}
	out := cloneModel(m)
	sg := out.Subgraphs[si]
	r := &rewriter{m: out, sg: sg, src: src, srcM: m, cal: cal, opts: opts,
		int8: make([]bool, len(sg.Tensors)), qtwin: map[twinKey]int{}, ftwin: map[int]int{},
		consts: map[twinKey]int{}, waxis: map[[2]int]int{}, sum: &Summary{Mode: Int8.String()}}
	for oi, op := range sg.Operators {
		mode := modes[oi]
		if mode == modeInt8 && rules[op.Code.Builtin].kind == kSame {
			// Data movement follows its input: float in, float out.
			in := op.Inputs[rules[op.Code.Builtin].src]
			if !r.int8[in] && !out.IsConst(sg.Tensors[in]) && sg.Tensors[in].Type == tflite.Float32 {
				mode, why[oi] = modeFloat, "input is float32"
			}
		}
		if mode == modeInt8 && rules[op.Code.Builtin].kind == kAny {
			mode = modePass
		}
		switch mode {
		case modePass:
			r.ops = append(r.ops, op)
		case modeFloat:
			for k, ti := range op.Inputs {
				if ti >= 0 && r.int8[ti] {
					op.Inputs[k] = r.floatTwin(ti)
				}
			}
			r.ops = append(r.ops, op)
			r.sum.FloatOps++
			r.sum.Float = append(r.sum.Float, OpInfo{Index: oi, Op: op.Code.Name(), Name: opName(src, src.Operators[oi]), Reason: why[oi]})
		case modeInt8:
			if err := r.int8Op(oi, op); err != nil {
				return nil, nil, err
			}
			r.sum.Int8Ops++
		}
	}
	// Float32 outputs: the int8 tensor gets a suffix, a DEQUANTIZE gives
	// the output back its name.
	for k, ti := range sg.Outputs {
		if !r.int8[ti] {
			continue
		}
		name := sg.Tensors[ti].Name
		tw := r.floatTwin(ti)
		sg.Tensors[tw].Name = name
		sg.Tensors[ti].Name = name + "/int8"
		sg.Outputs[k] = tw
		for i := range out.SignatureDefs {
			sd := &out.SignatureDefs[i]
			if sd.Subgraph != si {
				continue
			}
			for j := range sd.Outputs {
				if sd.Outputs[j].Tensor == ti {
					sd.Outputs[j].Tensor = tw
				}
			}
		}
	}
	sg.Operators = r.ops
	compact(out)
	if err := out.Validate(); err != nil {
		return nil, nil, fmt.Errorf("quant: the int8 model is invalid (a bug): %w", err)
	}
	return out, r.sum, nil
}

// addTensor appends a tensor to the subgraph.
func (r *rewriter) addTensor(t *tflite.Tensor) int {
	r.sg.Tensors = append(r.sg.Tensors, t)
	r.int8 = append(r.int8, t.Type == tflite.Int8)
	return len(r.sg.Tensors) - 1
}

func (r *rewriter) addOp(code schema.BuiltinOperator, version int32, in, out int) {
	r.ops = append(r.ops, &tflite.Operator{Code: tflite.OpCode{Builtin: code, Version: version}, Inputs: []int{in}, Outputs: []int{out}})
	r.sum.Added++
}

// natural returns the calibrated int8 parameters of a run-time tensor.
func (r *rewriter) natural(ti int) (qparams, error) {
	rg, ok := r.cal.Range(ti, r.opts.Estimator, r.opts.percentile())
	if !ok {
		return qparams{}, fmt.Errorf("%w: no statistics for tensor %d %q", ErrCalibration, ti, r.src.Tensors[ti].Name)
	}
	return paramsFromRange(rg.Lo, rg.Hi), nil
}

// floatTwin returns a float32 tensor holding int8 tensor ti dequantized,
// adding the DEQUANTIZE at the current position the first time.
func (r *rewriter) floatTwin(ti int) int {
	if tw, ok := r.ftwin[ti]; ok {
		return tw
	}
	t := r.sg.Tensors[ti]
	tw := r.addTensor(&tflite.Tensor{Name: t.Name + "/dequant", Type: tflite.Float32, Shape: append([]int{}, t.Shape...)})
	r.addOp(schema.BuiltinOperatorDEQUANTIZE, 2, ti, tw)
	r.ftwin[ti] = tw
	return tw
}

// int8Input returns an int8 tensor holding tensor ti, with parameters want
// (nil: the tensor's own), adding a QUANTIZE (float → int8, or an int8
// requantization) or an int8 constant as needed.
func (r *rewriter) int8Input(ti int, want *qparams) (int, error) {
	t := r.sg.Tensors[ti]
	if r.m.IsConst(t) {
		return r.constInt8(ti, want)
	}
	if r.int8[ti] {
		p := paramsOf(t)
		if want == nil || *want == p {
			return ti, nil
		}
		key := twinKey{ti, *want}
		if tw, ok := r.qtwin[key]; ok {
			return tw, nil
		}
		tw := r.addTensor(&tflite.Tensor{Name: t.Name + "/requant", Type: tflite.Int8, Shape: append([]int{}, t.Shape...), Quant: want.quant()})
		r.addOp(schema.BuiltinOperatorQUANTIZE, 2, ti, tw)
		r.qtwin[key] = tw
		return tw, nil
	}
	if t.Type != tflite.Float32 {
		return 0, fmt.Errorf("quant: tensor %d %q is %v, not float32", ti, t.Name, t.Type)
	}
	p := qparams{}
	if want != nil {
		p = *want
	} else {
		var err error
		if p, err = r.natural(ti); err != nil {
			return 0, err
		}
	}
	key := twinKey{ti, p}
	if tw, ok := r.qtwin[key]; ok {
		return tw, nil
	}
	tw := r.addTensor(&tflite.Tensor{Name: t.Name + "/quant", Type: tflite.Int8, Shape: append([]int{}, t.Shape...), Quant: p.quant()})
	r.addOp(schema.BuiltinOperatorQUANTIZE, 1, ti, tw)
	r.qtwin[key] = tw
	return tw, nil
}

// constInt8 returns a per-tensor int8 copy of float32 constant ti.
func (r *rewriter) constInt8(ti int, want *qparams) (int, error) {
	t := r.sg.Tensors[ti]
	if t.Type != tflite.Float32 {
		return 0, fmt.Errorf("quant: constant %d %q is %v, not float32", ti, t.Name, t.Type)
	}
	v := floats(r.m.Data(t))
	p := qparams{}
	if want != nil {
		p = *want
	} else {
		p = paramsFromRange(dataRange(v))
	}
	key := twinKey{ti, p}
	if c, ok := r.consts[key]; ok {
		return c, nil
	}
	c := r.addTensor(&tflite.Tensor{Name: t.Name, Type: tflite.Int8, Shape: append([]int{}, t.Shape...), Quant: p.quant(),
		Buffer: r.m.AddBuffer(int8Bytes(quantizePerTensor(v, p)))})
	r.consts[key] = c
	return c, nil
}

// weightsInt8 returns a per-axis symmetric int8 copy of weights ti.
func (r *rewriter) weightsInt8(ti, axis int) (int, error) {
	if c, ok := r.waxis[[2]int{ti, axis}]; ok {
		return c, nil
	}
	t := r.sg.Tensors[ti]
	if axis >= len(t.Shape) {
		return 0, fmt.Errorf("quant: weights %d %q of shape %v have no dimension %d", ti, t.Name, t.Shape, axis)
	}
	q, scales := quantizePerAxis(floats(r.m.Data(t)), t.Shape, axis)
	zps := make([]int64, len(scales))
	c := r.addTensor(&tflite.Tensor{Name: t.Name, Type: tflite.Int8, Shape: append([]int{}, t.Shape...),
		Quant: &tflite.Quantization{Scale: scales, ZeroPoint: zps, Dim: axis}, Buffer: r.m.AddBuffer(int8Bytes(q))})
	r.waxis[[2]int{ti, axis}] = c
	return c, nil
}

// setInt8 makes output tensor ti int8 with parameters p.
func (r *rewriter) setInt8(ti int, p qparams) {
	t := r.sg.Tensors[ti]
	t.Type = tflite.Int8
	t.Quant = p.quant()
	r.int8[ti] = true
}

// int8Op rewrites one op to int8.
func (r *rewriter) int8Op(oi int, op *tflite.Operator) error {
	rl := rules[op.Code.Builtin]
	sg := r.sg
	fail := func(err error) error {
		return fmt.Errorf("quant: operator %d (%s) %q: %w", oi, op.Code.Name(), opName(sg, op), err)
	}
	isFloat := func(ti int) bool { return ti >= 0 && sg.Tensors[ti].Type == tflite.Float32 }
	switch rl.kind {
	case kWeighted:
		in, err := r.int8Input(op.Inputs[0], nil)
		if err != nil {
			return fail(err)
		}
		w, err := r.weightsInt8(op.Inputs[1], rl.axis)
		if err != nil {
			return fail(err)
		}
		inP := paramsOf(sg.Tensors[in])
		op.Inputs[0], op.Inputs[1] = in, w
		if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
			bt := sg.Tensors[op.Inputs[2]]
			wq := sg.Tensors[w].Quant
			bv := floats(r.m.Data(bt))
			if len(wq.Scale) != 1 && len(wq.Scale) != len(bv) {
				return fail(fmt.Errorf("bias has %d values for %d weight scales", len(bv), len(wq.Scale)))
			}
			b, scales, clamped := quantizeBias(bv, inP.scale, wq.Scale)
			if clamped > 0 {
				r.sum.Notes = append(r.sum.Notes, fmt.Sprintf("operator %d %q: %d bias values saturated int32", oi, opName(sg, op), clamped))
			}
			bq := &tflite.Quantization{Scale: scales, ZeroPoint: make([]int64, len(scales))}
			if len(scales) == 1 {
				bq.Scale, bq.ZeroPoint = scales[:1], []int64{0}
			}
			op.Inputs[2] = r.addTensor(&tflite.Tensor{Name: bt.Name, Type: tflite.Int32, Shape: append([]int{}, bt.Shape...), Quant: bq,
				Buffer: r.m.AddBuffer(int32Bytes(b))})
		}
		for _, ti := range op.Outputs {
			p, err := r.natural(ti)
			if err != nil {
				return fail(err)
			}
			r.setInt8(ti, p)
		}
	case kFree:
		for k, ti := range op.Inputs {
			if !isFloat(ti) {
				continue
			}
			q, err := r.int8Input(ti, nil)
			if err != nil {
				return fail(err)
			}
			op.Inputs[k] = q
		}
		for _, ti := range op.Outputs {
			if !isFloat(ti) {
				continue
			}
			p, err := r.natural(ti)
			if err != nil {
				return fail(err)
			}
			if lo := r.minOutScale(op); p.scale < lo {
				r.sum.Notes = append(r.sum.Notes, fmt.Sprintf("operator %d (%s) %q: output scale widened from %.3g to %.3g (TFLite's int8 kernel needs it)", oi, op.Code.Name(), opName(sg, op), p.scale, lo))
				p = widen(p, lo)
			}
			r.setInt8(ti, p)
		}
	case kFixed:
		q, err := r.int8Input(op.Inputs[0], nil)
		if err != nil {
			return fail(err)
		}
		op.Inputs[0] = q
		for _, ti := range op.Outputs {
			r.setInt8(ti, qparams{scale: rl.scale, zp: rl.zp})
		}
	case kSame:
		q, err := r.int8Input(op.Inputs[rl.src], nil)
		if err != nil {
			return fail(err)
		}
		op.Inputs[rl.src] = q
		p := paramsOf(sg.Tensors[q])
		for k, ti := range op.Inputs {
			if k != rl.src && isFloat(ti) {
				if op.Inputs[k], err = r.int8Input(ti, &p); err != nil {
					return fail(err)
				}
			}
		}
		for _, ti := range op.Outputs {
			r.setInt8(ti, p)
		}
	case kConcat:
		p, err := r.natural(op.Outputs[0])
		if err != nil {
			return fail(err)
		}
		for k, ti := range op.Inputs {
			q, err := r.int8Input(ti, &p)
			if err != nil {
				return fail(err)
			}
			op.Inputs[k] = q
		}
		r.setInt8(op.Outputs[0], p)
	default:
		return fail(fmt.Errorf("no int8 rule (a bug)"))
	}
	op.Code.Version = max(op.Code.Version, int8Version(op, rl))
	r.ops = append(r.ops, op)
	return nil
}

// minOutScale is the smallest output scale TFLite's int8 kernel of op
// accepts given its (already int8) inputs: ADD and SUB rescale to
// 2·max(input scale)/2^20 and need a multiplier below one from there to the
// output; SQUARED_DIFFERENCE likewise with (2·max)²/2^14.
func (r *rewriter) minOutScale(op *tflite.Operator) float32 {
	var m float64
	for _, ti := range op.Inputs {
		if ti >= 0 && r.int8[ti] {
			m = max(m, float64(r.sg.Tensors[ti].Quant.Scale[0]))
		}
	}
	var lo float64
	switch op.Code.Builtin {
	case schema.BuiltinOperatorADD, schema.BuiltinOperatorSUB:
		lo = 2 * m / (1 << 20)
	case schema.BuiltinOperatorSQUARED_DIFFERENCE:
		lo = 4 * m * m / (1 << 14)
	default:
		return 0
	}
	return float32(lo * (1 + 0x1p-16))
}

// widen returns p with scale s (≥ p.scale) around the same real range start.
func widen(p qparams, s float32) qparams {
	lo := float64(p.scale) * float64(-128-p.zp)
	zp := math.Round(-128 - lo/float64(s))
	return qparams{scale: s, zp: int64(max(-128, min(127, zp)))}
}

// int8Version is the op version TensorFlow's converter gives the int8 op.
func int8Version(op *tflite.Operator, rl rule) int32 {
	v := rl.version
	if op.Code.Builtin == schema.BuiltinOperatorFULLY_CONNECTED {
		if o, ok := op.Options.(*schema.FullyConnectedOptionsT); ok && o.KeepNumDims {
			v = 5
		}
	}
	return v
}
