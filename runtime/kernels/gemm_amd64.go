//go:build amd64 && !noasm

package kernels

import (
	"encoding/binary"
	"math"
	"os"
	"unsafe"
)

// GEMM dispatch on amd64: assembly micro-kernels (gemm_amd64.s) chosen by
// CPU features at start-up.
//
//   - float32, AVX2+FMA: 4×8, 4×16 and 4×24 tiles (4, 8 or 12 ymm
//     accumulators) over one to three B panels of 8 columns, bias, clamp
//     and a masked last panel applied in registers.
//   - float32, AVX512F+DQ (at the VNNI level): 4×32 and 4×48 tiles of zmm
//     accumulators, each zmm two B panels at the same k, so the sums are
//     the ymm kernels' bit for bit at twice the FMA width
//     (gemm512_amd64.s); the rest of a row's panels go to the ymm tiles.
//   - int8, AVX512-VNNI: 4×8, 4×16 and 4×24 tiles of VPDPBUSD on ymm
//     registers (uint8 A = a XOR 0x80 = a+128, formed in registers, times
//     int8 B, four products per int32 lane; the B panels' column terms
//     −128·Σb undo the offset).
//   - int8, AVX2 only: a 4×8 tile of VPMADDWD on A and B sign-extended to
//     16 bits (16-bit products and their pair sums are exact).
//   - int8 output stage (AVX2): TFLite's requantization 8 columns at a
//     time, bit for bit (gemmRequantAVX2).
//   - packing (AVX): 4-row interleave of 32-bit elements, for float32 A
//     panels and groups of four int8.
//
// The kernels read A either from a packed panel or straight from four
// rows of the input (1×1 convolutions, FULLY_CONNECTED, BATCH_MATMUL),
// through a row stride rs and a k stride ks. The int8 level must not
// change between packing B and multiplying. LSMS_GEMM=go or LSMS_GEMM=avx2
// in the environment caps the level, LSMS_GEMM=ymm keeps the zmm tiles off
// (for comparisons and debugging).

const (
	gemmLevelGo   = iota // portable Go kernels
	gemmLevelAVX2        // AVX2 + FMA
	gemmLevelVNNI        // AVX2 + FMA + AVX512-VNNI
)

var (
	gemmF32Level int  // gemmLevelGo, gemmLevelAVX2 or (zmm tiles too) gemmLevelVNNI
	gemmI8Level  int  // any level
	gemmZmm      bool // the zmm tiles (float32 and int8) are on
)

func init() { gemmSetLevel(gemmCPULevel()) }

// gemmCPULevel is the best level this CPU runs, capped by LSMS_GEMM.
func gemmCPULevel() int {
	l := gemmLevelGo
	if cpuAVX2FMA {
		l = gemmLevelAVX2
		if cpuAVX512VNNI {
			l = gemmLevelVNNI
		}
	}
	switch os.Getenv("LSMS_GEMM") {
	case "go":
		l = gemmLevelGo
	case "avx2":
		l = min(l, gemmLevelAVX2)
	}
	return l
}

// gemmNoZmm reports LSMS_GEMM=ymm: the VNNI level without the zmm tiles
// (comparisons).
var gemmNoZmm = os.Getenv("LSMS_GEMM") == "ymm"

// gemmSetLevel selects the kernels of level l, one of gemmLevels; int8
// weights packed at another level must not be used afterwards.
func gemmSetLevel(l int) {
	gemmF32Level = min(l, gemmLevelAVX2)
	gemmZmm = l >= gemmLevelVNNI && cpuAVX512DQ && !gemmNoZmm
	if gemmZmm {
		gemmF32Level = gemmLevelVNNI // + the zmm float kernels
	}
	gemmI8Level = l
}

// gemmPackedBSizeI8 is the length (in int64) of a packed int8 B of n×k.
func gemmPackedBSizeI8(n, k int) int {
	if gemmI8Level > gemmLevelGo {
		return gemmPackedBSizeI8Quads(n, k)
	}
	return gemmPackedBSizeI8Pairs(n, k)
}

// gemmPackBI8 packs b(j,k) = src[j*sn+k*sk] (n×k) into dst and, when
// colSum is not nil, stores Σ_k b(j,k) in colSum[j].
func gemmPackBI8(dst []int64, src []int8, n, k, sn, sk int, colSum []int32) {
	if gemmI8Level > gemmLevelGo {
		gemmPackBI8Quads(dst, src, n, k, sn, sk, colSum)
		return
	}
	gemmPackBI8Pairs(dst, src, n, k, sn, sk, colSum)
}

