package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// DEQUANTIZE: int8 (per tensor or per axis), uint8 and int16 → float32 as
// TFLite's reference Dequantize, float32(double(scale) × (q − zp)); and
// float16 → float32 (typically constant weights).

func init() {
	Register(schema.BuiltinOperatorDEQUANTIZE, func() Kernel { return &dequantize{} })
}

type dequantize struct {
	in, out *Tensor
	scales  []float64
	zps     []int32
	inner   int
	nch     int
	rows    bool
	run     func(lo, hi int)
}

func (k *dequantize) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 1, 1); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	in, out := n.Inputs[0], n.Outputs[0]
	k.in, k.out = in, out
	if out.Type != tflite.Float32 {
		return 0, n.Unsupportedf("output type %v (float32 only)", out.Type)
	}
	SetShape(out, in.Shape)
	switch in.Type {
	case tflite.Float16:
		k.run = k.evalF16
		return 0, nil
	case tflite.Int8, tflite.UInt8, tflite.Int16:
	default:
		return 0, n.Unsupportedf("input type %v (int8, uint8, int16 or float16)", in.Type)
	}
	if !in.Quantized() {
		return 0, n.Errorf("input %s has no quantization parameters", in)
	}
	k.scales = make([]float64, len(in.Scale))
	for i, s := range in.Scale {
		k.scales[i] = float64(s)
	}
	k.zps = in.ZeroPoint
	if len(in.Scale) > 1 {
		if in.Type != tflite.Int8 {
			return 0, n.Unsupportedf("per-axis dequantization of %v", in.Type)
		}
		d := in.QDim
		if d < 0 || d >= len(in.Shape) || in.Shape[d] != len(in.Scale) {
			return 0, n.Errorf("per-axis input has %d scales for dimension %d of %v", len(in.Scale), d, in.Shape)
		}
		k.nch = in.Shape[d]
		k.inner = 1
		for _, s := range in.Shape[d+1:] {
			k.inner *= s
		}
		k.rows = true
		k.run = k.evalPerAxis
		return 0, nil
	}
	switch in.Type {
	case tflite.Int8:
		k.run = k.evalI8
	case tflite.UInt8:
		k.run = k.evalU8
	case tflite.Int16:
		k.run = k.evalI16
	}
	return 0, nil
}

func (k *dequantize) Eval(ctx *Context, n *Node) error {
	if k.rows {
		ctx.Pool.Run(k.out.NumElements()/max(k.inner, 1), max(1, elementwiseGrain/max(k.inner, 1)), k.run)
		return nil
	}
	ctx.Pool.Run(k.out.NumElements(), elementwiseGrain, k.run)
	return nil
}

func (k *dequantize) evalI8(lo, hi int) {
	dequantizeI8(k.out.F32()[lo:hi], k.in.I8()[lo:hi], float32(k.scales[0]), k.zps[0])
}

// dequantizeI8Go is the int8 Dequantize in float32: scale and q − zp
// (|q − zp| < 2⁹) are exact in float64 and so is their product (< 2⁵³),
// which float32(s·float64(q−zp)) then rounds once; a float32 multiply
// rounds the same exact product once, so the two agree bit for bit.
func dequantizeI8Go(dst []float32, src []int8, scale float32, zp int32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = float32(int32(x)-zp) * scale
	}
}

func (k *dequantize) evalU8(lo, hi int) {
	src, dst := k.in.U8()[lo:hi], k.out.F32()[lo:hi]
	s, zp := k.scales[0], k.zps[0]
	for i, x := range src {
		dst[i] = float32(s * float64(int32(x)-zp))
	}
}

func (k *dequantize) evalI16(lo, hi int) {
	src, dst := k.in.I16()[lo:hi], k.out.F32()[lo:hi]
	s, zp := k.scales[0], k.zps[0]
	for i, x := range src {
		dst[i] = float32(s * float64(int32(x)-zp))
	}
}

func (k *dequantize) evalPerAxis(lo, hi int) {
	src, dst := k.in.I8(), k.out.F32()
	for r := lo; r < hi; r++ {
		c := r % k.nch
		s, zp := k.scales[c], k.zps[c]
		for i := r * k.inner; i < (r+1)*k.inner; i++ {
			dst[i] = float32(s * float64(int32(src[i])-zp))
		}
	}
}

func (k *dequantize) evalF16(lo, hi int) {
	src, dst := k.in.U16()[lo:hi], k.out.F32()[lo:hi]
	for i, h := range src {
		dst[i] = halfToFloat32(h)
	}
}

// halfToFloat32 converts IEEE 754 binary16 bits to float32 exactly,
// including subnormals, infinities and NaN (payload kept, quiet bit as is).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0: // ±0
		return math.Float32frombits(sign)
	}
	// Subnormal: man × 2^-24; normalise into a float32 normal.
	e := uint32(127 - 15 + 1)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}
