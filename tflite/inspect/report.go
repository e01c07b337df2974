// Package inspect summarises a validated TFLite model: its inputs and
// outputs, operator counts, constant parameters by element type, and, for
// every operator, whether TFLite's GPU delegate and its XNNPACK delegate
// would accept it, with the reason when they would not.
//
// The delegate rules are a model of the rules in TensorFlow Lite's
// gpu_compatibility.cc / model_builder.cc (GPU delegate v2 with its default
// options, quantized models enabled) and xnnpack_delegate.cc (default flags:
// QS8 and QU8 on, variable ops off), written as tables in rules.go. They
// cover the checks that can be decided from the model file alone (op types,
// element types, ranks, constant operands, options); checks that depend on
// runtime shapes or on the device are not modelled, so a "delegable" verdict
// is necessary, not sufficient.
//
// Analyze is pure: it reads the model and returns a Report that holds no
// references into it, so the Report outlives a memory-mapped tflite.File.
package inspect

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Report is what Analyze finds in a model.
type Report struct {
	// Path is not set by Analyze; callers that read a file may fill it in.
	Path              string `json:"path,omitempty"`
	Version           uint32 `json:"schema_version"`
	Description       string `json:"description,omitempty"`
	MinRuntimeVersion string `json:"min_runtime_version,omitempty"`
	Subgraphs         int    `json:"subgraphs"`
	Operators         int    `json:"operators"`
	Tensors           int    `json:"tensors"`

	// Inputs and Outputs are those of subgraph 0, the one TFLite runs.
	Inputs  []TensorInfo `json:"inputs"`
	Outputs []TensorInfo `json:"outputs"`

	// OpCounts counts operators by name (CONV_2D, CUSTOM:Name) over all subgraphs.
	OpCounts map[string]int `json:"op_counts"`

	// ParamsByDType sums the constant tensors by element type name; each
	// constant buffer is counted once even if several tensors share it.
	ParamsByDType map[string]ParamStats `json:"params_by_dtype"`
	TotalParams   int64                 `json:"total_params"`
	TotalBytes    int64                 `json:"total_param_bytes"`

	// Ops lists every operator in execution order, subgraph by subgraph.
	Ops []OpInfo `json:"ops"`

	// Delegates has one summary per delegate, GPU first, then XNNPACK.
	Delegates []DelegateSummary `json:"delegates"`
}

// TensorInfo describes a tensor.
type TensorInfo struct {
	Index          int        `json:"index"`
	Name           string     `json:"name"`
	DType          string     `json:"dtype"`
	Shape          []int      `json:"shape"`
	ShapeSignature []int      `json:"shape_signature,omitempty"`
	Quant          *QuantInfo `json:"quantization,omitempty"`
}

// QuantInfo is a tensor's affine quantization: real = scale × (q − zero_point).
type QuantInfo struct {
	Scale     []float32 `json:"scale"`
	ZeroPoint []int64   `json:"zero_point"`
	// Dim is the quantized dimension, meaningful with more than one scale.
	Dim int `json:"quantized_dimension,omitempty"`
}

// ParamStats sums constant tensors of one element type.
type ParamStats struct {
	Tensors  int   `json:"tensors"`
	Elements int64 `json:"elements"`
	Bytes    int64 `json:"bytes"`
}

// Operand is one input or output of an operator. Tensor is -1 for an
// omitted optional input, and the other fields are then empty.
type Operand struct {
	Tensor int    `json:"tensor"`
	DType  string `json:"dtype,omitempty"`
	Shape  []int  `json:"shape"`
	Const  bool   `json:"const,omitempty"`
}

// Verdict says whether a delegate accepts an operator; Reason says why not.
type Verdict struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// OpInfo describes one operator and the delegates' verdicts on it.
type OpInfo struct {
	Subgraph int       `json:"subgraph"`
	Index    int       `json:"index"`
	Op       string    `json:"op"`
	Version  int32     `json:"version"`
	Inputs   []Operand `json:"inputs"`
	Outputs  []Operand `json:"outputs"`
	GPU      Verdict   `json:"gpu"`
	XNNPACK  Verdict   `json:"xnnpack"`
}

