// Package interp is the pure-Go TFLite interpreter, the default backend.
//
// New resolves a kernel for every operator (an unsupported operator or type
// is an error here, naming it), prepares the kernels once (shape checks,
// quantized multipliers, scratch sizes), plans one arena for all run-time
// tensors and scratch with tensor lifetimes, and allocates it. Invoke then
// runs the kernels in order without heap allocations.
package interp

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/lsms-edge/lsms/runtime/backend"
	"github.com/lsms-edge/lsms/runtime/kernels"
	"github.com/lsms-edge/lsms/runtime/plan"
	"github.com/lsms-edge/lsms/tflite"
)

// Options configure an interpreter; see backend.Options.
type Options = backend.Options

// Interpreter runs one subgraph of a model.
type Interpreter struct {
	model    *tflite.Model
	sg       *tflite.Subgraph
	tensors  []*kernels.Tensor
	nodes    []*kernels.Node
	kerns    []kernels.Kernel
	inputs   []int
	outputs  []int
	inNames  map[string]int // signature or tensor name -> position in inputs
	outNames map[string]int
	ctx      kernels.Context
	arena    []byte
	profile  bool
	// skip marks nodes another node's kernel absorbed (kernels.InputFuser);
	// reads[i] are the tensors node i reads, its own inputs and those of
	// the nodes it absorbed.
	skip  []bool
	reads [][]int
	last  []time.Duration
	total []time.Duration
	count int
}

// New prepares an interpreter for m.
func New(m *tflite.Model, opts Options) (*Interpreter, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	sgIdx := 0
	var sig *tflite.SignatureDef
	if opts.Signature != "" {
		s, ok := m.Signature(opts.Signature)
		if !ok {
			return nil, fmt.Errorf("interp: no signature %q", opts.Signature)
		}
		sig, sgIdx = s, s.Subgraph
	}
	sg := m.Subgraphs[sgIdx]
	threads := max(opts.Threads, 1)
	it := &Interpreter{model: m, sg: sg, profile: opts.Profile}
	it.ctx = kernels.Context{Threads: threads, Pool: kernels.NewPool(threads)}

	it.tensors = make([]*kernels.Tensor, len(sg.Tensors))
	for i, t := range sg.Tensors {
		kt, err := convertTensor(m, t)
		if err != nil {
			return nil, fmt.Errorf("interp: subgraph %d tensor %d %q: %w", sgIdx, i, t.Name, err)
		}
		it.tensors[i] = kt
	}

	it.inputs, it.outputs = sg.Inputs, sg.Outputs
	it.inNames, it.outNames = map[string]int{}, map[string]int{}
	if sig != nil {
		it.inputs, it.outputs = nil, nil
		for _, tm := range sig.Inputs {
			it.inNames[tm.Name] = len(it.inputs)
			it.inputs = append(it.inputs, tm.Tensor)
		}
		for _, tm := range sig.Outputs {
			it.outNames[tm.Name] = len(it.outputs)
			it.outputs = append(it.outputs, tm.Tensor)
		}
	}
	for k, ti := range it.inputs {
		if _, dup := it.inNames[sg.Tensors[ti].Name]; !dup {
			it.inNames[sg.Tensors[ti].Name] = k
		}
	}
	for k, ti := range it.outputs {
		if _, dup := it.outNames[sg.Tensors[ti].Name]; !dup {
			it.outNames[sg.Tensors[ti].Name] = k
		}
	}

	// Resolve kernels first so that every unsupported operator is named
	// before any work is done.
	var unsupported []error
	for oi, op := range sg.Operators {
		n := &kernels.Node{Index: oi, Op: op.Code.Builtin, Version: op.Code.Version, Options: op.Options}
		for _, ti := range op.Inputs {
			if ti < 0 {
				n.Inputs = append(n.Inputs, nil)
			} else {
				n.Inputs = append(n.Inputs, it.tensors[ti])
			}
		}
		for _, ti := range op.Outputs {
			n.Outputs = append(n.Outputs, it.tensors[ti])
		}
		it.nodes = append(it.nodes, n)
		f, ok := kernels.Lookup(op.Code.Builtin)
		if !ok || op.Code.Builtin < 0 || op.Code.Custom != "" {
			unsupported = append(unsupported, fmt.Errorf("operator %d (%s): %w: no kernel", oi, op.Code.Name(), kernels.ErrUnsupported))
			it.kerns = append(it.kerns, nil)
			continue
		}
		it.kerns = append(it.kerns, f())
	}
	if len(unsupported) > 0 {
		return nil, fmt.Errorf("interp: %w", errors.Join(unsupported...))
	}

	// Prepare in order; outputs' shapes must agree with the model.
	scratch := make([]int, len(it.nodes))
	for i, n := range it.nodes {
		model := make([][]int, len(n.Outputs))
		for k, t := range n.Outputs {
			model[k] = append([]int{}, t.Shape...)
		}
		s, err := it.kerns[i].Prepare(&it.ctx, n)
		if err != nil {
			return nil, fmt.Errorf("interp: %w", err)
		}
		scratch[i] = s
		for k, t := range n.Outputs {
			if !kernels.SameShape(t.Shape, model[k]) {
				return nil, fmt.Errorf("interp: operator %d (%s): output %d %q has shape %v in the model but the operator computes %v", i, n.Name(), k, t.Name, model[k], t.Shape)
			}
		}
	}

	it.fuse(opts.Planner != "linear")
	if err := it.allocate(opts.Planner, scratch); err != nil {
		return nil, err
	}
	it.last = make([]time.Duration, len(it.nodes))
	it.total = make([]time.Duration, len(it.nodes))
	return it, nil
}

