package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// MUL with NumPy broadcasting (rank ≤ 6) and fused clamp activations, for
// float32, int8 and int32.
//
// int8 reproduces what LiteRT computes. LiteRT hands int8 MUL to XNNPACK
// when s = in1_scale·in2_scale/out_scale (float32) lies in [2^-16, 2^8);
// XNNPACK's qs8-vmul (fp32 requantization) multiplies the product of the
// zero-point-corrected inputs by s in float32 and rounds half to even.
// TFLite's own MulElementwise (MultiplyByQuantizedMultiplier, double
// rounding) differs from it by one unit on up to ~2% of values; it is
// used outside that range, where XNNPACK declines the node.

func init() {
	Register(schema.BuiltinOperatorMUL, func() Kernel { return &mul{} })
}

type mul struct {
	ewBinary
	q mulQuantParams
}

type mulQuantParams struct {
	xnn        bool    // XNNPACK fp32 requantization
	xScale     float32 // in1·in2/out scale for xnn
	aOff, bOff int32
	oZP        int32
	mult       int32
	shift      int
	lo, hi     int32
}

func newMulQuantParams(aScale float32, aZP int32, bScale float32, bZP int32, oScale float32, oZP int32, lo, hi int32) mulQuantParams {
	p := mulQuantParams{aOff: -aZP, bOff: -bZP, oZP: oZP, lo: lo, hi: hi}
	p.mult, p.shift = QuantizeMultiplier(float64(aScale) * float64(bScale) / float64(oScale))
	return p
}

// newMulQuantParamsXNN returns XNNPACK's qs8-vmul parameters, or
// ok=false when the scale is outside the range XNNPACK accepts.
func newMulQuantParamsXNN(aScale float32, aZP int32, bScale float32, bZP int32, oScale float32, oZP int32, lo, hi int32) (mulQuantParams, bool) {
	s := float32(aScale*bScale) / oScale
	if !(s >= 1.0/65536 && s < 256) {
		return mulQuantParams{}, false
	}
	return mulQuantParams{xnn: true, xScale: s, aOff: -aZP, bOff: -bZP, oZP: oZP, lo: lo, hi: hi}, true
}

func (p *mulQuantParams) apply(x, y int8) int8 {
	v := (int32(x) + p.aOff) * (int32(y) + p.bOff)
	if p.xnn {
		f := float32(float32(v) * p.xScale)
		f = min(max(f, float32(p.lo-p.oZP)), float32(p.hi-p.oZP))
		return int8(int32(math.RoundToEven(float64(f))) + p.oZP)
	}
	if p.shift > 0 {
		// TFLite's x·2^shift wraps at extreme scale ratios (Prepare accepts
		// them); saturate instead, the result clamps anyway.
		w := int64(v) << p.shift
		r := int64(SaturatingRoundingDoublingHighMul(int32(max(math.MinInt32, min(math.MaxInt32, w))), p.mult)) + int64(p.oZP)
		return int8(max(int64(p.lo), min(int64(p.hi), r)))
	}
	r := MultiplyByQuantizedMultiplier(v, p.mult, p.shift) + p.oZP
	return int8(max(p.lo, min(p.hi, r)))
}

func (k *mul) Prepare(ctx *Context, n *Node) (int, error) {
	if err := k.prepareShapes(n, tflite.Float32, tflite.Int8, tflite.Int32); err != nil {
		return 0, err
	}
	o, err := Options[schema.MulOptionsT](n)
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
		k.f32 = func(dst, a, b []float32, ia, ib int) { ewBinF32(2, dst, a, b, ia, ib, lo, hi) }
		k.f32Op, k.commutative, k.f32Lo, k.f32Hi = 2, true, lo, hi
	case tflite.Int32:
		lo, hi, err := ewActRangeInt32(n, act)
		if err != nil {
			return 0, err
		}
		k.i32 = ewRowFunc(func(x, y int32) int32 { return max(lo, min(hi, x*y)) })
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
		if xlo, xhi, err := ewXNNActRangeI8(n, act, os, ozp); err != nil {
			return 0, err
		} else if p, ok := newMulQuantParamsXNN(as, azp, bs, bzp, os, ozp, xlo, xhi); ok {
			k.q = p
		} else {
			lo, hi, _ := ewActRangeI8(n, act, os, ozp)
			k.q = newMulQuantParams(as, azp, bs, bzp, os, ozp, lo, hi)
		}
		k.setI8(&k.q, k.q.xnn)
	}
	return 0, nil
}

// rowXNN is apply over a row for the XNNPACK form.
func (p *mulQuantParams) rowXNN(dst, a, b []int8, ia, ib int) {
	lo, hi := float32(p.lo-p.oZP), float32(p.hi-p.oZP)
	scale, zp, aOff, bOff := p.xScale, p.oZP, p.aOff, p.bOff
	one := func(x, y int32) int8 {
		f := float32(float32(x*y) * scale)
		f = min(max(f, lo), hi)
		return int8(int32(math.RoundToEven(float64(f))) + zp)
	}
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			dst[i] = one(int32(a[i])+aOff, int32(b[i])+bOff)
		}
	case ib == 1:
		x := int32(a[0]) + aOff
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = one(x, int32(b[i])+bOff)
		}
	case ia == 1:
		y := int32(b[0]) + bOff
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = one(int32(a[i])+aOff, y)
		}
	default:
		v := p.apply(a[0], b[0])
		for i := range dst {
			dst[i] = v
		}
	}
}

func mulRowF32(dst, a, b []float32, ia, ib int, lo, hi float32) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(a[i]*b[i], lo, hi)
		}
	case ib == 1:
		x := a[0]
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(x*b[i], lo, hi)
		}
	case ia == 1:
		y := b[0]
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = ClampF32(a[i]*y, lo, hi)
		}
	default:
		v := ClampF32(a[0]*b[0], lo, hi)
		for i := range dst {
			dst[i] = v
		}
	}
}

// mulRefF32 is the reference float MUL.
func mulRefF32(a []float32, as []int, b []float32, bs []int, lo, hi float32) ([]float32, []int) {
	return ewRefBinary(a, as, b, bs, func(x, y float32) float32 { return ClampF32(x*y, lo, hi) })
}

// rowXNNVec is rowXNN with the vector kernel on the leading multiple of 8
// where the machine has it (rowXNNSIMD).
func (p *mulQuantParams) rowXNNVec(dst, a, b []int8, ia, ib int) {
	m := p.rowXNNSIMD(dst, a, b, ia, ib)
	if m < len(dst) {
		dst, a, b = ewRest(m, dst, a, b, ia, ib)
		p.rowXNN(dst, a, b, ia, ib)
	}
}
