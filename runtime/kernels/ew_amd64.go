//go:build amd64 && !noasm

package kernels

// The float32 ADD/SUB/MUL rows in AVX (ew_amd64.s): each computes, for n a
// positive multiple of 8,
//
//	for i := range n {
//		dst[i] = ClampF32(A(i) op B(i), lo, hi)
//	}
//
// with A(i) = a[i] (VV, VS) or a[0] (SV) and B(i) = b[i] (VV, SV) or b[0]
// (VS): the Go rows of add.go and mul.go, bit for bit.

//go:noescape
func ewAddF32VV(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewSubF32VV(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewMulF32VV(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewAddF32SV(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewSubF32SV(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewMulF32SV(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewAddF32VS(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewSubF32VS(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewMulF32VS(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewDivF32VV(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewDivF32SV(dst, a, b *float32, n int, lo, hi float32)

//go:noescape
func ewDivF32VS(dst, a, b *float32, n int, lo, hi float32)

// ewKernelsF32[op][mode]: op 0 ADD, 1 SUB, 2 MUL, 3 DIV; mode 0 VV, 1 SV
// (a broadcast), 2 VS (b broadcast).
var ewKernelsF32 = [4][3]func(dst, a, b *float32, n int, lo, hi float32){
	{ewAddF32VV, ewAddF32SV, ewAddF32VS},
	{ewSubF32VV, ewSubF32SV, ewSubF32VS},
	{ewMulF32VV, ewMulF32SV, ewMulF32VS},
	{ewDivF32VV, ewDivF32SV, ewDivF32VS},
}

// ewBinF32SIMD runs the leading multiple of 8 of a float32 ADD/SUB/MUL/DIV
// row (op 0/1/2/3; ia, ib the input strides, 0 for a broadcast value) in AVX and
// returns how many elements it did; the caller does the rest.
func ewBinF32SIMD(op int, dst, a, b []float32, ia, ib int, lo, hi float32) int {
	m := len(dst) &^ 7
	if !cpuAVX2FMA || m == 0 {
		return 0
	}
	mode := 0
	switch {
	case ia == 1 && ib == 1:
		_, _ = a[m-1], b[m-1]
	case ib == 1:
		mode = 1
		_, _ = a[0], b[m-1]
	case ia == 1:
		mode = 2
		_, _ = a[m-1], b[0]
	default:
		return 0
	}
	ewKernelsF32[op][mode](&dst[0], &a[0], &b[0], m, lo, hi)
	return m
}

// ewAddI8XNN is the XNNPACK-form int8 ADD/SUB row (addQuantParams.rowXNN
// with both inputs vectors) on n, a positive multiple of 8, elements, b
// read as a row of bn (a multiple of 8 dividing n) repeated:
//
//	v := (bias + int32(a[i])*xa + int32(b[i%bn])*xb) >> shift
//	dst[i] = int8(min(max(v, lo), hi) + zp)
//
//go:noescape
func ewAddI8XNN(dst, a, b *int8, n int, xa, xb, bias, shift, lo, hi, zp int32, bn int)

// ewMulI8XNN is the XNNPACK-form int8 MUL row on n, a positive multiple of
// 8, elements:
//
//	v := (int32(a[i])*ka + ca) * (int32(b[i%bn])*kb + cb)
//	f := min(max(float32(v)*scale, lo), hi)
//	dst[i] = int8(int32(math.RoundToEven(float64(f))) + zp)
//
// (bn as for ewAddI8XNN).
//
//go:noescape
func ewMulI8XNN(dst, a, b *int8, n int, ka, ca, kb, cb int32, scale, lo, hi float32, zp int32, bn int)

// rowXNNSIMD does the leading multiple of 8 of an XNNPACK-form int8
// ADD/SUB row in AVX2 (a broadcast input folded into the bias) and
// returns how many elements it did.
func (p *addQuantParams) rowXNNSIMD(dst, a, b []int8, ia, ib int) int {
	m := len(dst) &^ 7
	if !cpuAVX2FMA || m == 0 || (ia == 0 && ib == 0) {
		return 0
	}
	xa, xb, bias := p.xa, p.xb, p.xBias
	ap, bp := &a[0], &b[0]
	switch {
	case ia == 0: // a broadcast
		bias += int32(a[0]) * xa
		xa, ap = 0, bp
		_ = b[m-1]
	case ib == 0: // b broadcast
		bias += int32(b[0]) * xb
		xb, bp = 0, ap
		_ = a[m-1]
	default:
		_, _ = a[m-1], b[m-1]
	}
	ewAddI8XNN(&dst[0], ap, bp, m, xa, xb, bias, int32(p.xShift&31), p.lo-p.oZP, p.hi-p.oZP, p.oZP, m)
	return m
}

// rowsXNNSIMD does rows×inner elements of an XNNPACK-form int8 ADD/SUB,
// a contiguous and b one row of inner values repeated, in one vector call
// (inner a multiple of 8); false when it cannot.
func (p *addQuantParams) rowsXNNSIMD(dst, a, b []int8, rows, inner int) bool {
	n := rows * inner
	if !cpuAVX2FMA || inner%8 != 0 || n == 0 {
		return false
	}
	_, _, _ = dst[n-1], a[n-1], b[inner-1]
	ewAddI8XNN(&dst[0], &a[0], &b[0], n, p.xa, p.xb, p.xBias, int32(p.xShift&31), p.lo-p.oZP, p.hi-p.oZP, p.oZP, inner)
	return true
}

// rowsXNNSIMD is addQuantParams.rowsXNNSIMD for MUL.
func (p *mulQuantParams) rowsXNNSIMD(dst, a, b []int8, rows, inner int) bool {
	n := rows * inner
	if !cpuAVX2FMA || inner%8 != 0 || n == 0 {
		return false
	}
	_, _, _ = dst[n-1], a[n-1], b[inner-1]
	ewMulI8XNN(&dst[0], &a[0], &b[0], n, 1, p.aOff, 1, p.bOff, p.xScale, float32(p.lo-p.oZP), float32(p.hi-p.oZP), p.oZP, inner)
	return true
}

// rowXNNSIMD is addQuantParams.rowXNNSIMD for MUL.
func (p *mulQuantParams) rowXNNSIMD(dst, a, b []int8, ia, ib int) int {
	m := len(dst) &^ 7
	if !cpuAVX2FMA || m == 0 || (ia == 0 && ib == 0) {
		return 0
	}
	ka, ca, kb, cb := int32(1), p.aOff, int32(1), p.bOff
	ap, bp := &a[0], &b[0]
	switch {
	case ia == 0:
		ka, ca, ap = 0, int32(a[0])+p.aOff, bp
		_ = b[m-1]
	case ib == 0:
		kb, cb, bp = 0, int32(b[0])+p.bOff, ap
		_ = a[m-1]
	default:
		_, _ = a[m-1], b[m-1]
	}
	ewMulI8XNN(&dst[0], ap, bp, m, ka, ca, kb, cb, p.xScale, float32(p.lo-p.oZP), float32(p.hi-p.oZP), p.oZP, m)
	return m
}

// reduceAddI8AVX2 adds n, a positive multiple of 8, int8 values to int32
// accumulators:
//
//	for j := range n {
//		acc[j] += int32(src[j])
//	}
//
//go:noescape
func reduceAddI8AVX2(acc *int32, src *int8, n int)

// reduceAddRowI8SIMD does the leading multiple of 8 of reduceAddRowI8 and
// returns how many it did (len(acc) ≥ len(in)).
func reduceAddRowI8SIMD(acc []int32, in []int8) int {
	m := len(in) &^ 7
	if !cpuAVX2FMA || m == 0 {
		return 0
	}
	_, _ = acc[m-1], in[m-1]
	reduceAddI8AVX2(&acc[0], &in[0], m)
	return m
}

// resizeXNNI8AVX2 is one output pixel of resizeBilinear.rowsXNN on n, a
// positive multiple of 8, channels:
//
//	for ch := range n {
//		vt := int32(tl[ch])<<11 + (int32(tr[ch])-int32(tl[ch]))*ah
//		vb := int32(bl[ch])<<11 + (int32(br[ch])-int32(bl[ch]))*ah
//		o[ch] = int8((vt<<11 + (vb-vt)*av + 1<<21) >> 22)
//	}
//
//go:noescape
func resizeXNNI8AVX2(o, tl, tr, bl, br *int8, n int, ah, av int32)

// resizeXNNPixelSIMD does the leading multiple of 8 channels of one
// output pixel and returns how many it did.
func resizeXNNPixelSIMD(o, tl, tr, bl, br []int8, ah, av int32) int {
	m := len(o) &^ 7
	if !cpuAVX2FMA || m == 0 {
		return 0
	}
	_, _, _, _, _ = o[m-1], tl[m-1], tr[m-1], bl[m-1], br[m-1]
	resizeXNNI8AVX2(&o[0], &tl[0], &tr[0], &bl[0], &br[0], m, ah, av)
	return m
}

// ewAddF32VR, ewSubF32VR and ewMulF32VR are the VV rows over rows × inner
// elements with b one row repeated (a per-channel operand of an NHWC
// tensor), inner a positive multiple of 8:
//
//	for r := range rows {
//		for j := range inner {
//			dst[r*inner+j] = ClampF32(a[r*inner+j] op b[j], lo, hi)
//		}
//	}
//
//go:noescape
func ewAddF32VR(dst, a, b *float32, rows, inner int, lo, hi float32)

//go:noescape
func ewSubF32VR(dst, a, b *float32, rows, inner int, lo, hi float32)

//go:noescape
func ewMulF32VR(dst, a, b *float32, rows, inner int, lo, hi float32)

//go:noescape
func ewDivF32VR(dst, a, b *float32, rows, inner int, lo, hi float32)

var ewKernelsF32VR = [4]func(dst, a, b *float32, rows, inner int, lo, hi float32){ewAddF32VR, ewSubF32VR, ewMulF32VR, ewDivF32VR}

// ewBinF32RowsSIMD runs rows × inner elements of a float32 ADD/SUB/MUL
// whose b is one row repeated, if the vector kernel can (inner a multiple
// of 8), and reports whether it did.
func ewBinF32RowsSIMD(op int, dst, a, b []float32, rows, inner int, lo, hi float32) bool {
	if !cpuAVX2FMA || rows == 0 || inner == 0 || inner%8 != 0 {
		return false
	}
	_, _, _ = dst[rows*inner-1], a[rows*inner-1], b[inner-1]
	ewKernelsF32VR[op](&dst[0], &a[0], &b[0], rows, inner, lo, hi)
	return true
}

// softmaxExpAVX2 computes, for n a positive multiple of 8,
//
//	for i := range n {
//		e := softmaxExpF32(float32(float32(src[i]-m) * beta))
//		dst[i] = e
//		sums[i%8] += e
//	}
//
// (AVX2, no FMA, bit for bit with the Go loop).
//
//go:noescape
func softmaxExpAVX2(dst, src *float32, n int, m, beta float32, sums *[8]float32)

// divMulAddAVX computes divMulAddF32Go for n a positive multiple of 8
// (VMULPS, VADDPS, VDIVPS: the same roundings).
//
//go:noescape
func divMulAddAVX(dst, a, b, d *float32, n int, c float32)

// divMulAddF32 is divMulAddF32Go, the leading multiple of 8 with AVX.
func divMulAddF32(dst, a, b, d []float32, c float32) {
	n := len(dst) &^ 7
	if cpuAVX2FMA && n > 0 {
		_, _, _ = a[n-1], b[n-1], d[n-1]
		divMulAddAVX(&dst[0], &a[0], &b[0], &d[0], n, c)
	} else {
		n = 0
	}
	divMulAddF32Go(dst[n:], a[n:], b[n:], d[n:], c)
}

// softmaxMaxAVX stores the largest of src[:n] (n a positive multiple of
// 8) in out and reports true when none is NaN (when one is, out is not
// the Go max and the caller must not use it).
//
//go:noescape
func softmaxMaxAVX(src *float32, n int, out *float32) bool

// scaleF32AVX computes dst[i] *= s for i < n, n a positive multiple of 8.
//
//go:noescape
func scaleF32AVX(dst *float32, n int, s float32)

// softmaxMaxSIMD returns max(src...) with Go's max semantics for the
// leading multiple of 8 of src, and false when it did not (too short, no
// AVX2, or a NaN that the caller's Go loop must propagate).
func softmaxMaxSIMD(src []float32) (float32, bool) {
	n := len(src) &^ 7
	if !cpuAVX2FMA || n == 0 {
		return 0, false
	}
	_ = src[n-1]
	var m float32
	ok := softmaxMaxAVX(&src[0], n, &m)
	return m, ok
}

// scaleSIMD multiplies the leading multiple of 8 of dst by s and returns
// how many it did.
func scaleSIMD(dst []float32, s float32) int {
	n := len(dst) &^ 7
	if !cpuAVX2FMA || n == 0 {
		return 0
	}
	_ = dst[n-1]
	scaleF32AVX(&dst[0], n, s)
	return n
}

// softmaxExpSIMD does the leading multiple of 8 of softmaxExpRow and
// returns how many it did.
func softmaxExpSIMD(dst, src []float32, m, beta float32, sums *[8]float32) int {
	n := len(src) &^ 7
	if !cpuAVX2FMA || n == 0 {
		return 0
	}
	_, _ = dst[n-1], src[n-1]
	softmaxExpAVX2(&dst[0], &src[0], n, m, beta, sums)
	return n
}