func convertTensor(m *tflite.Model, t *tflite.Tensor) (*kernels.Tensor, error) {
	kt := &kernels.Tensor{Name: t.Name, Type: t.Type, Shape: append([]int{}, t.Shape...)}
	if t.Sparse {
		return nil, fmt.Errorf("%w: sparse tensors", kernels.ErrUnsupported)
	}
	if t.IsVariable {
		return nil, fmt.Errorf("%w: variable tensors", kernels.ErrUnsupported)
	}
	if q := t.Quant; q != nil && len(q.Scale) > 0 {
		kt.Scale = q.Scale
		kt.ZeroPoint = make([]int32, len(q.Scale))
		for i := range q.Scale {
			if i < len(q.ZeroPoint) {
				kt.ZeroPoint[i] = int32(q.ZeroPoint[i])
			}
		}
		kt.QDim = q.Dim
	}
	if data := m.Data(t); len(data) > 0 {
		kt.Const = true
		size := t.Type.Size()
		if size == 0 {
			return nil, fmt.Errorf("%w: constant of type %v", kernels.ErrUnsupported, t.Type)
		}
		if uintptr(unsafe.Pointer(&data[0]))%uintptr(size) != 0 {
			data = alignedCopy(data)
		}
		kt.Data = data
	} else if t.Type.Size() == 0 {
		return nil, fmt.Errorf("%w: tensors of type %v", kernels.ErrUnsupported, t.Type)
	}
	return kt, nil
}

func alignedCopy(b []byte) []byte {
	buf := make([]byte, len(b)+plan.Align)
	off := int(uintptr(plan.Align)-uintptr(unsafe.Pointer(&buf[0]))%plan.Align) % plan.Align
	out := buf[off : off+len(b) : off+len(b)]
	copy(out, b)
	return out
}

// graphIO marks the tensors that are inputs or outputs of the subgraph or
// of the selected signature.
func (it *Interpreter) graphIO() []bool {
	io := make([]bool, len(it.tensors))
	for _, ti := range slices.Concat(it.sg.Inputs, it.inputs, it.sg.Outputs, it.outputs) {
		io[ti] = true
	}
	return io
}