// gemmBOffI8 is the offset in a packed int8 B of column col0, a multiple
// of 8.
func gemmBOffI8(col0, kp int) int {
	if gemmI8Level > gemmLevelGo {
		return col0 / gemmNRQ * gemmQuadPanel(kp)
	}
	return col0 / gemmNRI * 2 * kp
}

// gemmInterleave4F32 stores dst[4c+i] = s_i[c] for c < len(s0).
func gemmInterleave4F32(dst, s0, s1, s2, s3 []float32) {
	n := len(s0)
	if n == 0 {
		return
	}
	if gemmF32Level == gemmLevelGo {
		gemmInterleave4F32Go(dst, s0, s1, s2, s3)
		return
	}
	_, _, _, _ = s1[n-1], s2[n-1], s3[n-1], dst[4*n-1]
	gemmInterleave4(unsafe.Pointer(&dst[0]), unsafe.Pointer(&s0[0]), unsafe.Pointer(&s1[0]),
		unsafe.Pointer(&s2[0]), unsafe.Pointer(&s3[0]), n)
}

// gemmInterleave4I8 stores row i's groups of four, s_i[4q:4q+4], at
// dst[16q+4i:] for q < len(s0)/4 (len(s0) a multiple of 4): four rows of
// an int8 A panel from k = 0.
func gemmInterleave4I8(dst, s0, s1, s2, s3 []int8) {
	n := len(s0) / 4
	if n == 0 {
		return
	}
	if !cpuAVX2FMA {
		gemmInterleave4I8Go(dst, s0, s1, s2, s3)
		return
	}
	_, _, _, _ = s1[4*n-1], s2[4*n-1], s3[4*n-1], dst[16*n-1]
	gemmInterleave4(unsafe.Pointer(&dst[0]), unsafe.Pointer(&s0[0]), unsafe.Pointer(&s1[0]),
		unsafe.Pointer(&s2[0]), unsafe.Pointer(&s3[0]), n)
}

// gemmWidth is the number of 8-column panels (1 to 3) the next call
// covers when r panels are left: 4 is done as 2+2 rather than 3+1, whose
// 4×8 tile has too few accumulators to hide the FMA latency.
func gemmWidth(r int) int {
	switch {
	case r >= 5 || r == 3:
		return 3
	case r >= 2:
		return 2
	}
	return 1
}

// gemmTailMask[8-r:16-r] enables the first r of 8 lanes.
var gemmTailMask = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

// gemmRowF32 multiplies one packed A panel by all of packed B and writes
// rows [0,rows) of the result, plus bias, clamped to [lo,hi], to
// out[i*ldc+j] for j < n.
func gemmRowF32(kp int, ap, bp []float32, n int, out []float32, ldc, rows int, bias []float32, lo, hi float32) {
	if gemmF32Level == gemmLevelGo {
		gemmRowF32Go(kp, ap, bp, n, out, ldc, rows, bias, lo, hi)
		return
	}
	_ = ap[gemmMR*kp-1]
	gemmRowF32AVX2(kp, kp, &ap[0], 4, 4*gemmMR, bp, n, out, ldc, rows, bias, lo, hi)
}

// gemmRowF32Rows is gemmRowF32 for the 4 rows a[i*lda : i*lda+k] of an
// unpacked A (ap: scratch for a packed panel of K = kp).
func gemmRowF32Rows(k, kp int, a []float32, lda int, ap, bp []float32, n int, out []float32, ldc int, bias []float32, lo, hi float32) {
	if gemmF32Level == gemmLevelGo {
		gemmPackRowsF32(ap, a, lda, k)
		gemmRowF32Go(kp, ap, bp, n, out, ldc, gemmMR, bias, lo, hi)
		return
	}
	_ = a[(gemmMR-1)*lda+k-1]
	gemmRowF32AVX2(k, kp, &a[0], 4*lda, 4, bp, n, out, ldc, gemmMR, bias, lo, hi)
}

