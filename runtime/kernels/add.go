package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// ADD and SUB with NumPy broadcasting (rank ≤ 6) and fused clamp
// activations, for float32, int8 and int32.
//
// int8 reproduces what LiteRT computes. LiteRT hands int8 ADD/SUB to
// XNNPACK when both in_scale/out_scale ratios (float32) lie in
// [2^-10, 2^8); XNNPACK's qs8-vadd scales each input by a 21-bit integer
// multiplier (lrintf of the ratio times 2^shift, shift = 20 − exponent of
// the larger ratio), adds a rounding bias and shifts right (SUB negates
// the second ratio). TFLite's own kernel (reference_integer_ops::Add:
// inputs shifted left by 20, rescaled to twice the larger input scale
// with MultiplyByQuantizedMultiplierSmallerThanOneExp, summed, rescaled)
// differs from it by one unit on ~1% of values; it is used outside that
// range, where XNNPACK declines the node. SUB there is TFLite's add with
// the second multiplier negated, as in TFLite's sub.cc.

func init() {
	Register(schema.BuiltinOperatorADD, func() Kernel { return &addSub{sub: false} })
	Register(schema.BuiltinOperatorSUB, func() Kernel { return &addSub{sub: true} })
}

type addSub struct {
	ewBinary
	sub bool
	q   addQuantParams
}

// addQuantParams are the int8 parameters of ADD/SUB.
type addQuantParams struct {
	// XNNPACK form (xnn true): acc = bias + x·xa + y·xb; out = acc>>xShift + oZP.
	xnn    bool
	xa, xb int32
	xBias  int32
	xShift uint

	aOff, bOff     int32 // −zero points of the inputs
	oZP            int32
	leftShift      int
	aMult, bMult   int32
	aShift, bShift int
	oMult          int32
	oShift         int
	lo, hi         int32
}

// newAddQuantParams computes the parameters as TFLite's add.cc/sub.cc
// Prepare (left_shift 20; sign −1 negates the second multiplier for SUB).
func newAddQuantParams(aScale float32, aZP int32, bScale float32, bZP int32, oScale float32, oZP int32, sign int32, lo, hi int32) addQuantParams {
	p := addQuantParams{aOff: -aZP, bOff: -bZP, oZP: oZP, leftShift: 20, lo: lo, hi: hi}
	twiceMax := 2 * float64(max(aScale, bScale))
	p.aMult, p.aShift = QuantizeMultiplier(float64(aScale) / twiceMax)
	p.bMult, p.bShift = QuantizeMultiplier(float64(bScale) / twiceMax)
	p.bMult *= sign
	p.oMult, p.oShift = QuantizeMultiplier(twiceMax / (float64(int64(1)<<p.leftShift) * float64(oScale)))
	return p
}

// newAddQuantParamsXNN computes XNNPACK's qs8-vadd parameters, or
// ok=false when the ratios are outside the range XNNPACK accepts. lo and
// hi are the clamp bounds on the output (absolute int8 values).
func newAddQuantParamsXNN(aScale float32, aZP int32, bScale float32, bZP int32, oScale float32, oZP int32, sign float32, lo, hi int32) (addQuantParams, bool) {
	ra, rb := aScale/oScale, bScale/oScale
	for _, r := range []float32{ra, rb} {
		if !(r >= 1.0/1024 && r < 256) {
			return addQuantParams{}, false
		}
	}
	rb *= sign
	absB := float32(math.Abs(float64(rb)))
	maxR := max(ra, absB)
	exp := int32(math.Float32bits(maxR)>>23) - 127
	shift := uint32(20 - exp)
	mult := func(r float32) int32 {
		a := float32(math.Abs(float64(r)))
		m := int32(math.RoundToEven(float64(math.Float32frombits(math.Float32bits(a) + shift<<23))))
		if math.Signbit(float64(r)) {
			m = -m
		}
		return m
	}
	p := addQuantParams{xnn: true, oZP: oZP, lo: lo, hi: hi, xShift: uint(shift)}
	p.xa, p.xb = mult(ra), mult(rb)
	p.xBias = int32(1)<<(shift-1) - p.xa*aZP - p.xb*bZP
	return p, true
}

// apply computes one int8 sum (or difference).
func (p *addQuantParams) apply(x, y int8) int8 {
	if p.xnn {
		v := (p.xBias + int32(x)*p.xa + int32(y)*p.xb) >> p.xShift
		return int8(max(p.lo, min(p.hi, v+p.oZP)))
	}
	a := (int32(x) + p.aOff) * (1 << p.leftShift)
	b := (int32(y) + p.bOff) * (1 << p.leftShift)
	sa := MultiplyByQuantizedMultiplierSmallerThanOneExp(a, p.aMult, p.aShift)
	sb := MultiplyByQuantizedMultiplierSmallerThanOneExp(b, p.bMult, p.bShift)
	var raw int32
	if p.oShift <= 0 {
		raw = MultiplyByQuantizedMultiplierSmallerThanOneExp(sa+sb, p.oMult, p.oShift)
	} else {
		// The output scale is over 2^20 times finer than the inputs' (TFLite's
		// Prepare rejects this; XNNPACK's parameters did not apply either):
		// shift left with saturation, then multiply.
		v := int64(sa+sb) << p.oShift
		raw = SaturatingRoundingDoublingHighMul(int32(max(math.MinInt32, min(math.MaxInt32, v))), p.oMult)
	}
	return int8(max(int64(p.lo), min(int64(p.hi), int64(raw)+int64(p.oZP))))
}

