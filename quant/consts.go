package quant

import (
	"encoding/binary"
	"math"

	"github.com/lsms-edge/lsms/tflite"
)

// qparams are per-tensor affine int8 parameters.
type qparams struct {
	scale float32
	zp    int64
}

// minScale bounds int8 scales from below: a tensor whose range is narrower
// than 255 × minScale holds values too small to matter next to float32
// activations of order one.
const minScale = 1e-9

// paramsFromRange returns asymmetric int8 parameters for [lo, hi], widened
// to include 0 (which must be exactly representable).
func paramsFromRange(lo, hi float64) qparams {
	lo, hi = min(lo, 0), max(hi, 0)
	scale := (hi - lo) / 255
	if !(scale >= minScale) { // also NaN
		scale = minScale
	}
	s := float32(scale)
	zp := math.Round(-128 - lo/float64(s))
	zp = max(-128, min(127, zp))
	return qparams{scale: s, zp: int64(zp)}
}

func (p qparams) quant() *tflite.Quantization {
	return &tflite.Quantization{Scale: []float32{p.scale}, ZeroPoint: []int64{p.zp}}
}

func paramsOf(t *tflite.Tensor) qparams {
	return qparams{scale: t.Quant.Scale[0], zp: t.Quant.ZeroPoint[0]}
}

// quantizeValue is TFLite's AffineQuantize of one value: round half away
// from zero of x/scale (float32), plus the zero point, saturated.
func quantizeValue(x, scale float32, zp int64) int8 {
	r := math.Round(float64(x / scale))
	if r != r {
		r = 0
	}
	q := int64(max(-1<<31, min(r, 1<<31-1))) + zp
	return int8(max(-128, min(127, q)))
}

// floats decodes a float32 constant buffer.
func floats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func int8Bytes(v []int8) []byte {
	out := make([]byte, len(v))
	for i, x := range v {
		out[i] = byte(x)
	}
	return out
}

// dataRange returns the finite minimum and maximum of v (0, 0 if none).
func dataRange(v []float32) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		lo, hi = min(lo, f), max(hi, f)
	}
	if lo > hi {
		return 0, 0
	}
	return lo, hi
}

// quantizePerTensor quantizes v with p.
func quantizePerTensor(v []float32, p qparams) []int8 {
	out := make([]int8, len(v))
	for i, x := range v {
		out[i] = quantizeValue(x, p.scale, p.zp)
	}
	return out
}

// quantizePerAxis quantizes v (shape) symmetrically per slice along axis:
// scale = max|w|/127 per slice (1 for an all-zero slice), zero point 0,
// values in [−127, 127].
func quantizePerAxis(v []float32, shape []int, axis int) ([]int8, []float32) {
	n := shape[axis]
	inner := 1
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	absMax := make([]float64, n)
	for i, x := range v {
		c := (i / inner) % n
		if f := math.Abs(float64(x)); f > absMax[c] && !math.IsInf(f, 0) {
			absMax[c] = f
		}
	}
	scales := make([]float32, n)
	for c, a := range absMax {
		scales[c] = 1
		if a > 0 {
			scales[c] = float32(a / 127)
		}
	}
	out := make([]int8, len(v))
	for i, x := range v {
		c := (i / inner) % n
		q := quantizeValue(x, scales[c], 0)
		out[i] = max(q, -127)
	}
	return out, scales
}

// quantizeBias returns int32 biases with scale inScale × wScale[c] (one
// weight scale for per-tensor weights) and the number of values that had
// to be saturated.
func quantizeBias(b []float32, inScale float32, wScales []float32) ([]int32, []float32, int) {
	out := make([]int32, len(b))
	scales := make([]float32, len(b))
	clamped := 0
	for c, x := range b {
		ws := wScales[0]
		if len(wScales) > 1 {
			ws = wScales[c]
		}
		s := float32(float64(inScale) * float64(ws))
		scales[c] = s
		r := math.Round(float64(x) / float64(s))
		if r != r {
			r = 0
		}
		if r > math.MaxInt32 || r < -math.MaxInt32 {
			clamped++
			r = max(-math.MaxInt32, min(math.MaxInt32, r))
		}
		out[c] = int32(r)
	}
	return out, scales, clamped
}

func int32Bytes(v []int32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
	}
	return out
}

// float32ToHalf converts to IEEE 754 binary16 bits, rounding to nearest
// even; overflow gives ±Inf, underflow gradual (subnormals) then ±0.
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp == 0 && mant == 0:
		return sign
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half: shift the mantissa (with its implicit 1) right.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // may carry into the exponent, up to Inf: correct rounding
	}
	return sign | uint16(h)
}

// halfToFloat32 converts binary16 bits to float32.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		f := float32(mant) / (1 << 24)
		if sign != 0 {
			return -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}