// gemmRowF32AVX2 is gemmRowF32 for an A of k ≤ kp columns read at
// a(i,kk) = *(a + i*rs + kk*ks) (strides in bytes; the caller has checked
// the bounds).
func gemmRowF32AVX2(k, kp int, a *float32, rs, ks int, bp []float32, n int, out []float32, ldc, rows int, bias []float32, lo, hi float32) {
	np := gemmPanels(n, gemmNRF)
	bs := gemmNRF * kp // panel stride
	_ = bp[np*bs-1]
	inf := float32(math.Inf(1))
	var tile [gemmMR * 6 * gemmNRF]float32
	zmm := gemmZmm
	for p := 0; p < np; {
		w := gemmWidth(np - p)
		if zmm {
			w = gemmWidthZ(np - p)
		}
		n0 := p * gemmNRF
		cols := min(w*gemmNRF, n-n0)
		b := &bp[p*bs]
		if rows == gemmMR {
			_ = out[(gemmMR-1)*ldc+n0+cols-1]
			var bb *float32
			if bias != nil {
				_ = bias[n0+cols-1]
				bb = &bias[n0]
			}
			gemmF32KernW(w, cols, k, a, rs, ks, b, 4*bs, &out[n0], 4*ldc, bb, lo, hi)
		} else {
			gemmF32KernW(w, 8*w, k, a, rs, ks, b, 4*bs, &tile[0], 4*6*gemmNRF, nil, -inf, inf)
			gemmStoreF32(tile[:], 6*gemmNRF, n0, cols, out, ldc, rows, bias, lo, hi)
		}
		p += w
	}
}

// gemmF32KernW runs the float32 tile of w panels (1–3 on ymm, 4 or 6 on
// zmm) whose first cols columns are stored: the last panel's lanes under a
// mask (for zmm a 16-bit one over its last register, more than 8 lanes
// of which are live: its high panel exists, padded in bp).
func gemmF32KernW(w, cols, k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, lo, hi float32) {
	if w >= 4 {
		mask := uint64(1)<<(cols-(w-2)*gemmNRF) - 1
		gemmF32KernZ(w, k, a, rs, ks, b, bs, c, ldc, bias, mask, lo, hi)
		return
	}
	var mask *int32
	if r := cols % gemmNRF; r != 0 {
		mask = &gemmTailMask[gemmNRF-r]
	}
	gemmF32Kern(w, k, a, rs, ks, b, bs, c, ldc, bias, mask, lo, hi)
}

// gemmWidthZ is the number of 8-column panels the next call covers when
// r panels are left and the zmm tiles are on: 6 (4×48) or 4 (4×32), with
// 8 as 4+4 (8 FMA cycles per k, against 6+4 for 4×48 then 4×16 on ymm);
// under 4 the ymm tiles of gemmWidth.
func gemmWidthZ(r int) int {
	switch {
	case r >= 6 && r != 8:
		return 6
	case r >= 4:
		return 4
	}
	return gemmWidth(r)
}

// gemmF32KernZ calls the zmm float32 kernel for w = 6 or 4 panels.
func gemmF32KernZ(w, k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask uint64, lo, hi float32) {
	if w == 6 {
		gemmF32Z48(k, a, rs, ks, b, bs, c, ldc, bias, mask, lo, hi)
		return
	}
	gemmF32Z32(k, a, rs, ks, b, bs, c, ldc, bias, mask, lo, hi)
}

// gemmF32Kern calls the float32 kernel for w panels.
func gemmF32Kern(w, k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask *int32, lo, hi float32) {
	switch w {
	case 3:
		gemmF32K24(k, a, rs, ks, b, bs, c, ldc, bias, mask, lo, hi)
	case 2:
		gemmF32K16(k, a, rs, ks, b, bs, c, ldc, bias, mask, lo, hi)
	default:
		gemmF32K8(k, a, rs, ks, b, bs, c, ldc, bias, mask, lo, hi)
	}
}

// gemmRowI8 is gemmRowF32 for int8 with the requantizing output stage.
func gemmRowI8(kp int, ap []int8, bp []int64, n int, out []int8, ldc, rows int, q *gemmQuant, rowAdd *[gemmMR]int32) {
	if gemmI8Level == gemmLevelGo {
		gemmRowI8Go(kp, ap, bp, n, out, ldc, rows, q, rowAdd)
		return
	}
	_ = ap[gemmMR*kp-1]
	gemmRowI8SIMD(kp/4, kp, &ap[0], 4, 16, bp, n, out, ldc, rows, q, rowAdd)
}

