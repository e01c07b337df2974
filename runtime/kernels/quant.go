package kernels

import (
	"math"
)

// QuantizeMultiplier expresses a real multiplier as a Q31 fixed-point
// value and a power-of-two exponent, real ≈ q × 2^(shift−31), as TFLite's
// QuantizeMultiplier does (round half away from zero of the mantissa).
func QuantizeMultiplier(real float64) (q int32, shift int) {
	if real == 0 {
		return 0, 0
	}
	frac, exp := math.Frexp(real)
	qf := int64(math.Round(frac * (1 << 31)))
	if qf == 1<<31 {
		qf /= 2
		exp++
	}
	if exp < -31 {
		return 0, 0
	}
	if exp > 30 {
		return math.MaxInt32, 30
	}
	return int32(qf), exp
}

// RequantScaleFP32 is the float32 requantization scale XNNPACK's QS8
// convolution and fully-connected operators compute from the TFLite
// tensors' scales, in float32 arithmetic and in this order:
// in_scale · w_scale / out_scale.
func RequantScaleFP32(inScale, wScale, outScale float32) float32 {
	return float32(float32(inScale*wScale) / outScale)
}

// RequantizeFP32 is XNNPACK's "fp32" requantization of an int32
// accumulator (the TFLite XNNPACK delegate's, which LiteRT runs for
// CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED): the accumulator
// converted to float32, multiplied by the float32 scale, rounded to the
// nearest integer with ties to even. The result is clamped to ±2³⁰ so
// that adding a zero point cannot overflow; callers clamp to int8.
func RequantizeFP32(acc int32, scale float32) int32 {
	r := math.RoundToEven(float64(float32(acc) * scale))
	return int32(max(-1<<30, min(1<<30, r)))
}

// refRequant is the output stage of the reference int8 convolutions and
// fully-connected layers for channel c: RequantizeFP32 by scale[c], or
// with scale nil MultiplyByQuantizedMultiplier by mult[c], shift[c].
func refRequant(acc int32, scale []float32, mult []int32, shift []int, c int) int32 {
	if scale != nil {
		return RequantizeFP32(acc, scale[c])
	}
	return MultiplyByQuantizedMultiplier(acc, mult[c], shift[c])
}

// SaturatingRoundingDoublingHighMul returns the high 32 bits of 2·a·b,
// rounded to nearest (gemmlowp's SaturatingRoundingDoublingHighMul).
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == b && a == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	return int32((ab + nudge) / (1 << 31))
}

// RoundingDivideByPOT divides by 2^exponent rounding half away from zero
// (gemmlowp's RoundingDivideByPOT).
func RoundingDivideByPOT(x int32, exponent int) int32 {
	mask := int32(1)<<exponent - 1
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> exponent
	if remainder > threshold {
		r++
	}
	return r
}

// MultiplyByQuantizedMultiplier computes x × q × 2^(shift−31) with
// TFLite's rounding (the default, double-rounding variant).
func MultiplyByQuantizedMultiplier(x, q int32, shift int) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x*(1<<left), q), right)
}

// MultiplyByQuantizedMultiplierSmallerThanOneExp is TFLite's variant for
// shift ≤ 0.
func MultiplyByQuantizedMultiplierSmallerThanOneExp(x, q int32, shift int) int32 {
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, q), -shift)
}

// MultiplyByQuantizedMultiplierGreaterThanOne is TFLite's variant for shift ≥ 0.
func MultiplyByQuantizedMultiplierGreaterThanOne(x, q int32, shift int) int32 {
	return SaturatingRoundingDoublingHighMul(x*(1<<shift), q)
}

// ActivationRangeInt8 returns the clamp range of a fused activation on an
// int8 output with the given scale and zero point (TFLite's
// CalculateActivationRangeQuantized).
func ActivationRangeInt8(act int8Act, scale float32, zp int32) (lo, hi int32) {
	lo, hi = math.MinInt8, math.MaxInt8
	q := func(f float32) int32 {
		v := int64(zp) + int64(math.Round(float64(f/scale)))
		return int32(max(math.MinInt32, min(math.MaxInt32, v)))
	}
	switch act {
	case actRelu:
		lo = max(lo, q(0))
	case actRelu6:
		lo = max(lo, q(0))
		hi = min(hi, q(6))
	case actReluN1To1:
		lo = max(lo, q(-1))
		hi = min(hi, q(1))
	}
	return lo, hi
}

// ClampInt8 saturates v to [lo,hi].
func ClampInt8(v, lo, hi int32) int8 {
	return int8(max(lo, min(hi, v)))
}
