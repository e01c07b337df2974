//go:build arm64 && !noasm

package kernels

import "os"

// GEMM dispatch on arm64: NEON micro-kernels (gemm_arm64.s) chosen by CPU
// features at start-up.
//
//   - float32 (every arm64 core): a 4×8 tile per B panel in eight 4-lane
//     FMLA accumulators, A broadcast lane by lane. Go's arm64 compiler
//     fuses the Go kernel's multiply-adds as well, so the two give the
//     same bits (the tests compare them).
//   - int8 with the dot-product extension (FEAT_DotProd, HWCAP ASIMDDP): a
//     4×8 tile of SDOT (by element), four int8 products per int32 lane, on
//     the quad panels of the amd64 VNNI kernels; SDOT multiplies signed by
//     signed, so their −128·Σb column terms are skipped. The int32 sums are
//     the Go kernel's exactly; the output stage is the Go one.
//
// LSMS_GEMM=go in the environment keeps the Go kernels (comparisons).

const (
	gemmLevelGo   = iota // portable Go kernels
	gemmLevelNEON        // float32 NEON
	gemmLevelDot         // float32 NEON + int8 SDOT
)

var (
	gemmF32Level int // gemmLevelGo or gemmLevelNEON
	gemmI8Level  int // gemmLevelDot: SDOT; below: the Go kernel
)

func init() { gemmSetLevel(gemmCPULevel()) }

// gemmCPULevel is the best level this CPU runs, capped by LSMS_GEMM.
func gemmCPULevel() int {
	l := gemmLevelNEON
	if cpuARM64DotProd {
		l = gemmLevelDot
	}
	if os.Getenv("LSMS_GEMM") == "go" {
		l = gemmLevelGo
	}
	return l
}

// gemmSetLevel selects the kernels of level l, one of gemmLevels; int8
// weights packed at another level must not be used afterwards.
func gemmSetLevel(l int) {
	gemmF32Level = min(l, gemmLevelNEON)
	gemmI8Level = l
}

// gemmI8Dot reports whether the int8 GEMM runs the SDOT kernel (quad
// panels).
func gemmI8Dot() bool { return gemmI8Level == gemmLevelDot }

// gemmPackedBSizeI8 is the length (in int64) of a packed int8 B of n×k.
func gemmPackedBSizeI8(n, k int) int {
	if gemmI8Dot() {
		return gemmPackedBSizeI8Quads(n, k)
	}
	return gemmPackedBSizeI8Pairs(n, k)
}

// gemmPackBI8 packs b(j,k) = src[j*sn+k*sk] (n×k) into dst and, when
// colSum is not nil, stores Σ_k b(j,k) in colSum[j].
func gemmPackBI8(dst []int64, src []int8, n, k, sn, sk int, colSum []int32) {
	if gemmI8Dot() {
		gemmPackBI8Quads(dst, src, n, k, sn, sk, colSum)
		return
	}
	gemmPackBI8Pairs(dst, src, n, k, sn, sk, colSum)
}

// gemmBOffI8 is the offset in a packed int8 B of column col0, a multiple
// of 8.
func gemmBOffI8(col0, kp int) int {
	if gemmI8Dot() {
		return col0 / gemmNRQ * gemmQuadPanel(kp)
	}
	return col0 / gemmNRI * 2 * kp
}

// gemmRowF32 multiplies one packed A panel by all of packed B and writes
// rows [0,rows) of the result, plus bias, clamped to [lo,hi], to
// out[i*ldc+j] for j < n.
func gemmRowF32(kp int, ap, bp []float32, n int, out []float32, ldc, rows int, bias []float32, lo, hi float32) {
	if gemmF32Level == gemmLevelGo || kp == 0 || n == 0 {
		gemmRowF32Go(kp, ap, bp, n, out, ldc, rows, bias, lo, hi)
		return
	}
	var c [gemmMR * gemmNRF]float32
	np := gemmPanels(n, gemmNRF)
	_, _ = ap[gemmMR*kp-1], bp[np*gemmNRF*kp-1]
	for p := range np {
		gemmF32K8NEON(kp, &ap[0], &bp[p*gemmNRF*kp], &c)
		gemmStoreF32(c[:], gemmNRF, p*gemmNRF, min(gemmNRF, n-p*gemmNRF), out, ldc, rows, bias, lo, hi)
	}
}

// gemmRowI8 is gemmRowF32 for int8 with the requantizing output stage.
func gemmRowI8(kp int, ap []int8, bp []int64, n int, out []int8, ldc, rows int, q *gemmQuant, rowAdd *[gemmMR]int32) {
	if !gemmI8Dot() || kp == 0 || n == 0 {
		gemmRowI8Go(kp, ap, bp, n, out, ldc, rows, q, rowAdd)
		return
	}
	var c [gemmMR * gemmNRQ]int32
	ps := gemmQuadPanel(kp)
	np := gemmPanels(n, gemmNRQ)
	_, _ = ap[gemmMR*kp-1], bp[np*ps-1]
	for p := range np {
		// past the panel's 8 int32 column terms (4 int64)
		gemmI8K8SDOT(kp/4, &ap[0], &bp[p*ps+4], &c)
		n0 := p * gemmNRQ
		gemmStoreI8(c[:], gemmNRQ, n0, min(gemmNRQ, n-n0), out, ldc, rows, q, rowAdd)
	}
}

// Assembly kernels (gemm_arm64.s).

// gemmF32K8NEON computes gemmKernelF32 (kp ≥ 1) with FMLA:
//
//	for i := range 4 {
//		for j := range 8 {
//			var acc float32
//			for kk := range kp {
//				acc = fma32(ap[kk*4+i], bp[kk*8+j], acc)
//			}
//			c[i*8+j] = acc
//		}
//	}
//
//go:noescape
func gemmF32K8NEON(kp int, ap, bp *float32, c *[gemmMR * gemmNRF]float32)

// gemmI8K8SDOT computes the int32 sums of a 4×8 int8 tile from an A
// panel and the byte part of a quad panel (kq ≥ 1 groups of four k):
//
//	for i := range 4 {
//		for j := range 8 {
//			var acc int32
//			for g := range kq {
//				for t := range 4 {
//					acc += int32(a[16*g+4*i+t]) * int32(b[32*g+4*j+t])
//				}
//			}
//			c[i*8+j] = acc
//		}
//	}
//
//go:noescape
func gemmI8K8SDOT(kq int, a *int8, b *int64, c *[gemmMR * gemmNRQ]int32)
