//go:build noasm || !(amd64 || arm64)

package kernels

// Portable GEMM dispatch: the Go micro-kernels of gemm.go, int8 B in lane
// pairs.

// gemmPackedBSizeI8 is the length (in int64) of a packed int8 B of n×k.
func gemmPackedBSizeI8(n, k int) int { return gemmPackedBSizeI8Pairs(n, k) }

// gemmPackBI8 packs b(j,k) = src[j*sn+k*sk] (n×k) into dst and, when
// colSum is not nil, stores Σ_k b(j,k) in colSum[j].
func gemmPackBI8(dst []int64, src []int8, n, k, sn, sk int, colSum []int32) {
	gemmPackBI8Pairs(dst, src, n, k, sn, sk, colSum)
}

// gemmBOffI8 is the offset in a packed int8 B of column col0, a multiple
// of 8.
func gemmBOffI8(col0, kp int) int { return col0 / gemmNRI * 2 * kp }

// gemmRowF32 multiplies one packed A panel by all of packed B and writes
// rows [0,rows) of the result, plus bias, clamped to [lo,hi], to
// out[i*ldc+j] for j < n.
func gemmRowF32(kp int, ap, bp []float32, n int, out []float32, ldc, rows int, bias []float32, lo, hi float32) {
	gemmRowF32Go(kp, ap, bp, n, out, ldc, rows, bias, lo, hi)
}

// gemmRowI8 is gemmRowF32 for int8 with the requantizing output stage.
func gemmRowI8(kp int, ap []int8, bp []int64, n int, out []int8, ldc, rows int, q *gemmQuant, rowAdd *[gemmMR]int32) {
	gemmRowI8Go(kp, ap, bp, n, out, ldc, rows, q, rowAdd)
}

// gemmLevels lists the kernel levels this machine runs (tests).
func gemmLevels() []int { return []int{0} }

// gemmSetLevel selects a level of gemmLevels (a no-op here).
func gemmSetLevel(int) {}

// gemmRowF32Rows is gemmRowF32 for the 4 rows a[i*lda : i*lda+k] of an
// unpacked A (ap: scratch for a packed panel of K = kp).
func gemmRowF32Rows(k, kp int, a []float32, lda int, ap, bp []float32, n int, out []float32, ldc int, bias []float32, lo, hi float32) {
	gemmPackRowsF32(ap, a, lda, k)
	gemmRowF32Go(kp, ap, bp, n, out, ldc, gemmMR, bias, lo, hi)
}

// gemmRowI8Rows is gemmRowI8 for the 4 rows a[i*lda : i*lda+k] of an
// unpacked A (ap: scratch for a packed panel of K = kp).
func gemmRowI8Rows(k, kp int, a []int8, lda int, ap []int8, bp []int64, n int, out []int8, ldc int, q *gemmQuant, rowAdd *[gemmMR]int32) {
	gemmPackRowsI8(ap, a, lda, k)
	gemmRowI8Go(kp, ap, bp, n, out, ldc, gemmMR, q, rowAdd)
}

// gemmInterleave4F32 stores dst[4c+i] = s_i[c] for c < len(s0).
func gemmInterleave4F32(dst, s0, s1, s2, s3 []float32) { gemmInterleave4F32Go(dst, s0, s1, s2, s3) }

// gemmInterleave4I8 stores row i's groups of four, s_i[4q:4q+4], at
// dst[16q+4i:] for q < len(s0)/4 (len(s0) a multiple of 4).
func gemmInterleave4I8(dst, s0, s1, s2, s3 []int8) { gemmInterleave4I8Go(dst, s0, s1, s2, s3) }
