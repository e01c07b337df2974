package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// QUANTIZE: float32 → int8 (per tensor, or per axis for constants) and
// int8 → int8 requantization.
//
// float32 → int8, per tensor, is what LiteRT computes: the XNNPACK
// delegate's f32-qs8 conversion, x·(1/scale) in float32 (the reciprocal
// rounded to float32 first), clamped to [−128 − zp, 127 − zp], rounded to
// nearest even, plus the zero point (quantizeF32XNN; measured on the
// shipped int8 model, TFLite's AffineQuantize — x/scale rounded half away
// from zero — differs from LiteRT on 3 of 66,564 input values, and those
// three flipped units changed 65 % of the logits by a unit or more).
// Per-axis (constants only) stays TFLite's AffineQuantize
// (quantizeF32ToI8), which XNNPACK does not take.
//
// int8 → int8: LiteRT hands this node to XNNPACK whenever the scale ratio
// r = in_scale/out_scale (float32) lies in [2^-8, 2^7], and XNNPACK's
// qs8-vcvt uses an 8-bit fixed-point multiplier m = lrintf(256·r):
// out = ((x − in_zp)·m + (out_zp<<8) + 0x80) >> 8. TFLite's own Requantize
// (MultiplyByQuantizedMultiplier with its double rounding) differs from it
// by one unit on ~15% of values, so we use XNNPACK's form in that range
// (it is what LiteRT returns) and TFLite's Requantize outside it, where
// XNNPACK declines the node and TFLite's kernel runs.

func init() {
	Register(schema.BuiltinOperatorQUANTIZE, func() Kernel { return &quantize{} })
}

// elementwiseGrain is the smallest chunk of a parallel elementwise loop.
const elementwiseGrain = 8192

type quantize struct {
	in, out *Tensor
	// float → int8
	scales []float32 // per outer channel (len 1 for per tensor)
	zps    []int32
	inner  int // elements per channel step (per axis); 0 for per tensor
	nch    int
	// int8 → int8
	mult      int32
	shift     int
	inZP, oZP int32
	xnnMult   int32 // XNNPACK Q8 multiplier; 0 means TFLite's Requantize
	run       func(lo, hi int)
}

func (k *quantize) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 1, 1); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	in, out := n.Inputs[0], n.Outputs[0]
	k.in, k.out = in, out
	if out.Type != tflite.Int8 {
		return 0, n.Unsupportedf("output type %v (int8 only)", out.Type)
	}
	if !out.Quantized() {
		return 0, n.Errorf("output %s has no quantization parameters", out)
	}
	SetShape(out, in.Shape)
	switch in.Type {
	case tflite.Float32:
		k.scales, k.zps = out.Scale, out.ZeroPoint
		for _, s := range k.scales {
			if !(s > 0) {
				return 0, n.Errorf("output scale %g is not positive", s)
			}
		}
		if len(out.Scale) > 1 {
			d := out.QDim
			if d < 0 || d >= len(out.Shape) || out.Shape[d] != len(out.Scale) {
				return 0, n.Errorf("per-axis output has %d scales for dimension %d of %v", len(out.Scale), d, out.Shape)
			}
			k.nch = out.Shape[d]
			k.inner = 1
			for _, s := range out.Shape[d+1:] {
				k.inner *= s
			}
			k.run = k.evalPerAxis
		} else {
			k.run = k.evalF32
		}
	case tflite.Int8:
		if !in.Quantized() {
			return 0, n.Errorf("input %s has no quantization parameters", in)
		}
		if len(in.Scale) > 1 || len(out.Scale) > 1 {
			return 0, n.Unsupportedf("per-axis int8 requantization")
		}
		k.mult, k.shift = QuantizeMultiplier(float64(in.Scale[0]) / float64(out.Scale[0]))
		k.inZP, k.oZP = in.ZeroPoint[0], out.ZeroPoint[0]
		k.xnnMult = requantizeXNNMultiplier(in.Scale[0], out.Scale[0])
		k.run = k.evalI8
	default:
		return 0, n.Unsupportedf("input type %v (float32 or int8)", in.Type)
	}
	return 0, nil
}

