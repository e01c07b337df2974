package kernels

import (
	"errors"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// DIV with NumPy broadcasting (rank ≤ 6) and fused clamp activations, for
// float32 and int32 (truncating; a zero divisor fails Eval as in TFLite).
// TFLite has no int8 DIV (only uint8), so int8 is rejected at Prepare.

func init() {
	Register(schema.BuiltinOperatorDIV, func() Kernel { return &div{} })
}

type div struct {
	ewBinary
	zeroErr error
}

func (k *div) Prepare(ctx *Context, n *Node) (int, error) {
	if err := k.prepareShapes(n, tflite.Float32, tflite.Int32); err != nil {
		return 0, err
	}
	o, err := Options[schema.DivOptionsT](n)
	if err != nil {
		return 0, err
	}
	act := o.FusedActivationFunction
	switch k.a.Type {
	case tflite.Float32:
		lo, hi, err := ewActRangeF32(n, act)
		if err != nil {
			return 0, err
		}
		k.f32 = func(dst, a, b []float32, ia, ib int) { ewBinF32(3, dst, a, b, ia, ib, lo, hi) }
		k.f32Op, k.f32Lo, k.f32Hi = 3, lo, hi
	case tflite.Int32:
		lo, hi, err := ewActRangeInt32(n, act)
		if err != nil {
			return 0, err
		}
		k.i32 = ewRowFunc(func(x, y int32) int32 { return max(lo, min(hi, x/y)) })
		k.zeroErr = n.Errorf("%w", errDivByZero)
		k.i32Check = k.checkDivisor
	}
	return 0, nil
}

var errDivByZero = errors.New("integer division by zero")

func (k *div) checkDivisor(b []int32) error {
	for _, v := range b {
		if v == 0 {
			return k.zeroErr
		}
	}
	return nil
}

func divRowF32(dst, a, b []float32, ia, ib int, lo, hi float32) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(a[i]/b[i], lo, hi)
		}
	case ib == 1:
		x := a[0]
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(x/b[i], lo, hi)
		}
	case ia == 1:
		y := b[0]
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(a[i]/y, lo, hi)
		}
	default:
		v := ClampF32(a[0]/b[0], lo, hi)
		for i := range dst {
			dst[i] = v
		}
	}
}

// divRefF32 is the reference float DIV.
func divRefF32(a []float32, as []int, b []float32, bs []int, lo, hi float32) ([]float32, []int) {
	return ewRefBinary(a, as, b, bs, func(x, y float32) float32 { return ClampF32(x/y, lo, hi) })
}
