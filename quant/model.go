package quant

import (
	"slices"

	"github.com/lsms-edge/lsms/tflite"
)

// cloneModel copies m deeply enough that subgraphs, tensors, operators and
// signature defs can be changed; constant buffers are shared (read-only).
func cloneModel(m *tflite.Model) *tflite.Model {
	c := &tflite.Model{Version: m.Version, Description: m.Description}
	c.Buffers = slices.Clone(m.Buffers)
	if len(c.Buffers) == 0 {
		c.Buffers = [][]byte{nil}
	}
	c.Metadata = slices.Clone(m.Metadata)
	for _, sd := range m.SignatureDefs {
		sd.Inputs = slices.Clone(sd.Inputs)
		sd.Outputs = slices.Clone(sd.Outputs)
		c.SignatureDefs = append(c.SignatureDefs, sd)
	}
	for _, sg := range m.Subgraphs {
		n := &tflite.Subgraph{Name: sg.Name, Inputs: slices.Clone(sg.Inputs), Outputs: slices.Clone(sg.Outputs)}
		for _, t := range sg.Tensors {
			n.Tensors = append(n.Tensors, cloneTensor(t))
		}
		for _, op := range sg.Operators {
			n.Operators = append(n.Operators, cloneOp(op))
		}
		c.Subgraphs = append(c.Subgraphs, n)
	}
	return c
}

func cloneTensor(t *tflite.Tensor) *tflite.Tensor {
	c := *t
	c.Shape = slices.Clone(t.Shape)
	c.ShapeSignature = slices.Clone(t.ShapeSignature)
	if t.Quant != nil {
		q := *t.Quant
		q.Scale = slices.Clone(q.Scale)
		q.ZeroPoint = slices.Clone(q.ZeroPoint)
		q.Min = slices.Clone(q.Min)
		q.Max = slices.Clone(q.Max)
		c.Quant = &q
	}
	return &c
}

func cloneOp(op *tflite.Operator) *tflite.Operator {
	c := *op
	c.Inputs = slices.Clone(op.Inputs)
	c.Outputs = slices.Clone(op.Outputs)
	c.Intermediates = slices.Clone(op.Intermediates)
	c.CustomOptions = slices.Clone(op.CustomOptions)
	return &c
}

// compact drops tensors nothing refers to and buffers no tensor or
// metadata entry refers to, renumbering what is left (order kept).
func compact(m *tflite.Model) {
	for si, sg := range m.Subgraphs {
		used := make([]bool, len(sg.Tensors))
		mark := func(ts []int) {
			for _, ti := range ts {
				if ti >= 0 && ti < len(used) {
					used[ti] = true
				}
			}
		}
		mark(sg.Inputs)
		mark(sg.Outputs)
		for _, op := range sg.Operators {
			mark(op.Inputs)
			mark(op.Outputs)
			mark(op.Intermediates)
		}
		for _, sd := range m.SignatureDefs {
			if sd.Subgraph == si {
				for _, tm := range sd.Inputs {
					used[tm.Tensor] = true
				}
				for _, tm := range sd.Outputs {
					used[tm.Tensor] = true
				}
			}
		}
		remap := make([]int, len(sg.Tensors))
		var kept []*tflite.Tensor
		for ti, t := range sg.Tensors {
			remap[ti] = -1
			if used[ti] {
				remap[ti] = len(kept)
				kept = append(kept, t)
			}
		}
		re := func(ts []int) {
			for i, ti := range ts {
				if ti >= 0 {
					ts[i] = remap[ti]
				}
			}
		}
		sg.Tensors = kept
		re(sg.Inputs)
		re(sg.Outputs)
		for _, op := range sg.Operators {
			re(op.Inputs)
			re(op.Outputs)
			re(op.Intermediates)
		}
		for i := range m.SignatureDefs {
			sd := &m.SignatureDefs[i]
			if sd.Subgraph != si {
				continue
			}
			for k := range sd.Inputs {
				sd.Inputs[k].Tensor = remap[sd.Inputs[k].Tensor]
			}
			for k := range sd.Outputs {
				sd.Outputs[k].Tensor = remap[sd.Outputs[k].Tensor]
			}
		}
	}
	// Buffers.
	bufs := [][]byte{nil}
	bremap := map[int]int{0: 0}
	take := func(b int) int {
		if b <= 0 || b >= len(m.Buffers) {
			return 0
		}
		if nb, ok := bremap[b]; ok {
			return nb
		}
		bufs = append(bufs, m.Buffers[b])
		bremap[b] = len(bufs) - 1
		return len(bufs) - 1
	}
	for _, sg := range m.Subgraphs {
		for _, t := range sg.Tensors {
			t.Buffer = take(t.Buffer)
		}
	}
	for i := range m.Metadata {
		b := m.Metadata[i].Buffer
		if b <= 0 || b >= len(m.Buffers) {
			continue
		}
		if nb, ok := bremap[b]; ok {
			m.Metadata[i].Buffer = nb
			continue
		}
		bufs = append(bufs, m.Buffers[b])
		bremap[b] = len(bufs) - 1
		m.Metadata[i].Buffer = len(bufs) - 1
	}
	m.Buffers = bufs
}
