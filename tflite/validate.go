package tflite

import (
	"math"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// MaxRank is the largest tensor rank accepted.
const MaxRank = 16

// Validate checks that every index is in range, every constant buffer has
// the size its tensor's shape and type need, shape arithmetic does not
// overflow, quantization parameters are consistent, and each subgraph's
// operators are in an order where every input exists before it is used
// (which also rules out cycles). The first problem is returned as a
// *ValidationError.
func (m *Model) Validate() error {
	if m.Version != SchemaVersion {
		return top.unsupportedf("schema version %d, want %d", m.Version, SchemaVersion)
	}
	if len(m.Subgraphs) == 0 {
		return top.errf("model has no subgraphs")
	}
	if len(m.Buffers) > 0 && len(m.Buffers[0]) != 0 {
		return top.errf("buffer 0 must be empty, holds %d bytes", len(m.Buffers[0]))
	}
	for i, md := range m.Metadata {
		if md.Buffer < 0 || md.Buffer >= len(m.Buffers) {
			return top.errf("metadata %d %q: buffer %d out of range [0,%d)", i, md.Name, md.Buffer, len(m.Buffers))
		}
	}
	for si, sg := range m.Subgraphs {
		if sg == nil {
			return top.subgraph(si).errf("nil subgraph")
		}
		if err := m.validateSubgraph(si, sg); err != nil {
			return err
		}
	}
	for i, sd := range m.SignatureDefs {
		if sd.Subgraph < 0 || sd.Subgraph >= len(m.Subgraphs) {
			return top.errf("signature %d %q: subgraph %d out of range [0,%d)", i, sd.Key, sd.Subgraph, len(m.Subgraphs))
		}
		n := len(m.Subgraphs[sd.Subgraph].Tensors)
		for _, list := range [][]TensorMap{sd.Inputs, sd.Outputs} {
			for _, tm := range list {
				if tm.Tensor < 0 || tm.Tensor >= n {
					return top.subgraph(sd.Subgraph).errf("signature %q entry %q: tensor %d out of range [0,%d)", sd.Key, tm.Name, tm.Tensor, n)
				}
			}
		}
	}
	return nil
}

func (m *Model) validateSubgraph(si int, sg *Subgraph) error {
	w := top.subgraph(si)
	nt := len(sg.Tensors)
	for ti, t := range sg.Tensors {
		if t == nil {
			return w.tensor(ti, "").errf("nil tensor")
		}
		if err := m.validateTensor(w.tensor(ti, t.Name), t); err != nil {
			return err
		}
	}
	ready := make([]bool, nt)
	for _, list := range []struct {
		what string
		idx  []int
	}{{"input", sg.Inputs}, {"output", sg.Outputs}} {
		for k, ti := range list.idx {
			if ti < 0 || ti >= nt {
				return w.errf("%s %d: tensor %d out of range [0,%d)", list.what, k, ti, nt)
			}
		}
	}
	for _, ti := range sg.Inputs {
		ready[ti] = true
	}
	for ti, t := range sg.Tensors {
		if t.IsVariable || m.IsConst(t) || t.NumElements() == 0 {
			ready[ti] = true
		}
	}
	produced := make([]int, nt)
	for i := range produced {
		produced[i] = -1
	}
	for oi, op := range sg.Operators {
		if op == nil {
			return w.operator(oi, "").errf("nil operator")
		}
		ow := w.operator(oi, op.Code.Name())
		if op.Code.Builtin < 0 {
			return ow.errf("negative builtin code %d", int32(op.Code.Builtin))
		}
		if op.Code.Builtin == schema.BuiltinOperatorCUSTOM && op.Code.Custom == "" {
			return ow.errf("custom operator without a custom code")
		}
		if _, _, err := optionsTag(op.Options); err != nil {
			return ow.errf("%v", err)
		}
		for k, ti := range op.Inputs {
			if ti == -1 {
				continue
			}
			if ti < 0 || ti >= nt {
				return ow.errf("input %d: tensor %d out of range [0,%d)", k, ti, nt)
			}
			if !ready[ti] {
				return ow.tensor(ti, sg.Tensors[ti].Name).errf("input %d is used before any operator produces it (operators out of order or in a cycle)", k)
			}
		}
		for k, ti := range op.Intermediates {
			if ti < 0 || ti >= nt {
				return ow.errf("intermediate %d: tensor %d out of range [0,%d)", k, ti, nt)
			}
		}
		for k, ti := range op.Outputs {
			if ti < 0 || ti >= nt {
				return ow.errf("output %d: tensor %d out of range [0,%d)", k, ti, nt)
			}
			t := sg.Tensors[ti]
			if produced[ti] >= 0 {
				return ow.tensor(ti, t.Name).errf("output %d is already produced by operator %d", k, produced[ti])
			}
			if m.IsConst(t) && !t.IsVariable {
				return ow.tensor(ti, t.Name).errf("output %d is a constant tensor", k)
			}
			produced[ti] = oi
			ready[ti] = true
		}
	}
	for k, ti := range sg.Outputs {
		if !ready[ti] {
			return w.tensor(ti, sg.Tensors[ti].Name).errf("subgraph output %d is never produced", k)
		}
	}
	return nil
}

func (m *Model) validateTensor(w where, t *Tensor) error {
	if !t.Type.Valid() {
		return w.errf("unknown tensor type %d", int8(t.Type))
	}
	if len(t.Shape) > MaxRank {
		return w.errf("rank %d exceeds %d", len(t.Shape), MaxRank)
	}
	for i, d := range t.Shape {
		if d < 0 {
			return w.errf("shape %v: dimension %d is negative", t.Shape, i)
		}
	}
	if t.ShapeSignature != nil {
		if len(t.ShapeSignature) != len(t.Shape) {
			return w.errf("shape_signature %v has rank %d, shape %v has rank %d", t.ShapeSignature, len(t.ShapeSignature), t.Shape, len(t.Shape))
		}
		for i, d := range t.ShapeSignature {
			if d < -1 || (d != -1 && d != t.Shape[i]) {
				return w.errf("shape_signature %v disagrees with shape %v at dimension %d", t.ShapeSignature, t.Shape, i)
			}
		}
	}
	n := t.NumElements()
	if n < 0 {
		return w.errf("shape %v: element count overflows", t.Shape)
	}
	if t.Buffer < 0 || t.Buffer >= max(len(m.Buffers), 1) {
		return w.errf("buffer %d out of range [0,%d)", t.Buffer, len(m.Buffers))
	}
	if data := m.Data(t); len(data) > 0 && !t.Sparse {
		switch t.Type {
		case String, Resource, Variant:
			// Variable-length encodings: nothing to compare against.
		default:
			want := t.ByteSize()
			if int64(len(data)) != want {
				return w.errf("buffer %d holds %d bytes, shape %v of %v needs %d", t.Buffer, len(data), t.Shape, t.Type, want)
			}
		}
	}
	if q := t.Quant; q != nil {
		if len(q.ZeroPoint) > 0 && len(q.Scale) != len(q.ZeroPoint) {
			return w.errf("quantization has %d scales and %d zero points", len(q.Scale), len(q.ZeroPoint))
		}
		for i, s := range q.Scale {
			if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) || s < 0 {
				return w.errf("quantization scale %d is %v", i, s)
			}
		}
		if len(q.Scale) > 1 {
			if q.Dim < 0 || q.Dim >= len(t.Shape) {
				return w.errf("quantized_dimension %d out of range for rank %d", q.Dim, len(t.Shape))
			}
			if len(q.Scale) != t.Shape[q.Dim] {
				return w.errf("%d per-axis scales, dimension %d has size %d", len(q.Scale), q.Dim, t.Shape[q.Dim])
			}
		}
		for i, z := range q.ZeroPoint {
			if lo, hi, ok := zeroPointRange(t.Type); ok && (z < lo || z > hi) {
				return w.errf("zero point %d is %d, outside %v's range [%d,%d]", i, z, t.Type, lo, hi)
			}
		}
	}
	return nil
}

func zeroPointRange(d DType) (lo, hi int64, ok bool) {
	switch d {
	case Int8:
		return math.MinInt8, math.MaxInt8, true
	case UInt8:
		return 0, math.MaxUint8, true
	case Int16:
		return math.MinInt16, math.MaxInt16, true
	case Int4:
		return -8, 7, true
	}
	return 0, 0, false
}
