package tflite

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// Builder constructs a model one subgraph at a time.
//
//	b := tflite.NewBuilder("main")
//	x := b.Input("x", tflite.Float32, []int{1, 4}, nil)
//	y := b.Tensor("y", tflite.Float32, []int{1, 4}, nil)
//	b.Op(schema.BuiltinOperatorRELU, nil, []int{x}, y)
//	b.Output(y)
//	m := b.Model()
type Builder struct {
	m  *Model
	sg *Subgraph
}

// NewBuilder starts a model whose first subgraph has the given name.
func NewBuilder(subgraph string) *Builder {
	m := &Model{Version: SchemaVersion, Buffers: [][]byte{nil}}
	b := &Builder{m: m}
	b.Subgraph(subgraph)
	return b
}

// Subgraph starts a new subgraph; later calls add to it. It returns its index.
func (b *Builder) Subgraph(name string) int {
	b.sg = &Subgraph{Name: name}
	b.m.Subgraphs = append(b.m.Subgraphs, b.sg)
	return len(b.m.Subgraphs) - 1
}

// Tensor adds a tensor computed at run time and returns its index.
func (b *Builder) Tensor(name string, dt DType, shape []int, q *Quantization) int {
	b.sg.Tensors = append(b.sg.Tensors, &Tensor{Name: name, Type: dt, Shape: append([]int{}, shape...), Quant: q})
	return len(b.sg.Tensors) - 1
}

// Input adds a subgraph input.
func (b *Builder) Input(name string, dt DType, shape []int, q *Quantization) int {
	i := b.Tensor(name, dt, shape, q)
	b.sg.Inputs = append(b.sg.Inputs, i)
	return i
}

// Output marks tensors as subgraph outputs.
func (b *Builder) Output(ts ...int) { b.sg.Outputs = append(b.sg.Outputs, ts...) }

// Const adds a constant tensor holding data, a slice whose element type
// matches dt ([]float32 for Float32, []int8 for Int8, []uint16 holding
// IEEE half bits for Float16, ...).
func (b *Builder) Const(name string, dt DType, shape []int, data any, q *Quantization) int {
	raw, got, err := EncodeData(data)
	if err != nil {
		panic(fmt.Sprintf("tflite.Builder.Const %q: %v", name, err))
	}
	if got != dt && !(dt == Float16 && got == UInt16) {
		panic(fmt.Sprintf("tflite.Builder.Const %q: data is %v, tensor is %v", name, got, dt))
	}
	i := b.Tensor(name, dt, shape, q)
	b.sg.Tensors[i].Buffer = b.m.AddBuffer(raw)
	return i
}

// Op appends an operator (version 1) and returns it for further changes.
func (b *Builder) Op(code schema.BuiltinOperator, opts any, inputs []int, outputs ...int) *Operator {
	op := &Operator{Code: OpCode{Builtin: code, Version: 1}, Inputs: inputs, Outputs: outputs, Options: opts}
	b.sg.Operators = append(b.sg.Operators, op)
	return op
}

// Signature adds a signature def over the current subgraph's inputs and
// outputs, named after their tensors.
func (b *Builder) Signature(key string) {
	sd := SignatureDef{Key: key, Subgraph: len(b.m.Subgraphs) - 1}
	for _, i := range b.sg.Inputs {
		sd.Inputs = append(sd.Inputs, TensorMap{Name: b.sg.Tensors[i].Name, Tensor: i})
	}
	for _, i := range b.sg.Outputs {
		sd.Outputs = append(sd.Outputs, TensorMap{Name: b.sg.Tensors[i].Name, Tensor: i})
	}
	b.m.SignatureDefs = append(b.m.SignatureDefs, sd)
}

// TensorAt returns a tensor of the current subgraph.
func (b *Builder) TensorAt(i int) *Tensor { return b.sg.Tensors[i] }

// Model returns the model built so far (not a copy).
func (b *Builder) Model() *Model { return b.m }

// EncodeData returns the little-endian bytes of a typed slice and its DType.
func EncodeData(data any) ([]byte, DType, error) {
	switch v := data.(type) {
	case []float32:
		out := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
		}
		return out, Float32, nil
	case []int32:
		out := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
		}
		return out, Int32, nil
	case []int64:
		out := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(out[8*i:], uint64(x))
		}
		return out, Int64, nil
	case []int16:
		out := make([]byte, 2*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(x))
		}
		return out, Int16, nil
	case []uint16:
		out := make([]byte, 2*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint16(out[2*i:], x)
		}
		return out, UInt16, nil
	case []int8:
		out := make([]byte, len(v))
		for i, x := range v {
			out[i] = byte(x)
		}
		return out, Int8, nil
	case []uint8:
		return append([]byte{}, v...), UInt8, nil
	case []bool:
		out := make([]byte, len(v))
		for i, x := range v {
			if x {
				out[i] = 1
			}
		}
		return out, Bool, nil
	}
	return nil, 0, fmt.Errorf("unsupported data type %T", data)
}
