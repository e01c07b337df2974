package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// GELU (exact erf form, or the tanh approximation when the option
// approximate is set) for float32 and int8. float32 reproduces XNNPACK's
// rational interpolations, which LiteRT runs (bit-exact on the
// conformance cases); int8 is TFLite's lookup table built from
// reference_ops::GeluTransform / GeluTransformApproximate in float32.

func init() {
	Register(schema.BuiltinOperatorGELU, func() Kernel { return &gelu{} })
}

type gelu struct{ ewUnary }

func (k *gelu) Prepare(ctx *Context, n *Node) (int, error) {
	o, err := Options[schema.GeluOptionsT](n)
	if err != nil {
		return 0, err
	}
	if o.Approximate {
		return 0, k.prepareLUTOp(n, geluApproxF32, geluTransformApproximate)
	}
	return 0, k.prepareLUTOp(n, geluF32, geluTransform)
}

const geluSqrt2dPi = 0.79788456080286535587989211986876 // sqrt(2/π)

// geluF32Go is XNNPACK's f32-vgelu (rational 12/10 interpolation of
// erf(x/√2) on x clamped to ±5.1158981323, evaluated in float32 without
// FMA as on WebAssembly), which is what LiteRT runs for float GELU; it
// differs from the exact value by up to ~1e-4 relative in the tails.
// geluF32 (gelu_amd64.go, gelu_noasm.go) is this loop, in AVX2 where the
// machine has it.
func geluF32Go(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = geluXNN(x)
	}
}

func geluXNN(x float32) float32 {
	const maxAbs = 5.1158981323
	v := min(max(x, -maxAbs), maxAbs)
	x2 := float32(v * v)
	p := float32(x2*4.5835321316e-08) + 1.2609783880e-05
	p = float32(x2*p) + 3.2973114867e-04
	p = float32(x2*p) + 9.3065137044e-03
	p = float32(x2*p) + 6.6972173750e-02
	p = float32(x2*p) + 7.9788452387e-01
	p = float32(v * p)
	q := float32(x2*1.1988805682e-06) + 7.2267655923e-05
	q = float32(x2*q) + 1.8622842617e-03
	q = float32(x2*q) + 2.8431978077e-02
	q = float32(x2*q) + 2.5060352683e-01
	q = float32(x2*q) + 1
	erf := float32(p / q)
	return float32(float32(x*0.5) * float32(erf+1))
}

// geluApproxF32 is XNNPACK's f32-vapproxgelu (rational 12/10
// interpolation of the tanh form on x clamped to ±4.86115026, float32
// without FMA), which is what LiteRT runs for float approximate GELU.
func geluApproxF32(dst, src []float32) { ewMapF32(dst, src, geluApproxXNN) }

func geluApproxXNN(x float32) float32 {
	const maxAbs = 4.86115026
	v := min(max(x, -maxAbs), maxAbs)
	x2 := float32(v * v)
	p := float32(x2*4.9544411240e-08) + 1.4302649106e-05
	p = float32(x2*p) + 2.6887017884e-04
	p = float32(x2*p) + 7.2898347862e-03
	p = float32(x2*p) + 6.0803253204e-02
	p = float32(x2*p) + 7.9788458347e-01
	p = float32(v * p)
	q := float32(x2*1.3433452750e-06) + 7.6477612311e-05
	q = float32(x2*q) + 1.3060354395e-03
	q = float32(x2*q) + 2.4381054565e-02
	q = float32(x2*q) + 2.4369759858e-01
	q = float32(x2*q) + 1
	t := float32(p / q)
	return float32(float32(x*0.5) * float32(t+1))
}

// geluTransform is TFLite's 0.5f * x * std::erfc(x * -M_SQRT1_2) in float32.
func geluTransform(x float32) float32 {
	a := float32(x * float32(-math.Sqrt2/2))
	e := float32(math.Erfc(float64(a)))
	return float32(float32(0.5*x) * e)
}

// geluTransformApproximate is TFLite's
// 0.5f * x * (1.f + std::tanh(kSqrt2dPi * (x + 0.044715f * x * x * x))) in float32.
func geluTransformApproximate(x float32) float32 {
	c := float32(geluSqrt2dPi)
	x3 := float32(float32(float32(float32(0.044715)*x)*x) * x)
	inner := float32(c * float32(x+x3))
	t := float32(math.Tanh(float64(inner)))
	return float32(float32(0.5*x) * float32(1+t))
}