// gemmRowI8Rows is gemmRowI8 for the 4 rows a[i*lda : i*lda+k] of an
// unpacked A (ap: scratch for a packed panel of K = kp).
func gemmRowI8Rows(k, kp int, a []int8, lda int, ap []int8, bp []int64, n int, out []int8, ldc int, q *gemmQuant, rowAdd *[gemmMR]int32) {
	if gemmI8Level == gemmLevelGo || k%4 != 0 {
		gemmPackRowsI8(ap, a, lda, k)
		gemmRowI8(kp, ap, bp, n, out, ldc, gemmMR, q, rowAdd)
		return
	}
	_ = a[(gemmMR-1)*lda+k-1]
	gemmRowI8SIMD(k/4, kp, &a[0], lda, 4, bp, n, out, ldc, gemmMR, q, rowAdd)
}

// gemmRowI8SIMD is gemmRowI8 for an A of 4·kq ≤ kp columns whose group
// of four k number g of row i starts at a + i*rs + g*ks (the caller has
// checked the bounds).
func gemmRowI8SIMD(kq, kp int, a *int8, rs, ks int, bp []int64, n int, out []int8, ldc, rows int, q *gemmQuant, rowAdd *[gemmMR]int32) {
	ps := gemmQuadPanel(kp)
	np := gemmPanels(n, gemmNRQ)
	_ = bp[np*ps-1]
	const half = gemmMR * 3 * gemmNRQ // a 4×24 half of the tile
	var tile [2 * half]int32
	for p := 0; p < np; {
		w := 1
		b := &bp[p*ps]
		if gemmI8Level == gemmLevelVNNI {
			w = gemmWidth(np - p)
			if gemmZmm {
				w = gemmWidthZ(np - p)
			}
			switch w {
			case 6:
				gemmI8Z48VNNI(kq, a, rs, ks, b, 8*ps, &tile[0])
			case 4:
				gemmI8Z32VNNI(kq, a, rs, ks, b, 8*ps, &tile[0])
			case 3:
				gemmI8K24VNNI(kq, a, rs, ks, b, 8*ps, &tile[0])
			case 2:
				gemmI8K16VNNI(kq, a, rs, ks, b, 8*ps, &tile[0])
			default:
				gemmI8K8VNNI(kq, a, rs, ks, b, &tile[0])
			}
		} else {
			gemmI8K8AVX2(kq, a, rs, ks, b, &tile[0])
		}
		// the output stage on each 4×24 half of the tile
		for h := 0; h < min(w*gemmNRQ, n-p*gemmNRQ); h += 3 * gemmNRQ {
			n0 := p*gemmNRQ + h
			cols := min(w*gemmNRQ-h, n-n0, 3*gemmNRQ)
			c := &tile[h/(3*gemmNRQ)*half]
			if q.vScale != nil {
				last := n0 + cols - 1
				_ = out[(rows-1)*ldc+last]
				_, _ = q.colAdd[last], q.vScale[last]
				gemmRequantF32AVX2(c, rows, cols, &out[n0], ldc, &q.colAdd[n0], rowAdd,
					&q.vScale[n0], &gemmTailMask[(8-cols%8)%8], q.zp, q.lo, q.hi, float32(q.lo-q.zp), float32(q.hi-q.zp))
			} else if q.vMul != nil {
				var plain int32
				if !q.vLeftAny && *rowAdd == [gemmMR]int32{} {
					plain = 1
				}
				last := n0 + cols - 1
				_ = out[(rows-1)*ldc+last]
				_, _ = q.colAdd[last], q.vMul[last]
				_, _, _ = q.vLeft[last], q.vRight[last], q.vMask[last]
				gemmRequantAVX2(c, rows, cols, &out[n0], ldc, &q.colAdd[n0], rowAdd,
					&q.vMul[n0], &q.vLeft[n0], &q.vRight[n0], &q.vMask[n0], &gemmTailMask[(8-cols%8)%8], q.zp, q.lo, q.hi, plain)
			} else {
				gemmStoreI8(tile[h/(3*gemmNRQ)*half:], 3*gemmNRQ, n0, cols, out, ldc, rows, q, rowAdd)
			}
		}
		p += w
	}
}

// Assembly kernels. Each doc comment gives the Go loop the kernel
// computes; the gemm*Go functions below are those loops, which the tests
// compare with the assembly bit for bit. Strides are in bytes.