// DelegateSummary is the verdict of one delegate on the whole model.
//
// A partition is a maximal run of consecutive delegable operators in
// execution order; Partitions counts the runs that would be delegated (the
// CPU runs between them are not counted), summed over subgraphs.
type DelegateSummary struct {
	Name           string `json:"name"`
	FullyDelegable bool   `json:"fully_delegable"`
	Partitions     int    `json:"partitions"`
	// AllPartitions also counts the runs left to the CPU: the number TFLite
	// logs as "Replacing N node(s) with delegate ..., yielding P partitions".
	AllPartitions int `json:"all_partitions"`
	// DelegableOps counts the operators the delegate accepts.
	DelegableOps int `json:"delegable_ops"`
	// LargestPartition is the operator count of the longest run; the GPU
	// delegate's default (max_delegated_partitions = 1) delegates only the
	// longest run of each subgraph.
	LargestPartition int `json:"largest_partition"`
	// Note says when the delegate, with default options, would take fewer
	// operators than DelegableOps.
	Note string `json:"note,omitempty"`
	// FirstUnsupported names the first operator the delegate rejects and why,
	// e.g. "#3 LSTM: op type LSTM not supported by the GPU delegate".
	FirstUnsupported string `json:"first_unsupported,omitempty"`
	// Verdict is the one-line summary: "fully delegable" or
	// "N partitions, first unsupported op: ...".
	Verdict string `json:"verdict"`
}

// Delegate names, in Report.Delegates order.
const (
	GPU     = "GPU"
	XNNPACK = "XNNPACK"
)

// Analyze inspects m, which should have passed tflite validation (every
// index in range).
func Analyze(m *tflite.Model) *Report {
	r := &Report{
		Version:           m.Version,
		Description:       m.Description,
		MinRuntimeVersion: m.MinRuntimeVersion(),
		Subgraphs:         len(m.Subgraphs),
		OpCounts:          map[string]int{},
		ParamsByDType:     map[string]ParamStats{},
		Inputs:            []TensorInfo{},
		Outputs:           []TensorInfo{},
		Ops:               []OpInfo{},
	}
	if len(m.Subgraphs) > 0 {
		sg := m.Subgraphs[0]
		for _, i := range sg.Inputs {
			r.Inputs = append(r.Inputs, tensorInfo(sg, i))
		}
		for _, i := range sg.Outputs {
			r.Outputs = append(r.Outputs, tensorInfo(sg, i))
		}
	}

	seen := map[int]bool{}
	for _, sg := range m.Subgraphs {
		r.Operators += len(sg.Operators)
		r.Tensors += len(sg.Tensors)
		for _, t := range sg.Tensors {
			data := m.Data(t)
			if len(data) == 0 || seen[t.Buffer] {
				continue
			}
			seen[t.Buffer] = true
			s := r.ParamsByDType[t.Type.String()]
			s.Tensors++
			if n := t.NumElements(); n > 0 {
				s.Elements += n
				r.TotalParams += n
			}
			s.Bytes += int64(len(data))
			r.TotalBytes += int64(len(data))
			r.ParamsByDType[t.Type.String()] = s
		}
	}

	gpu := &DelegateSummary{Name: GPU}
	xnn := &DelegateSummary{Name: XNNPACK}
	gpuTaken := 0 // operators the GPU delegate takes with max_delegated_partitions = 1
	for si, sg := range m.Subgraphs {
		g := newGraph(m, sg)
		var pg, px partitioner
		for oi, op := range sg.Operators {
			r.OpCounts[op.Code.Name()]++
			info := OpInfo{Subgraph: si, Index: oi, Op: op.Code.Name(), Version: op.Code.Version,
				Inputs: g.operands(op.Inputs), Outputs: g.operands(op.Outputs)}
			n := &node{g: g, op: op}
			info.GPU = verdict(checkGPU(n))
			info.XNNPACK = verdict(checkXNNPACK(n))
			pg.add(gpu, &info, info.GPU)
			px.add(xnn, &info, info.XNNPACK)
			r.Ops = append(r.Ops, info)
		}
		gpuTaken += pg.largest
	}
	if gpuTaken < gpu.DelegableOps {
		gpu.Note = fmt.Sprintf("with default options (max_delegated_partitions = 1) the GPU delegate takes only the largest partition of each subgraph: %d of %d operators", gpuTaken, r.Operators)
	}
	for _, d := range []*DelegateSummary{gpu, xnn} {
		d.FullyDelegable = d.FirstUnsupported == ""
		if d.FullyDelegable {
			d.Verdict = "fully delegable"
		} else {
			d.Verdict = fmt.Sprintf("%d partition%s, first unsupported op: %s", d.Partitions, plural(d.Partitions), d.FirstUnsupported)
		}
		r.Delegates = append(r.Delegates, *d)
	}
	return r
}

