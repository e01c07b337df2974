package tflite

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// SchemaVersion is the only TFLite schema version this package reads and writes.
const SchemaVersion = 3

// MinRuntimeVersionKey names the metadata entry that holds the minimum
// TFLite runtime version a model needs.
const MinRuntimeVersionKey = "min_runtime_version"

// Model is an in-memory TFLite model.
type Model struct {
	Version     uint32
	Description string
	Subgraphs   []*Subgraph
	// Buffers holds constant data; by convention Buffers[0] is empty and is
	// what tensors without data point to. Data read from a file aliases the
	// file's bytes: treat it as read-only.
	Buffers       [][]byte
	Metadata      []Metadata
	SignatureDefs []SignatureDef
}

// Metadata is a named buffer.
type Metadata struct {
	Name   string
	Buffer int
}

// SignatureDef names a subgraph's inputs and outputs for callers.
type SignatureDef struct {
	Key      string
	Subgraph int
	Inputs   []TensorMap
	Outputs  []TensorMap
}

// TensorMap maps a signature name to a tensor index of the signature's subgraph.
type TensorMap struct {
	Name   string
	Tensor int
}

// Subgraph is a graph of operators over tensors.
type Subgraph struct {
	Name      string
	Tensors   []*Tensor
	Inputs    []int
	Outputs   []int
	Operators []*Operator
}

// Tensor describes one tensor of a subgraph.
type Tensor struct {
	Name  string
	Type  DType
	Shape []int
	// ShapeSignature has -1 for dynamic dimensions; nil when it equals Shape.
	ShapeSignature []int
	// Buffer indexes Model.Buffers; 0 (the empty buffer) for tensors
	// computed at run time.
	Buffer     int
	Quant      *Quantization
	IsVariable bool
	// Sparse marks a tensor with sparsity parameters; this package keeps
	// the flag but not the parameters, so such a model is not written back.
	Sparse bool
}

// Quantization holds affine quantization parameters: real = Scale × (q − ZeroPoint).
// With more than one scale the quantization is per axis along Dim.
type Quantization struct {
	Scale     []float32
	ZeroPoint []int64
	Dim       int
	Min, Max  []float32
}

// PerAxis reports whether q has one scale per slice along Dim.
func (q *Quantization) PerAxis() bool { return q != nil && len(q.Scale) > 1 }

// OpCode identifies what an operator computes.
type OpCode struct {
	Builtin schema.BuiltinOperator
	Custom  string // for CUSTOM operators
	Version int32
}

// Name is the builtin operator's name (CONV_2D) or the custom code.
func (c OpCode) Name() string {
	if c.Builtin == schema.BuiltinOperatorCUSTOM {
		return "CUSTOM:" + c.Custom
	}
	return OpName(c.Builtin)
}

// OpName returns the schema name of a builtin operator, or BuiltinOperator(N)
// for codes this schema does not know.
func OpName(op schema.BuiltinOperator) string {
	if n, ok := schema.EnumNamesBuiltinOperator[op]; ok {
		return n
	}
	return fmt.Sprintf("BuiltinOperator(%d)", int32(op))
}

// Operator is one node of a subgraph.
type Operator struct {
	Code OpCode
	// Inputs and Outputs index the subgraph's tensors; an input of -1 is an
	// omitted optional input.
	Inputs  []int
	Outputs []int
	// Options is nil or a pointer to a flatc object-API options type of
	// package schema, e.g. *schema.Conv2DOptionsT or
	// *schema.StablehloPadOptionsT; the union tag follows from its type.
	Options       any
	CustomOptions []byte
	Intermediates []int
}