func (k *addSub) Prepare(ctx *Context, n *Node) (int, error) {
	if err := k.prepareShapes(n, tflite.Float32, tflite.Int8, tflite.Int32); err != nil {
		return 0, err
	}
	var act schema.ActivationFunctionType
	if k.sub {
		o, err := Options[schema.SubOptionsT](n)
		if err != nil {
			return 0, err
		}
		act = o.FusedActivationFunction
	} else {
		o, err := Options[schema.AddOptionsT](n)
		if err != nil {
			return 0, err
		}
		act = o.FusedActivationFunction
	}
	switch k.a.Type {
	case tflite.Float32:
		lo, hi, err := ewActRangeF32(n, act)
		if err != nil {
			return 0, err
		}
		if k.sub {
			k.f32 = func(dst, a, b []float32, ia, ib int) { ewBinF32(1, dst, a, b, ia, ib, lo, hi) }
			k.f32Op = 1
		} else {
			k.f32 = func(dst, a, b []float32, ia, ib int) { ewBinF32(0, dst, a, b, ia, ib, lo, hi) }
			k.f32Op, k.commutative = 0, true
		}
		k.f32Lo, k.f32Hi = lo, hi
	case tflite.Int32:
		lo, hi, err := ewActRangeInt32(n, act)
		if err != nil {
			return 0, err
		}
		if k.sub {
			k.i32 = ewRowFunc(func(x, y int32) int32 { return max(lo, min(hi, x-y)) })
		} else {
			k.i32 = ewRowFunc(func(x, y int32) int32 { return max(lo, min(hi, x+y)) })
		}
	case tflite.Int8:
		as, azp, err := ewQuantParams(n, k.a)
		if err != nil {
			return 0, err
		}
		bs, bzp, err := ewQuantParams(n, k.b)
		if err != nil {
			return 0, err
		}
		os, ozp, err := ewQuantParams(n, k.out)
		if err != nil {
			return 0, err
		}
		sign := int32(1)
		if k.sub {
			sign = -1
		}
		if xlo, xhi, err := ewXNNActRangeI8(n, act, os, ozp); err != nil {
			return 0, err
		} else if p, ok := newAddQuantParamsXNN(as, azp, bs, bzp, os, ozp, float32(sign), xlo, xhi); ok {
			k.q = p
		} else {
			lo, hi, _ := ewActRangeI8(n, act, os, ozp)
			k.q = newAddQuantParams(as, azp, bs, bzp, os, ozp, sign, lo, hi)
		}
		k.setI8(&k.q, k.q.xnn)
	}
	return 0, nil
}

// rowXNN is apply over a row for the XNNPACK form, with the per-input
// products of a broadcast input hoisted.
func (p *addQuantParams) rowXNN(dst, a, b []int8, ia, ib int) {
	// Locals: the compiler does not keep p's fields in registers across
	// the stores to dst.
	lo, hi, zp := p.lo-p.oZP, p.hi-p.oZP, p.oZP
	sh := p.xShift & 31
	bias, xa, xb := p.xBias, p.xa, p.xb
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			v := (bias + int32(a[i])*xa + int32(b[i])*xb) >> sh
			dst[i] = int8(max(lo, min(hi, v)) + zp)
		}
	case ib == 1:
		c := bias + int32(a[0])*xa
		b = b[:len(dst)]
		for i := range dst {
			v := (c + int32(b[i])*xb) >> sh
			dst[i] = int8(max(lo, min(hi, v)) + zp)
		}
	case ia == 1:
		c := bias + int32(b[0])*xb
		a = a[:len(dst)]
		for i := range dst {
			v := (c + int32(a[i])*xa) >> sh
			dst[i] = int8(max(lo, min(hi, v)) + zp)
		}
	default:
		v := p.apply(a[0], b[0])
		for i := range dst {
			dst[i] = v
		}
	}
}

func addRowF32(dst, a, b []float32, ia, ib int, lo, hi float32) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(a[i]+b[i], lo, hi)
		}
	case ib == 1:
		x := a[0]
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(x+b[i], lo, hi)
		}
	case ia == 1:
		y := b[0]
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(a[i]+y, lo, hi)
		}
	default:
		v := ClampF32(a[0]+b[0], lo, hi)
		for i := range dst {
			dst[i] = v
		}
	}
}

func subRowF32(dst, a, b []float32, ia, ib int, lo, hi float32) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(a[i]-b[i], lo, hi)
		}
	case ib == 1:
		x := a[0]
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(x-b[i], lo, hi)
		}
	case ia == 1:
		y := b[0]
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(a[i]-y, lo, hi)
		}
	default:
		v := ClampF32(a[0]-b[0], lo, hi)
		for i := range dst {
			dst[i] = v
		}
	}
}

// addRefF32 is the reference float ADD/SUB (sign −1 for SUB).
func addRefF32(a []float32, as []int, b []float32, bs []int, sign float32, lo, hi float32) ([]float32, []int) {
	return ewRefBinary(a, as, b, bs, func(x, y float32) float32 {
		if sign < 0 {
			return ClampF32(x-y, lo, hi)
		}
		return ClampF32(x+y, lo, hi)
	})
}

// addRefI8 is the reference int8 ADD/SUB.
func addRefI8(a []int8, as []int, b []int8, bs []int, p addQuantParams) ([]int8, []int) {
	return ewRefBinary(a, as, b, bs, p.apply)
}

// rowXNNVec is rowXNN with the vector kernel on the leading multiple of 8
// where the machine has it (rowXNNSIMD).
func (p *addQuantParams) rowXNNVec(dst, a, b []int8, ia, ib int) {
	m := p.rowXNNSIMD(dst, a, b, ia, ib)
	if m < len(dst) {
		dst, a, b = ewRest(m, dst, a, b, ia, ib)
		p.rowXNN(dst, a, b, ia, ib)
	}
}
