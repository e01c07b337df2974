package quant

import (
	"fmt"
	"math"
	"sort"

	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/runtime/kernels"
	"github.com/lsms-edge/lsms/tflite"
)

// WorstLayers is how many layers Report.Worst lists.
const WorstLayers = 10

// pair is one tensor present in both models.
type pair struct {
	f, q   int // tensor indices in the float and quantized subgraphs
	op     int // producing op in the float subgraph (−1 for inputs)
	acc    TensorError
	signal float64
	noise  float64
}

// Compare runs the float model and the quantized model on inputs 0..n−1 of
// data (skipping, in Report.Skipped, those on which the float model's
// outputs are not finite) and measures, for every tensor computed at run time that both
// subgraphs have (same name, same element count; int8 tensors are
// dequantized), the SQNR of the quantized values against the float ones.
// The report holds every such tensor in float graph order, the model
// outputs, the WorstLayers op outputs of least SQNR and both model sizes.
// opts.Signature selects the subgraph of both; opts.Progress is called with
// stage "compare".
func Compare(float, quant *tflite.Model, data Dataset, n int, opts Options) (*Report, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	rep := &Report{Mode: opts.Mode.String()}
	if err := rep.sizes(float, quant); err != nil {
		return nil, err
	}
	if n <= 0 {
		return rep, nil
	}
	fsi, err := subgraphOf(float, opts.Signature)
	if err != nil {
		return nil, err
	}
	qsi, err := subgraphOf(quant, opts.Signature)
	if err != nil {
		return nil, err
	}
	fsg, qsg := float.Subgraphs[fsi], quant.Subgraphs[qsi]
	iopts := interp.Options{Threads: max(opts.Threads, 1), Planner: "linear", Signature: opts.Signature}
	fit, err := interp.New(float, iopts)
	if err != nil {
		return nil, fmt.Errorf("quant: compare: float model: %w", err)
	}
	defer fit.Close()
	qit, err := interp.New(quant, iopts)
	if err != nil {
		return nil, fmt.Errorf("quant: compare: quantized model: %w", err)
	}
	defer qit.Close()

	producer := make([]int, len(fsg.Tensors))
	for i := range producer {
		producer[i] = -1
	}
	for oi, op := range fsg.Operators {
		for _, ti := range op.Outputs {
			producer[ti] = oi
		}
	}
	qByName := map[string]int{}
	dup := map[string]bool{}
	for ti, t := range qsg.Tensors {
		if quant.IsConst(t) {
			continue
		}
		if _, ok := qByName[t.Name]; ok {
			dup[t.Name] = true
		}
		qByName[t.Name] = ti
	}
	var pairs []*pair
	for _, fi := range runtimeFloatTensors(float, fsg) {
		ft := fsg.Tensors[fi]
		qi, ok := qByName[ft.Name]
		if !ok || dup[ft.Name] {
			continue
		}
		qt := qsg.Tensors[qi]
		if qt.NumElements() != ft.NumElements() {
			continue
		}
		switch {
		case qt.Type == tflite.Float32:
		case qt.Type == tflite.Int8 && qt.Quant != nil && len(qt.Quant.Scale) == 1:
		default:
			continue
		}
		p := &pair{f: fi, q: qi, op: producer[fi]}
		p.acc = TensorError{Name: ft.Name, OpIndex: p.op, Type: qt.Type.String(), Elements: int(ft.NumElements())}
		if p.op >= 0 {
			p.acc.Op = fsg.Operators[p.op].Code.Name()
		}
		pairs = append(pairs, p)
	}
	outputs := map[int]bool{}
	for k := range fit.NumOutputs() {
		for _, p := range pairs {
			if fit.OutputTensor(k) == fit.Tensor(p.f) {
				outputs[p.f] = true
			}
		}
	}

	opts.progress("compare", 0, n)
	for i := range n {
		in, err := data(i)
		if err != nil {
			return nil, fmt.Errorf("quant: compare: input %d: %w", i, err)
		}
		for _, it := range []*interp.Interpreter{fit, qit} {
			if err := feed(it, in); err != nil {
				return nil, fmt.Errorf("quant: compare: input %d: %w", i, err)
			}
			if err := it.Invoke(); err != nil {
				return nil, fmt.Errorf("quant: compare: input %d: %w", i, err)
			}
		}
		if !finiteOutputs(fit) {
			rep.Skipped = append(rep.Skipped, i)
			opts.progress("compare", i+1, n)
			continue
		}
		rep.Inputs++
		ie := InputError{Input: i}
		for _, p := range pairs {
			sig, noise := p.add(fit.Tensor(p.f), qit.Tensor(p.q))
			if outputs[p.f] {
				ie.signal += sig
				ie.noise += noise
			}
		}
		ie.SQNR = sqnr(ie.signal, ie.noise)
		rep.PerInput = append(rep.PerInput, ie)
		opts.progress("compare", i+1, n)
	}
	for _, p := range pairs {
		e := p.acc
		e.SQNR = sqnr(p.signal, p.noise)
		e.RMS = math.Sqrt(p.signal / float64(max(1, e.Elements*rep.Inputs)))
		rep.Tensors = append(rep.Tensors, e)
		if outputs[p.f] {
			rep.Outputs = append(rep.Outputs, e)
		}
	}
	var layers []TensorError
	for _, e := range rep.Tensors {
		if e.OpIndex >= 0 {
			layers = append(layers, e)
		}
	}
	sort.SliceStable(layers, func(a, b int) bool { return layers[a].SQNR < layers[b].SQNR })
	rep.Worst = layers[:min(WorstLayers, len(layers))]
	return rep, nil
}

// add accumulates one run's values and returns this run's sums.
func (p *pair) add(f, q *kernels.Tensor) (signal, noise float64) {
	fv := f.F32()[:f.NumElements()]
	maxErr := p.acc.MaxAbsErr
	one := func(ref, got float64) {
		if math.IsNaN(ref) || math.IsInf(ref, 0) {
			return
		}
		d := got - ref
		signal += ref * ref
		noise += d * d
		if a := math.Abs(d); a > maxErr || math.IsNaN(a) {
			maxErr = a
		}
	}
	switch q.Type {
	case tflite.Float32:
		for j, x := range q.F32()[:q.NumElements()] {
			one(float64(fv[j]), float64(x))
		}
	case tflite.Int8:
		s, zp := float64(q.Scale[0]), q.ZeroPoint[0]
		for j, x := range q.I8()[:q.NumElements()] {
			one(float64(fv[j]), s*float64(int32(x)-zp))
		}
	}
	p.signal += signal
	p.noise += noise
	p.acc.MaxAbsErr = maxErr
	return signal, noise
}

// sizes fills the serialized model sizes.
func (r *Report) sizes(float, quant *tflite.Model) error {
	fb, err := float.Marshal()
	if err != nil {
		return fmt.Errorf("quant: float model: %w", err)
	}
	qb, err := quant.Marshal()
	if err != nil {
		return fmt.Errorf("quant: quantized model: %w", err)
	}
	r.FloatBytes, r.QuantBytes = len(fb), len(qb)
	r.SizeRatio = float64(len(qb)) / float64(len(fb))
	return nil
}