// fuse offers each kernels.InputFuser the producers of its inputs that
// only it reads (not graph inputs or outputs, not already absorbed) and
// records what it takes; with on false (the linear planner, which keeps
// every tensor for inspection) it fuses nothing.
func (it *Interpreter) fuse(on bool) {
	ops := it.sg.Operators
	it.skip = make([]bool, len(ops))
	it.reads = make([][]int, len(ops))
	if !on {
		for oi, op := range ops {
			it.reads[oi] = op.Inputs
		}
		return
	}
	producer := make([]int, len(it.tensors))
	readers := make([]int, len(it.tensors))
	for i := range producer {
		producer[i] = -1
	}
	for oi, op := range ops {
		it.reads[oi] = slices.Clone(op.Inputs)
		for _, ti := range op.Outputs {
			producer[ti] = oi
		}
		for _, ti := range op.Inputs {
			if ti >= 0 {
				readers[ti]++
			}
		}
	}
	for ti, io := range it.graphIO() {
		if io {
			readers[ti] += 2 // never absorbed
		}
	}
	for oi, op := range ops {
		f, ok := it.kerns[oi].(kernels.InputFuser)
		if !ok {
			continue
		}
		prods := make([]*kernels.Node, len(op.Inputs))
		for j, ti := range op.Inputs {
			if ti >= 0 && producer[ti] >= 0 && readers[ti] == 1 && !it.skip[producer[ti]] &&
				len(ops[producer[ti]].Outputs) == 1 {
				prods[j] = it.nodes[producer[ti]]
			}
		}
		for _, p := range f.FuseInputs(it.nodes[oi], prods) {
			it.skip[p.Index] = true
			it.reads[oi] = append(it.reads[oi], it.reads[p.Index]...)
		}
	}
}

// allocate plans the arena: run-time tensors live from their producer (or
// the start, for graph inputs) to their last consumer (or the end, for
// graph outputs); each node's scratch lives during that node.
func (it *Interpreter) allocate(planner string, scratch []int) error {
	var p plan.Planner
	switch planner {
	case "", "greedy":
		p = plan.NewGreedy()
	case "linear":
		p = plan.NewLinear()
	default:
		return fmt.Errorf("interp: unknown planner %q (greedy, linear)", planner)
	}
	nOps := len(it.nodes)
	first := make([]int, len(it.tensors))
	last := make([]int, len(it.tensors))
	for i := range first {
		first[i], last[i] = -1, -1
	}
	for _, ti := range it.sg.Inputs {
		first[ti], last[ti] = 0, nOps
	}
	for _, ti := range it.inputs {
		first[ti], last[ti] = 0, nOps
	}
	for oi, op := range it.sg.Operators {
		if it.skip[oi] {
			continue // absorbed: its outputs are never written
		}
		for _, ti := range op.Outputs {
			if first[ti] < 0 {
				first[ti] = oi
			}
			last[ti] = max(last[ti], oi)
		}
		for _, ti := range it.reads[oi] {
			if ti >= 0 && last[ti] >= 0 {
				last[ti] = max(last[ti], oi)
			}
		}
	}
	for _, ti := range append(append([]int{}, it.sg.Outputs...), it.outputs...) {
		if first[ti] < 0 {
			first[ti] = 0
		}
		last[ti] = nOps
	}
	// In-place operators (kernels.InPlacer: RESHAPE and the like) give
	// their output their input's buffer, which then lives until the
	// output's last use. Tensors are written once, by their producer, so
	// the two never disagree. Graph inputs and outputs keep buffers of
	// their own.
	alias := make([]int, len(it.tensors)) // tensor whose buffer i uses, or -1
	for i := range alias {
		alias[i] = -1
	}
	io := it.graphIO()
	for oi, op := range it.sg.Operators {
		ip, ok := it.kerns[oi].(kernels.InPlacer)
		if !ok || !ip.InPlace() || len(op.Inputs) == 0 || len(op.Outputs) != 1 || op.Inputs[0] < 0 {
			continue
		}
		src, dst := op.Inputs[0], op.Outputs[0]
		if io[src] || io[dst] || it.tensors[src].Const || it.tensors[dst].Const || first[src] < 0 ||
			it.tensors[src].Bytes() != it.tensors[dst].Bytes() || alias[dst] >= 0 {
			continue
		}
		root := src
		if alias[root] >= 0 {
			root = alias[root]
		}
		alias[dst] = root
		last[root] = max(last[root], last[dst])
	}
	ids := make([]int, len(it.tensors))
	for i, t := range it.tensors {
		ids[i] = -1
		if t.Const || first[i] < 0 || alias[i] >= 0 {
			continue
		}
		ids[i] = p.Add(t.Bytes(), first[i], last[i])
	}
	sids := make([]int, len(scratch))
	for i, s := range scratch {
		sids[i] = -1
		if s > 0 {
			sids[i] = p.Add(s, i, i)
		}
	}
	if err := p.Plan(); err != nil {
		return err
	}
	buf := make([]byte, p.Size()+plan.Align)
	off := int(uintptr(plan.Align)-uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%plan.Align) % plan.Align
	it.arena = buf[off : off+p.Size()]
	for i, t := range it.tensors {
		if ids[i] >= 0 {
			o := p.Offset(ids[i])
			t.Data = it.arena[o : o+t.Bytes() : o+t.Bytes()]
		}
	}
	for i, t := range it.tensors {
		if r := alias[i]; r >= 0 {
			t.Data = it.tensors[r].Data
		}
	}
	for i, s := range scratch {
		if sids[i] >= 0 {
			o := p.Offset(sids[i])
			it.nodes[i].Scratch = it.arena[o : o+s : o+s]
		}
	}
	return nil
}