// gemmF32K24 computes a 4×24 float32 tile from three B panels (w = 3):
//
//	for i := range 4 {
//		for j := range 8 * w {
//			var acc float32
//			for kk := range k {
//				acc = fma32(a(i, kk), b[j/8*bs + kk*8 + j%8], acc) // a(i,kk) = a[i*rs + kk*ks]
//			}
//			if bias != nil {
//				acc += bias[j]
//			}
//			if mask == nil || j < 8*(w-1) || mask[j%8] != 0 {
//				c[i*ldc + j] = ClampF32(acc, lo, hi)
//			}
//		}
//	}
//
// (see gemmF32KernGo; the bias of masked-out columns is not read).
//
//go:noescape
func gemmF32K24(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask *int32, lo, hi float32)

// gemmF32Z48 is gemmF32K24 for six panels (w = 6) on zmm registers, the
// last 16 columns stored under mask (bit j: column 32+j); same Go loop.
//
//go:noescape
func gemmF32Z48(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask uint64, lo, hi float32)

// gemmF32Z32 is gemmF32Z48 for four panels (w = 4; mask bit j: column 16+j).
//
//go:noescape
func gemmF32Z32(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask uint64, lo, hi float32)

// gemmF32K16 is gemmF32K24 for w = 2 (8 accumulators).
//
//go:noescape
func gemmF32K16(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask *int32, lo, hi float32)

// gemmF32K8 is gemmF32K24 for w = 1 (4 accumulators).
//
//go:noescape
func gemmF32K8(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask *int32, lo, hi float32)

// gemmI8K24VNNI computes a 4×24 int32 tile from int8 A and three quad
// panels of B (bs apart):
//
//	for i := range 4 {
//		for j := range 8 * w {
//			p := b[j/8*bs:]           // bytes
//			acc := int32(p[4*(j%8)]) // the −128·Σb term, little endian
//			for kk := range 4 * kq {
//				u := int32(uint8(a[i*rs + kk/4*ks + kk%4] ^ -128)) // a + 128
//				acc += u * int32(int8(p[32 + kk/4*32 + (j%8)*4 + kk%4]))
//			}
//			c[i*24 + j] = acc // int32 arithmetic wraps
//		}
//	}
//
// with VPDPBUSD (see gemmI8KernGo).
//
//go:noescape
func gemmI8K24VNNI(kq int, a *int8, rs, ks int, b *int64, bs int, c *int32)

// gemmI8Z48VNNI is gemmI8K24VNNI for six panels (w = 6) on zmm
// registers; the tile is two 4×24 halves (row stride 24, columns 24–47 in
// c[96:]).
//
//go:noescape
func gemmI8Z48VNNI(kq int, a *int8, rs, ks int, b *int64, bs int, c *int32)

// gemmI8Z32VNNI is gemmI8Z48VNNI for four panels (columns 24–31 in c[96:]).
//
//go:noescape
func gemmI8Z32VNNI(kq int, a *int8, rs, ks int, b *int64, bs int, c *int32)

// gemmI8K16VNNI is gemmI8K24VNNI for w = 2.
//
//go:noescape
func gemmI8K16VNNI(kq int, a *int8, rs, ks int, b *int64, bs int, c *int32)

// gemmI8K8VNNI is gemmI8K24VNNI for w = 1.
//
//go:noescape
func gemmI8K8VNNI(kq int, a *int8, rs, ks int, b *int64, c *int32)

// gemmI8K8AVX2 computes the same Σ a·b as gemmI8K8VNNI without the +128
// on A and without the column terms:
//
//	acc := int32(0)
//	for kk := range 4 * kq {
//		acc += int32(a[i*rs + kk/4*ks + kk%4]) * int32(int8(p[32 + kk/4*32 + j*4 + kk%4]))
//	}
//
// with VPMADDWD on 16-bit values.
//
//go:noescape
func gemmI8K8AVX2(kq int, a *int8, rs, ks int, b *int64, c *int32)

