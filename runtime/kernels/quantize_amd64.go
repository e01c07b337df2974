//go:build amd64 && !noasm

package kernels

// QUANTIZE and DEQUANTIZE loops on amd64 (quantize_amd64.s, AVX2): 16
// float32 → int8, 32 int8 → float32 or 16 int8 → int8 per iteration, the
// tail in Go. Each computes its Go twin (quantizeF32Go, dequantizeI8Go,
// requantizeXNNGo) bit for bit.

// quantizeF32 is quantizeF32Go.
func quantizeF32(dst []int8, src []float32, scale float32, zp int32) {
	n := len(src)
	dst = dst[:n]
	m := n &^ 15
	if cpuAVX2FMA && m > 0 {
		inv, lo, hi := 1/scale, float32(-128-zp), float32(127-zp)
		if cpuAVX512VNNI {
			quantF32I8AVX512(&dst[0], &src[0], m, inv, lo, hi, zp)
		} else {
			quantF32I8AVX2(&dst[0], &src[0], m, inv, lo, hi, zp)
		}
	} else {
		m = 0
	}
	quantizeF32Go(dst[m:], src[m:], scale, zp)
}

// dequantizeI8 is dequantizeI8Go.
func dequantizeI8(dst []float32, src []int8, scale float32, zp int32) {
	n := len(src)
	dst = dst[:n]
	m := n &^ 31
	if cpuAVX2FMA && m > 0 {
		dequantI8F32AVX2(&dst[0], &src[0], m, scale, zp)
	} else {
		m = 0
	}
	dequantizeI8Go(dst[m:], src[m:], scale, zp)
}

// requantizeXNNI8 is requantizeXNNGo.
func requantizeXNNI8(dst, src []int8, inZP, mult, outZP int32) {
	n := len(src)
	dst = dst[:n]
	m := n &^ 15
	if cpuAVX2FMA && m > 0 {
		requantXNNAVX2(&dst[0], &src[0], m, inZP, mult, outZP)
	} else {
		m = 0
	}
	requantizeXNNGo(dst[m:], src[m:], inZP, mult, outZP)
}

// quantF32I8AVX2 is quantizeF32Go for n, a multiple of 16, elements,
// given inv = 1/scale, lo = −128 − zp and hi = 127 − zp as float32: NaN
// lanes zeroed, x·inv, clamped to [lo, hi], VCVTPS2DQ (nearest even under
// the default MXCSR), + zp.
//
//go:noescape
func quantF32I8AVX2(dst *int8, src *float32, n int, inv, lo, hi float32, zp int32)

// quantF32I8AVX512 is quantF32I8AVX2 on 16 lanes (AVX-512F).
//
//go:noescape
func quantF32I8AVX512(dst *int8, src *float32, n int, inv, lo, hi float32, zp int32)

// dequantI8F32AVX2 is dequantizeI8Go for n, a multiple of 32, elements.
//
//go:noescape
func dequantI8F32AVX2(dst *float32, src *int8, n int, scale float32, zp int32)

// requantXNNAVX2 is requantizeXNNGo for n, a multiple of 16, elements.
//
//go:noescape
func requantXNNAVX2(dst, src *int8, n int, inZP, mult, outZP int32)