// partitioner follows the runs of one delegate through one subgraph.
type partitioner struct {
	started bool
	inRun   bool // the current run is delegable
	run     int  // length of the current delegable run
	largest int  // longest delegable run in this subgraph
}

// add folds one operator's verdict into the summary.
func (p *partitioner) add(d *DelegateSummary, op *OpInfo, v Verdict) {
	if !p.started || p.inRun != v.OK {
		d.AllPartitions++
		p.started, p.inRun, p.run = true, v.OK, 0
	}
	if !v.OK {
		if d.FirstUnsupported == "" {
			where := ""
			if op.Subgraph != 0 {
				where = fmt.Sprintf("subgraph %d ", op.Subgraph)
			}
			d.FirstUnsupported = fmt.Sprintf("%s#%d %s: %s", where, op.Index, op.Op, v.Reason)
		}
		return
	}
	if p.run == 0 {
		d.Partitions++
	}
	p.run++
	d.DelegableOps++
	p.largest = max(p.largest, p.run)
	d.LargestPartition = max(d.LargestPartition, p.run)
}

func verdict(reason string) Verdict {
	if reason == "" {
		return Verdict{OK: true}
	}
	return Verdict{Reason: reason}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func tensorInfo(sg *tflite.Subgraph, i int) TensorInfo {
	t := sg.Tensors[i]
	ti := TensorInfo{Index: i, Name: t.Name, DType: t.Type.String(), Shape: slices.Clone(t.Shape)}
	if ti.Shape == nil {
		ti.Shape = []int{}
	}
	if t.ShapeSignature != nil && !slices.Equal(t.ShapeSignature, t.Shape) {
		ti.ShapeSignature = slices.Clone(t.ShapeSignature)
	}
	if q := t.Quant; q != nil && len(q.Scale) > 0 {
		ti.Quant = &QuantInfo{Scale: slices.Clone(q.Scale), ZeroPoint: slices.Clone(q.ZeroPoint)}
		if len(q.Scale) > 1 {
			ti.Quant.Dim = q.Dim
		}
		if ti.Quant.ZeroPoint == nil {
			ti.Quant.ZeroPoint = []int64{}
		}
	}
	return ti
}

// graph is one subgraph with what the rules need to know about its tensors.
type graph struct {
	m  *tflite.Model
	sg *tflite.Subgraph
	// static marks tensors whose value is known before inference: constants,
	// and the outputs of DEQUANTIZE/DENSIFY operators over constants, which
	// both delegates unpack ahead of time ("quasi-static" weights, e.g. the
	// float16 weights of a float16-quantized model).
	static []bool
}

func newGraph(m *tflite.Model, sg *tflite.Subgraph) *graph {
	g := &graph{m: m, sg: sg, static: make([]bool, len(sg.Tensors))}
	for i, t := range sg.Tensors {
		g.static[i] = m.IsConst(t) && !t.IsVariable
	}
	for _, op := range sg.Operators {
		switch op.Code.Builtin {
		case schema.BuiltinOperatorDEQUANTIZE, schema.BuiltinOperatorDENSIFY:
			if len(op.Inputs) == 1 && len(op.Outputs) == 1 && op.Inputs[0] >= 0 && g.static[op.Inputs[0]] {
				g.static[op.Outputs[0]] = true
			}
		}
	}
	return g
}

func (g *graph) operands(idx []int) []Operand {
	out := make([]Operand, 0, len(idx))
	for _, i := range idx {
		if i < 0 || i >= len(g.sg.Tensors) {
			out = append(out, Operand{Tensor: -1, Shape: []int{}})
			continue
		}
		t := g.sg.Tensors[i]
		o := Operand{Tensor: i, DType: t.Type.String(), Shape: slices.Clone(t.Shape), Const: g.static[i]}
		if o.Shape == nil {
			o.Shape = []int{}
		}
		out = append(out, o)
	}
	return out
}

// node is one operator being checked.
type node struct {
	g  *graph
	op *tflite.Operator
}

func (n *node) code() schema.BuiltinOperator { return n.op.Code.Builtin }
func (n *node) name() string                 { return n.op.Code.Name() }

// numIn counts the inputs that are present (not omitted with -1).
func (n *node) numIn() int {
	c := 0
	for _, i := range n.op.Inputs {
		if i >= 0 {
			c++
		}
	}
	return c
}

// in returns input k, or nil if it is absent or omitted.
func (n *node) in(k int) *tflite.Tensor {
	if k >= len(n.op.Inputs) || n.op.Inputs[k] < 0 {
		return nil
	}
	return n.g.sg.Tensors[n.op.Inputs[k]]
}

func (n *node) out(k int) *tflite.Tensor {
	if k >= len(n.op.Outputs) || n.op.Outputs[k] < 0 {
		return nil
	}
	return n.g.sg.Tensors[n.op.Outputs[k]]
}

// static reports whether input k is present and known before inference.
func (n *node) static(k int) bool {
	return k < len(n.op.Inputs) && n.op.Inputs[k] >= 0 && n.g.static[n.op.Inputs[k]]
}

// runtimeIn counts inputs computed at run time.
func (n *node) runtimeIn() int {
	c := 0
	for k := range n.op.Inputs {
		if n.op.Inputs[k] >= 0 && !n.static(k) {
			c++
		}
	}
	return c
}

// staticIn counts inputs known before inference.
func (n *node) staticIn() int {
	c := 0
	for k := range n.op.Inputs {
		if n.static(k) {
			c++
		}
	}
	return c
}

// int32s decodes the constant data of input k as int32 values (nil if the
// input is not a constant INT32 tensor).
func (n *node) int32s(k int) []int32 {
	t := n.in(k)
	if t == nil || t.Type != tflite.Int32 {
		return nil
	}
	data := n.g.m.Data(t)
	out := make([]int32, len(data)/4)
	for i := range out {
		out[i] = int32(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
	}
	return out
}

// activation returns the operator's fused activation, if its options have one.
func (n *node) activation() (schema.ActivationFunctionType, bool) {
	if n.op.Options == nil {
		return 0, false
	}
	v := reflect.ValueOf(n.op.Options)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0, false
	}
	f := v.Elem().FieldByName("FusedActivationFunction")
	if !f.IsValid() || f.Type() != reflect.TypeOf(schema.ActivationFunctionType(0)) {
		return 0, false
	}
	return schema.ActivationFunctionType(f.Int()), true
}

func activationName(a schema.ActivationFunctionType) string {
	if s, ok := schema.EnumNamesActivationFunctionType[a]; ok {
		return s
	}
	return fmt.Sprintf("ActivationFunctionType(%d)", int8(a))
}

// exactly reports whether the operator has exactly k inputs, none omitted.
func (n *node) exactly(k int) bool { return len(n.op.Inputs) == k && n.numIn() == k }