// optionsTag returns the BuiltinOptions or BuiltinOptions2 tag of an options value.
func optionsTag(opts any) (t1 schema.BuiltinOptions, t2 schema.BuiltinOptions2, err error) {
	if opts == nil {
		return 0, 0, nil
	}
	rt := reflect.TypeOf(opts)
	if rt.Kind() != reflect.Pointer || rt.Elem().PkgPath() != reflect.TypeOf(schema.AddOptionsT{}).PkgPath() {
		return 0, 0, fmt.Errorf("options of type %T are not a tflite/schema options type", opts)
	}
	name := strings.TrimSuffix(rt.Elem().Name(), "T")
	if v, ok := schema.EnumValuesBuiltinOptions[name]; ok && v != schema.BuiltinOptionsNONE {
		return v, 0, nil
	}
	if v, ok := schema.EnumValuesBuiltinOptions2[name]; ok && v != schema.BuiltinOptions2NONE {
		return 0, v, nil
	}
	return 0, 0, fmt.Errorf("options type %T is not a member of the BuiltinOptions unions", opts)
}

// NumElements is the product of shape's dimensions (1 for a scalar), or -1
// if a dimension is negative or the product overflows int64 by the limit.
func NumElements(shape []int) int64 {
	const limit = int64(1) << 50
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		n *= int64(d)
		if n > limit {
			return -1
		}
	}
	return n
}

// NumElements is the element count of t's static shape.
func (t *Tensor) NumElements() int64 { return NumElements(t.Shape) }

// ByteSize is the size of t's data in bytes (-1 if unknown or overflowing).
func (t *Tensor) ByteSize() int64 {
	n := t.NumElements()
	if n < 0 {
		return -1
	}
	if t.Type == Int4 {
		return (n + 1) / 2
	}
	s := t.Type.Size()
	if s == 0 {
		return -1
	}
	return n * int64(s)
}

// Data returns the constant data of t (nil for tensors computed at run time).
func (m *Model) Data(t *Tensor) []byte {
	if t.Buffer <= 0 || t.Buffer >= len(m.Buffers) {
		return nil
	}
	return m.Buffers[t.Buffer]
}

// IsConst reports whether t has constant data.
func (m *Model) IsConst(t *Tensor) bool { return len(m.Data(t)) > 0 }

// MetadataBytes returns the buffer of the named metadata entry.
func (m *Model) MetadataBytes(name string) ([]byte, bool) {
	for _, md := range m.Metadata {
		if md.Name == name && md.Buffer >= 0 && md.Buffer < len(m.Buffers) {
			return m.Buffers[md.Buffer], true
		}
	}
	return nil, false
}

// SetMetadata adds or replaces a metadata entry.
func (m *Model) SetMetadata(name string, data []byte) {
	idx := m.AddBuffer(data)
	for i := range m.Metadata {
		if m.Metadata[i].Name == name {
			m.Metadata[i].Buffer = idx
			return
		}
	}
	m.Metadata = append(m.Metadata, Metadata{Name: name, Buffer: idx})
}

// MinRuntimeVersion returns the min_runtime_version metadata, trailing NULs removed.
func (m *Model) MinRuntimeVersion() string {
	b, _ := m.MetadataBytes(MinRuntimeVersionKey)
	return strings.TrimRight(string(b), "\x00")
}

// SetMinRuntimeVersion stores v NUL-padded to 16 bytes, as TensorFlow's converter does.
func (m *Model) SetMinRuntimeVersion(v string) {
	b := make([]byte, 16)
	if len(v) > 16 {
		b = make([]byte, len(v))
	}
	copy(b, v)
	m.SetMetadata(MinRuntimeVersionKey, b)
}

// AddBuffer appends a constant buffer and returns its index. Buffer 0 (the
// empty buffer) is created first if the model has none.
func (m *Model) AddBuffer(data []byte) int {
	if len(m.Buffers) == 0 {
		m.Buffers = append(m.Buffers, nil)
	}
	m.Buffers = append(m.Buffers, data)
	return len(m.Buffers) - 1
}

// Signature returns the signature def with the given key.
func (m *Model) Signature(key string) (*SignatureDef, bool) {
	for i := range m.SignatureDefs {
		if m.SignatureDefs[i].Key == key {
			return &m.SignatureDefs[i], true
		}
	}
	return nil, false
}
