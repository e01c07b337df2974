package kernels

import (
	"github.com/lsms-edge/lsms/tflite"
)

// Helpers shared by the data-movement and reduction kernels (RESHAPE,
// TRANSPOSE, CONCATENATION, GATHER, PAD, RESIZE_BILINEAR, MEAN, SUM, ...).

// layoutMaxRank bounds the ranks these kernels accept.
const layoutMaxRank = 6

// layoutMovable reports whether a type can be moved by element size
// (the kernel never interprets the values).
func layoutMovable(dt tflite.DType) bool {
	switch dt {
	case tflite.Float32, tflite.Int8, tflite.UInt8, tflite.Int16, tflite.Int32, tflite.Int64, tflite.Bool:
		return true
	}
	return false
}

// layoutCheckMovable returns an Unsupported error for element types the
// data-movement kernels do not handle.
func layoutCheckMovable(n *Node, t *Tensor) error {
	if !layoutMovable(t.Type) {
		return n.Unsupportedf("tensor %s of type %v", t, t.Type)
	}
	return nil
}

// layoutSameQuant checks that two int8 tensors share their per-tensor
// quantization (a kernel that only moves values keeps them).
func layoutSameQuant(a, b *Tensor) bool {
	if len(a.Scale) != len(b.Scale) {
		return false
	}
	for i := range a.Scale {
		if a.Scale[i] != b.Scale[i] || a.ZeroPoint[i] != b.ZeroPoint[i] {
			return false
		}
	}
	return true
}

// layoutConstInts reads a constant int32 or int64 tensor as ints.
func layoutConstInts(n *Node, t *Tensor, what string) ([]int, error) {
	if t == nil {
		return nil, n.Errorf("%s input is missing", what)
	}
	if !t.Const {
		return nil, n.Unsupportedf("%s %s is computed at run time (only constants are supported)", what, t)
	}
	var out []int
	switch t.Type {
	case tflite.Int32:
		for _, v := range t.I32()[:t.NumElements()] {
			out = append(out, int(v))
		}
	case tflite.Int64:
		for _, v := range t.I64()[:t.NumElements()] {
			out = append(out, int(v))
		}
	default:
		return nil, n.Errorf("%s %s must be int32 or int64", what, t)
	}
	return out, nil
}

// layoutProd is the product of dims.
func layoutProd(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

// layoutStrides returns row-major strides (in elements) of shape.
func layoutStrides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// layoutGrain is the smallest number of bytes a parallel chunk of a
// data-movement loop should move.
const layoutGrain = 64 << 10

// layoutUnitsGrain returns a Pool grain (in units of unitBytes) so that a
// chunk moves at least layoutGrain bytes.
func layoutUnitsGrain(unitBytes int) int {
	if unitBytes <= 0 {
		return 1
	}
	return max(1, layoutGrain/unitBytes)
}

// layoutCopy copies src to dst unless they are the same memory.
func layoutCopy(dst, src []byte) {
	if len(dst) == 0 || len(src) == 0 || &dst[0] == &src[0] {
		return
	}
	copy(dst, src)
}

// layoutFill fills dst with copies of pattern (len(dst) a multiple of it).
func layoutFill(dst, pattern []byte) {
	if len(dst) == 0 {
		return
	}
	n := copy(dst, pattern)
	for n < len(dst) {
		n += copy(dst[n:], dst[:n])
	}
}
