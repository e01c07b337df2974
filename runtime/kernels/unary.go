package kernels

import (
	"errors"
	"math"
	"math/bits"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// RSQRT and SQRT for float32 and int8 (TFLite's elementwise.cc).
//
// float32: 1.f/sqrtf(x) and sqrtf(x). int8 RSQRT is TFLite's fixed-point
// form (GetInvSqrtQuantizedMultiplierExp, then two rescalings); int8 SQRT
// dequantizes, takes sqrtf and truncates (x/out_scale) toward zero, as
// TFLite does. Both are tabulated over the 256 inputs. An input below the
// input zero point (a negative real value) fails Eval, as in TFLite.

func init() {
	Register(schema.BuiltinOperatorRSQRT, func() Kernel { return &sqrtK{inverse: true} })
	Register(schema.BuiltinOperatorSQRT, func() Kernel { return &sqrtK{} })
}

type sqrtK struct {
	ewUnary
	inverse bool
}

var errNegativeInput = errors.New("input has negative values")

func (k *sqrtK) Prepare(ctx *Context, n *Node) (int, error) {
	if err := k.prepareUnary(n); err != nil {
		return 0, err
	}
	if k.in.Type == tflite.Float32 {
		if k.inverse {
			k.f32 = rsqrtF32
		} else {
			k.f32 = sqrtF32
		}
		return 0, nil
	}
	is, izp, err := ewQuantParams(n, k.in)
	if err != nil {
		return 0, err
	}
	os, ozp, err := ewQuantParams(n, k.out)
	if err != nil {
		return 0, err
	}
	if izp > -128 {
		k.checkMin, k.minValid = true, int8(izp)
		k.badErr = n.Errorf("%w", errNegativeInput)
	}
	if k.inverse {
		// 1 / (sqrtf(in_scale) * out_scale), the product in float32.
		m, s := QuantizeMultiplier(1 / float64(float32(float32(math.Sqrt(float64(is)))*os)))
		k.prepareLUT(func(x int8) int8 { return rsqrtQuant(int32(x)-izp, m, s, ozp) })
	} else {
		k.prepareLUT(func(x int8) int8 {
			deq := is * float32(int32(x)-izp)
			if deq < 0 {
				return 0 // rejected at Eval
			}
			r := float32(math.Sqrt(float64(deq)))
			q := int64(float32(r/os)) + int64(ozp) // truncation, as static_cast<int>
			return int8(max(-128, min(127, q)))
		})
	}
	return 0, nil
}

// rsqrtQuant is TFLite's RsqrtEvalQuantizedInt8 for one value v = x − zp.
func rsqrtQuant(v, mult int32, shift int, ozp int32) int8 {
	const kShift = 20
	if v < 0 {
		return 0 // rejected at Eval
	}
	if v == 0 {
		return math.MaxInt8
	}
	im, is := invSqrtQuantizedMultiplierExp(v, -1)
	data := MultiplyByQuantizedMultiplier(1, im, is+kShift)
	out := MultiplyByQuantizedMultiplier(data, mult, shift-kShift) + ozp
	return int8(max(-128, min(127, out)))
}

// invSqrtQuantizedMultiplierExp is TFLite's GetInvSqrtQuantizedMultiplierExp:
// a Newton-Raphson 1/sqrt in gemmlowp fixed point.
func invSqrtQuantizedMultiplierExp(input int32, reverseShift int) (int32, int) {
	if input <= 1 {
		return math.MaxInt32, 0
	}
	shift := 11
	for input >= 1<<29 {
		input /= 4
		shift++
	}
	maxLeftShiftBits := bits.LeadingZeros32(uint32(input)) - 1
	leftShiftBitPairs := maxLeftShiftBits/2 - 1
	shift -= leftShiftBitPairs
	input <<= 2 * leftShiftBitPairs
	// F3 values: 3 integer bits.
	fixedInput := input >> 1
	halfInput := RoundingDivideByPOT(fixedInput, 1)
	const halfThree = int32(1<<28 + 1<<27)
	x := int32(1 << 28) // F3 one
	for range 5 {
		x3 := fpSatShiftLeft(SaturatingRoundingDoublingHighMul(SaturatingRoundingDoublingHighMul(x, x), x), 6)
		x = fpSatShiftLeft(SaturatingRoundingDoublingHighMul(halfThree, x)-SaturatingRoundingDoublingHighMul(halfInput, x3), 3)
	}
	x = SaturatingRoundingDoublingHighMul(x, 1518500250) // × sqrt(2)/2 in F0
	if shift < 0 {
		x <<= -shift
		shift = 0
	}
	return x, shift * reverseShift
}

// fpSatShiftLeft is gemmlowp's SaturatingRoundingMultiplyByPOT for a
// positive exponent.
func fpSatShiftLeft(x int32, e int) int32 {
	threshold := int32(1)<<(31-e) - 1
	switch {
	case x > threshold:
		return math.MaxInt32
	case x < -threshold:
		return math.MinInt32
	}
	return x << e
}

func rsqrtF32(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = 1 / float32(math.Sqrt(float64(x)))
	}
}

func sqrtF32(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = float32(math.Sqrt(float64(x)))
	}
}
