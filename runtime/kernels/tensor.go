package kernels

import (
	"fmt"
	"unsafe"

	"github.com/lsms-edge/lsms/tflite"
)

// Tensor is a tensor as kernels see it: type, shape, quantization and
// data. Data is a slice of the interpreter's arena (or of the model's
// constant buffer) and is aligned for its element type.
type Tensor struct {
	Name  string
	Type  tflite.DType
	Shape []int
	Data  []byte
	Const bool

	// Per-tensor or per-axis affine quantization (empty when not quantized).
	Scale     []float32
	ZeroPoint []int32
	QDim      int
}

// NumElements is the product of the shape's dimensions.
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes is the data size the shape and type need.
func (t *Tensor) Bytes() int { return t.NumElements() * t.Type.Size() }

// Rank is len(Shape).
func (t *Tensor) Rank() int { return len(t.Shape) }

// Dim returns dimension i, counting from the end when i < 0.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

func view[T any](b []byte) []T {
	var z T
	n := len(b) / int(unsafe.Sizeof(z))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// F32 views the data as float32.
func (t *Tensor) F32() []float32 { return view[float32](t.Data) }

// I8 views the data as int8.
func (t *Tensor) I8() []int8 { return view[int8](t.Data) }

// U8 views the data as uint8.
func (t *Tensor) U8() []uint8 { return t.Data }

// I16 views the data as int16.
func (t *Tensor) I16() []int16 { return view[int16](t.Data) }

// U16 views the data as uint16 (float16 bits).
func (t *Tensor) U16() []uint16 { return view[uint16](t.Data) }

// I32 views the data as int32.
func (t *Tensor) I32() []int32 { return view[int32](t.Data) }

// I64 views the data as int64.
func (t *Tensor) I64() []int64 { return view[int64](t.Data) }

// Quantized reports whether t has quantization parameters.
func (t *Tensor) Quantized() bool { return len(t.Scale) > 0 }

// String describes the tensor for error messages.
func (t *Tensor) String() string {
	return fmt.Sprintf("%q %v%v", t.Name, t.Type, t.Shape)
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