func (k *quantize) Eval(ctx *Context, n *Node) error {
	if len(k.scales) > 1 {
		ctx.Pool.Run(k.out.NumElements()/max(k.inner, 1), max(1, elementwiseGrain/max(k.inner, 1)), k.run)
		return nil
	}
	ctx.Pool.Run(k.out.NumElements(), elementwiseGrain, k.run)
	return nil
}

// quantizeF32ToI8 is TFLite's AffineQuantize for one value.
func quantizeF32ToI8(x, scale float32, zp int32) int8 {
	r := float64(x / scale)
	// std::round on float: half away from zero. Clamp before converting
	// so that huge values and infinities saturate; NaN maps to zp.
	r = math.Round(r)
	if r != r {
		r = 0
	}
	v := max(-1<<31, min(r, 1<<31-1))
	q := int64(v) + int64(zp)
	return int8(max(-128, min(127, q)))
}

func (k *quantize) evalF32(lo, hi int) {
	quantizeF32(k.out.I8()[lo:hi], k.in.F32()[lo:hi], k.scales[0], k.zps[0])
}

// quantizeF32XNN is XNNPACK's f32 → qs8 conversion of one value given
// inv = 1/scale rounded to float32: x·inv clamped to [−128 − zp, 127 − zp]
// (NaN taken as 0), rounded to nearest even, plus zp.
func quantizeF32XNN(x, inv float32, zp int32) int8 {
	if x != x {
		x = 0
	}
	f := min(max(x*inv, float32(-128-zp)), float32(127-zp))
	return int8(int32(math.RoundToEven(float64(f))) + zp)
}

// quantizeF32Go is quantizeF32XNN over a slice (inv = 1/scale).
func quantizeF32Go(dst []int8, src []float32, scale float32, zp int32) {
	dst = dst[:len(src)]
	inv := 1 / scale
	for i, x := range src {
		dst[i] = quantizeF32XNN(x, inv, zp)
	}
}

// evalPerAxis handles rows [lo,hi) of (outer×channel) × inner.
func (k *quantize) evalPerAxis(lo, hi int) {
	src, dst := k.in.F32(), k.out.I8()
	for r := lo; r < hi; r++ {
		c := r % k.nch
		s, zp := k.scales[c], k.zps[c]
		for i := r * k.inner; i < (r+1)*k.inner; i++ {
			dst[i] = quantizeF32ToI8(src[i], s, zp)
		}
	}
}

// requantizeI8 is TFLite's Requantize for one value.
func requantizeI8(x int8, inZP int32, mult int32, shift int, outZP int32) int8 {
	v := MultiplyByQuantizedMultiplier(int32(x)-inZP, mult, shift) + outZP
	return int8(max(-128, min(127, v)))
}

// requantizeXNNMultiplier returns XNNPACK's Q8 multiplier lrintf(256·r)
// for r = in_scale/out_scale in [2^-8, 2^7], else 0.
func requantizeXNNMultiplier(inScale, outScale float32) int32 {
	r := inScale / outScale
	if !(r >= 1.0/256 && r <= 128) {
		return 0
	}
	return int32(math.RoundToEven(float64(256 * r)))
}

// requantizeXNN is XNNPACK's qs8-vcvt for one value.
func requantizeXNN(x int8, inZP, mult, outZP int32) int8 {
	v := ((int32(x)-inZP)*mult + outZP<<8 + 0x80) >> 8
	return int8(max(-128, min(127, v)))
}

// requantizeXNNGo is requantizeXNN over a slice.
func requantizeXNNGo(dst, src []int8, inZP, mult, outZP int32) {
	dst = dst[:len(src)]
	add := outZP<<8 + 0x80
	for i, x := range src {
		v := ((int32(x)-inZP)*mult + add) >> 8
		dst[i] = int8(max(-128, min(127, v)))
	}
}

func (k *quantize) evalI8(lo, hi int) {
	src, dst := k.in.I8()[lo:hi], k.out.I8()[lo:hi]
	if k.xnnMult != 0 {
		requantizeXNNI8(dst, src, k.inZP, k.xnnMult, k.oZP)
		return
	}
	for i, x := range src {
		dst[i] = requantizeI8(x, k.inZP, k.mult, k.shift, k.oZP)
	}
}