// Invoke runs every operator once.
func (it *Interpreter) Invoke() error {
	it.ctx.Invocation++
	for i, n := range it.nodes {
		if it.skip[i] {
			continue
		}
		var t0 time.Time
		if it.profile {
			t0 = time.Now()
		}
		if err := it.kerns[i].Eval(&it.ctx, n); err != nil {
			return fmt.Errorf("interp: %w", err)
		}
		if it.profile {
			d := time.Since(t0)
			it.last[i] = d
			it.total[i] += d
		}
	}
	it.count++
	return nil
}

// NumInputs is the number of inputs.
func (it *Interpreter) NumInputs() int { return len(it.inputs) }

// NumOutputs is the number of outputs.
func (it *Interpreter) NumOutputs() int { return len(it.outputs) }

// InputTensor returns input i; write its data before Invoke.
func (it *Interpreter) InputTensor(i int) *kernels.Tensor { return it.tensors[it.inputs[i]] }

// OutputTensor returns output i; its data is valid after Invoke.
func (it *Interpreter) OutputTensor(i int) *kernels.Tensor { return it.tensors[it.outputs[i]] }

// InputIndex finds an input by signature name or tensor name.
func (it *Interpreter) InputIndex(name string) (int, bool) {
	i, ok := it.inNames[name]
	return i, ok
}

// OutputIndex finds an output by signature name or tensor name.
func (it *Interpreter) OutputIndex(name string) (int, bool) {
	i, ok := it.outNames[name]
	return i, ok
}

// Tensor returns a subgraph tensor by index (for debugging with the linear planner).
func (it *Interpreter) Tensor(i int) *kernels.Tensor { return it.tensors[i] }

// ArenaBytes is the planned arena size.
func (it *Interpreter) ArenaBytes() int { return len(it.arena) }

// Close releases the worker goroutines.
func (it *Interpreter) Close() error {
	it.ctx.Pool.Close()
	return nil
}
