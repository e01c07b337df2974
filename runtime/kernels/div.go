package kernels

import (
	"errors"
	"math"

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

	// fused: out = (a·b)/(d + c) of an absorbed MUL(a, b) and ADD(d, c)
	// (FuseInputs), each operation rounded to float32 as the three nodes
	// would, in one pass.
	fused      bool
	fa, fb, fd *Tensor
	fc         float32
	frun       func(lo, hi int)
}

// FuseInputs implements InputFuser for float32 DIV(MUL(a, b), ADD(d, c))
// with c a constant scalar, no activations and no broadcasting (the
// multiplicative updates of a non-negative matrix factorisation,
// x ← x ⊙ num / (den + ε)): the two producers are absorbed and Eval makes
// one pass over four arrays instead of three passes over eight.
func (k *div) FuseInputs(n *Node, producers []*Node) []*Node {
	if k.a.Type != tflite.Float32 || len(producers) != 2 || producers[0] == nil || producers[1] == nil ||
		!math.IsInf(float64(k.f32Lo), -1) || !math.IsInf(float64(k.f32Hi), 1) {
		return nil
	}
	m, ad := producers[0], producers[1]
	if m.Op != schema.BuiltinOperatorMUL || ad.Op != schema.BuiltinOperatorADD ||
		len(m.Inputs) != 2 || len(ad.Inputs) != 2 {
		return nil
	}
	mo, err1 := Options[schema.MulOptionsT](m)
	ao, err2 := Options[schema.AddOptionsT](ad)
	if err1 != nil || err2 != nil || mo.FusedActivationFunction != schema.ActivationFunctionTypeNONE ||
		ao.FusedActivationFunction != schema.ActivationFunctionTypeNONE {
		return nil
	}
	shape := k.out.Shape
	full := func(t *Tensor) bool { return t != nil && t.Type == tflite.Float32 && SameShape(t.Shape, shape) }
	if !full(k.a) || !full(k.b) || !full(m.Inputs[0]) || !full(m.Inputs[1]) {
		return nil
	}
	d, c := ad.Inputs[0], ad.Inputs[1]
	if !full(d) {
		d, c = c, d
	}
	if !full(d) || c == nil || !c.Const || c.Type != tflite.Float32 || c.NumElements() != 1 {
		return nil
	}
	k.fused, k.fa, k.fb, k.fd, k.fc = true, m.Inputs[0], m.Inputs[1], d, c.F32()[0]
	k.frun = k.evalFused
	return []*Node{m, ad}
}

func (k *div) evalFused(lo, hi int) {
	divMulAddF32(k.out.F32()[lo:hi], k.fa.F32()[lo:hi], k.fb.F32()[lo:hi], k.fd.F32()[lo:hi], k.fc)
}

// divMulAddF32Go is divMulAddF32's loop: dst[i] = (a[i]·b[i]) / (d[i] + c),
// each operation rounded to float32.
func divMulAddF32Go(dst, a, b, d []float32, c float32) {
	a, b, d = a[:len(dst)], b[:len(dst)], d[:len(dst)]
	for i := range dst {
		p := float32(a[i] * b[i])
		q := float32(d[i] + c)
		dst[i] = p / q
	}
}

// Eval implements Kernel.
func (k *div) Eval(ctx *Context, n *Node) error {
	if k.fused {
		ctx.Pool.Run(k.out.NumElements(), elementwiseGrain, k.frun)
		return nil
	}
	return k.ewBinary.Eval(ctx, n)
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
