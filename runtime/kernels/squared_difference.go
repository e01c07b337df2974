package kernels

import (
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// SQUARED_DIFFERENCE with NumPy broadcasting (rank ≤ 6) for float32, int8
// and int32. int8 follows TFLite's squared_difference.cc: inputs shifted
// left by 7 bits and rescaled to twice the larger input scale, the
// difference squared, and rescaled by (2·max_scale)²/(2^14·out_scale).

func init() {
	Register(schema.BuiltinOperatorSQUARED_DIFFERENCE, func() Kernel { return &squaredDifference{} })
}

type squaredDifference struct {
	ewBinary
	q sqDiffQuantParams
}

type sqDiffQuantParams struct {
	aOff, bOff     int32
	oZP            int32
	leftShift      int
	aMult, bMult   int32
	aShift, bShift int
	oMult          int32
	oShift         int
}

func newSqDiffQuantParams(aScale float32, aZP int32, bScale float32, bZP int32, oScale float32, oZP int32) sqDiffQuantParams {
	p := sqDiffQuantParams{aOff: -aZP, bOff: -bZP, oZP: oZP, leftShift: 7}
	twiceMax := 2 * float64(max(aScale, bScale))
	p.aMult, p.aShift = QuantizeMultiplier(float64(aScale) / twiceMax)
	p.bMult, p.bShift = QuantizeMultiplier(float64(bScale) / twiceMax)
	p.oMult, p.oShift = QuantizeMultiplier(twiceMax * twiceMax / (float64(int64(1)<<(2*p.leftShift)) * float64(oScale)))
	return p
}

func (p *sqDiffQuantParams) apply(x, y int8) int8 {
	a := (int32(x) + p.aOff) * (1 << p.leftShift)
	b := (int32(y) + p.bOff) * (1 << p.leftShift)
	sa := MultiplyByQuantizedMultiplierSmallerThanOneExp(a, p.aMult, p.aShift)
	sb := MultiplyByQuantizedMultiplierSmallerThanOneExp(b, p.bMult, p.bShift)
	d := sa - sb
	r := MultiplyByQuantizedMultiplierSmallerThanOneExp(d*d, p.oMult, p.oShift) + p.oZP
	return int8(max(-128, min(127, r)))
}

func (k *squaredDifference) Prepare(ctx *Context, n *Node) (int, error) {
	if err := k.prepareShapes(n, tflite.Float32, tflite.Int8, tflite.Int32); err != nil {
		return 0, err
	}
	switch k.a.Type {
	case tflite.Float32:
		k.f32 = sqDiffRowF32
	case tflite.Int32:
		k.i32 = ewRowFunc(func(x, y int32) int32 { d := x - y; return d * d })
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
		k.q = newSqDiffQuantParams(as, azp, bs, bzp, os, ozp)
		k.i8, k.i8Rows = ewI8Funcs(k.q.apply, k.out.NumElements())
	}
	return 0, nil
}

func sqDiffRowF32(dst, a, b []float32, ia, ib int) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			d := a[i] - b[i]
			dst[i] = d * d
		}
	case ib == 1:
		x := a[0]
		b = b[:len(dst)]
		for i := range dst {
			d := x - b[i]
			dst[i] = d * d
		}
	case ia == 1:
		y := b[0]
		a = a[:len(dst)]
		for i := range dst {
			d := a[i] - y
			dst[i] = d * d
		}
	default:
		d := a[0] - b[0]
		for i := range dst {
			dst[i] = d * d
		}
	}
}

// sqDiffRefF32 is the reference float SQUARED_DIFFERENCE.
func sqDiffRefF32(a []float32, as []int, b []float32, bs []int) ([]float32, []int) {
	return ewRefBinary(a, as, b, bs, func(x, y float32) float32 { d := x - y; return d * d })
}