// gemmRequantAVX2 is the int8 output stage on cols ≤ 24 columns of the
// tile c (row stride 24):
//
//	for i := range rows {
//		for j := range cols {
//			x := c[i*24+j] + colAdd[j] + rowAdd[i]
//			x = x << left[j]                                   // wraps
//			h := int32((int64(x)*int64(mul[j]) + 1<<30) >> 31) // fits
//			r := h >> right[j]                                 // round half away from zero:
//			if h&mask[j] > mask[j]>>1+int32(uint32(h)>>31) {
//				r++
//			}
//			out[i*ldo+j] = int8(min(max(r+zp, lo), hi))
//		}
//	}
//
// which is gemmMul.apply (see gemmStoreI8); lanes enables the cols%8
// columns of the last group (gemmTailMask), whose parameters it reads
// under that mask. plain ≠ 0 promises left = 0 and rowAdd = 0 (skipped).
//
//go:noescape
func gemmRequantAVX2(c *int32, rows, cols int, out *int8, ldo int, colAdd *int32, rowAdd *[gemmMR]int32, mul, left, right, mask, lanes *int32, zp, lo, hi, plain int32)

// gemmRequantF32AVX2 is the fp32 output stage (gemmMul with fp; XNNPACK's
// requantization) on cols ≤ 24 columns of the tile c (row stride 24):
//
//	for i := range rows {
//		for j := range cols {
//			x := c[i*24+j] + colAdd[j] + rowAdd[i]
//			f := min(max(float32(x)*scale[j], flo), fhi)        // flo = lo − zp, fhi = hi − zp
//			out[i*ldo+j] = int8(int32(math.RoundToEven(f)) + zp) // in [lo, hi]
//		}
//	}
//
// which is RequantizeFP32 clamped to [lo, hi] (see gemmStoreI8); lanes
// enables the cols%8 columns of the last group (gemmTailMask).
//
//go:noescape
func gemmRequantF32AVX2(c *int32, rows, cols int, out *int8, ldo int, colAdd *int32, rowAdd *[gemmMR]int32, scale *float32, lanes *int32, zp, lo, hi int32, flo, fhi float32)

// gemmInterleave4 stores dst[4k+i] = p_i[k] for k < n, 32-bit elements:
//
//	for k := range n {
//		dst[4*k], dst[4*k+1], dst[4*k+2], dst[4*k+3] = p0[k], p1[k], p2[k], p3[k]
//	}
//
// (see gemmInterleave4F32Go).
//
//go:noescape
func gemmInterleave4(dst, p0, p1, p2, p3 unsafe.Pointer, n int)

// gemmF32KernGo is the Go form of gemmF32K8 (w = 1), gemmF32K16 (w = 2)
// and gemmF32K24 (w = 3), with element strides rs, ks, bs and ldc and
// cols ≤ 8w columns written (the mask).
func gemmF32KernGo(w, k int, a []float32, rs, ks int, b []float32, bs int, c []float32, ldc, cols int, bias []float32, lo, hi float32) {
	for i := range gemmMR {
		for j := range cols {
			var acc float32
			for kk := range k {
				acc = fma32(a[i*rs+kk*ks], b[j/gemmNRF*bs+kk*gemmNRF+j%gemmNRF], acc)
			}
			if bias != nil {
				acc += bias[j]
			}
			c[i*ldc+j] = ClampF32(acc, lo, hi)
		}
	}
}

// gemmI8KernGo is the Go form of gemmI8K8VNNI (w = 1), gemmI8K16VNNI
// (w = 2), gemmI8K24VNNI (w = 3), gemmI8Z32VNNI (w = 4), gemmI8Z48VNNI
// (w = 6) and, with vnni false, gemmI8K8AVX2; bs is the panel stride in
// bytes and the tile c is 4×24 halves of row stride 24 (columns 24–47 in
// c[96:]).
func gemmI8KernGo(w, kq int, a []int8, rs, ks int, b []int64, bs int, c []int32, vnni bool) {
	bb := gemmI64Bytes(b)
	for i := range gemmMR {
		for j := range gemmNRQ * w {
			p := bb[j/gemmNRQ*bs:]
			var acc int32
			for kk := range 4 * kq {
				av := a[i*rs+kk/4*ks+kk%4]
				bv := int32(int8(p[32+kk/4*32+(j%gemmNRQ)*4+kk%4]))
				if vnni {
					acc += int32(uint8(av^-128)) * bv
				} else {
					acc += int32(av) * bv
				}
			}
			if vnni {
				acc += int32(binary.LittleEndian.Uint32(p[4*(j%gemmNRQ):]))
			}
			c[j/(3*gemmNRQ)*gemmMR*3*gemmNRQ+i*3*gemmNRQ+j%(3*gemmNRQ)] = acc
		}
	}
}
