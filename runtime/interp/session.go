package interp

import (
	"fmt"

	"github.com/lsms-edge/lsms/runtime/backend"
	"github.com/lsms-edge/lsms/runtime/kernels"
	"github.com/lsms-edge/lsms/tflite"
)

// Native is the pure-Go backend.
type Native struct{}

// Name implements backend.Backend.
func (Native) Name() string { return "native" }

// Open implements backend.Backend.
func (Native) Open(m *tflite.Model, opts backend.Options) (backend.Session, error) {
	return New(m, opts)
}

func init() { backend.Register(Native{}) }

func info(t *kernels.Tensor) backend.TensorInfo {
	return backend.TensorInfo{Name: t.Name, Type: t.Type, Shape: append([]int{}, t.Shape...), Scale: t.Scale, ZeroPoint: t.ZeroPoint}
}

// Inputs implements backend.Session.
func (it *Interpreter) Inputs() []backend.TensorInfo {
	out := make([]backend.TensorInfo, len(it.inputs))
	for i := range out {
		out[i] = info(it.InputTensor(i))
		for name, k := range it.inNames {
			if k == i && name != out[i].Name {
				out[i].Name = name
			}
		}
	}
	return out
}

// Outputs implements backend.Session.
func (it *Interpreter) Outputs() []backend.TensorInfo {
	out := make([]backend.TensorInfo, len(it.outputs))
	for i := range out {
		out[i] = info(it.OutputTensor(i))
		for name, k := range it.outNames {
			if k == i && name != out[i].Name {
				out[i].Name = name
			}
		}
	}
	return out
}

// SetInput implements backend.Session.
func (it *Interpreter) SetInput(i int, data any) error {
	if i < 0 || i >= len(it.inputs) {
		return fmt.Errorf("interp: input %d out of range [0,%d)", i, len(it.inputs))
	}
	return CopyIn(it.InputTensor(i), data)
}

// Output implements backend.Session.
func (it *Interpreter) Output(i int, dst any) error {
	if i < 0 || i >= len(it.outputs) {
		return fmt.Errorf("interp: output %d out of range [0,%d)", i, len(it.outputs))
	}
	return CopyOut(it.OutputTensor(i), dst)
}

// Profile implements backend.Profiler.
func (it *Interpreter) Profile() []backend.OpProfile {
	out := make([]backend.OpProfile, len(it.nodes))
	for i, n := range it.nodes {
		out[i] = backend.OpProfile{Index: i, Op: n.Name(), Last: it.last[i], Total: it.total[i], Count: it.count}
	}
	return out
}

// ResetProfile implements backend.Profiler.
func (it *Interpreter) ResetProfile() {
	for i := range it.total {
		it.total[i], it.last[i] = 0, 0
	}
	it.count = 0
}

var _ backend.Profiler = (*Interpreter)(nil)
var _ backend.MemoryReporter = (*Interpreter)(nil)

// CopyIn copies a typed slice into a tensor, checking type and length.
func CopyIn(t *kernels.Tensor, data any) error {
	n := t.NumElements()
	check := func(dt tflite.DType, l int) error {
		if dt != t.Type {
			return fmt.Errorf("tensor %s: got %v data", t, dt)
		}
		if l != n {
			return fmt.Errorf("tensor %s: got %d elements, want %d", t, l, n)
		}
		return nil
	}
	var err error
	switch v := data.(type) {
	case []float32:
		if err = check(tflite.Float32, len(v)); err == nil {
			copy(t.F32(), v)
		}
	case []int8:
		if err = check(tflite.Int8, len(v)); err == nil {
			copy(t.I8(), v)
		}
	case []uint8:
		if err = check(tflite.UInt8, len(v)); err == nil {
			copy(t.U8(), v)
		}
	case []int16:
		if err = check(tflite.Int16, len(v)); err == nil {
			copy(t.I16(), v)
		}
	case []int32:
		if err = check(tflite.Int32, len(v)); err == nil {
			copy(t.I32(), v)
		}
	case []int64:
		if err = check(tflite.Int64, len(v)); err == nil {
			copy(t.I64(), v)
		}
	case []bool:
		if err = check(tflite.Bool, len(v)); err == nil {
			for i, b := range v {
				t.Data[i] = 0
				if b {
					t.Data[i] = 1
				}
			}
		}
	default:
		return fmt.Errorf("tensor %s: unsupported data type %T", t, data)
	}
	return err
}

// CopyOut copies a tensor into a typed slice of the right length.
func CopyOut(t *kernels.Tensor, dst any) error {
	n := t.NumElements()
	check := func(dt tflite.DType, l int) error {
		if dt != t.Type {
			return fmt.Errorf("tensor %s: destination is %v", t, dt)
		}
		if l != n {
			return fmt.Errorf("tensor %s: destination has %d elements, want %d", t, l, n)
		}
		return nil
	}
	var err error
	switch v := dst.(type) {
	case []float32:
		if err = check(tflite.Float32, len(v)); err == nil {
			copy(v, t.F32())
		}
	case []int8:
		if err = check(tflite.Int8, len(v)); err == nil {
			copy(v, t.I8())
		}
	case []uint8:
		if err = check(tflite.UInt8, len(v)); err == nil {
			copy(v, t.U8())
		}
	case []int16:
		if err = check(tflite.Int16, len(v)); err == nil {
			copy(v, t.I16())
		}
	case []int32:
		if err = check(tflite.Int32, len(v)); err == nil {
			copy(v, t.I32())
		}
	case []int64:
		if err = check(tflite.Int64, len(v)); err == nil {
			copy(v, t.I64())
		}
	case []bool:
		if err = check(tflite.Bool, len(v)); err == nil {
			for i := range v {
				v[i] = t.Data[i] != 0
			}
		}
	default:
		return fmt.Errorf("tensor %s: unsupported destination type %T", t, dst)
	}
	return err
}
