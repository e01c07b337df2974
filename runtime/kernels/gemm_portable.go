//go:build noasm || !amd64

package kernels

// GEMM entry points shared by the builds without amd64's row kernels
// (noasm, other architectures, arm64): A is always packed here.

// gemmRowF32Rows is gemmRowF32 for the 4 rows a[i*lda : i*lda+k] of an
// unpacked A (ap: scratch for a packed panel of K = kp).
func gemmRowF32Rows(k, kp int, a []float32, lda int, ap, bp []float32, n int, out []float32, ldc int, bias []float32, lo, hi float32) {
	gemmPackRowsF32(ap, a, lda, k)
	gemmRowF32(kp, ap, bp, n, out, ldc, gemmMR, bias, lo, hi)
}

// gemmRowI8Rows is gemmRowI8 for the 4 rows a[i*lda : i*lda+k] of an
// unpacked A (ap: scratch for a packed panel of K = kp).
func gemmRowI8Rows(k, kp int, a []int8, lda int, ap []int8, bp []int64, n int, out []int8, ldc int, q *gemmQuant, rowAdd *[gemmMR]int32) {
	gemmPackRowsI8(ap, a, lda, k)
	gemmRowI8(kp, ap, bp, n, out, ldc, gemmMR, q, rowAdd)
}

// gemmInterleave4F32 stores dst[4c+i] = s_i[c] for c < len(s0).
func gemmInterleave4F32(dst, s0, s1, s2, s3 []float32) { gemmInterleave4F32Go(dst, s0, s1, s2, s3) }

// gemmInterleave4I8 stores row i's groups of four, s_i[4q:4q+4], at
// dst[16q+4i:] for q < len(s0)/4 (len(s0) a multiple of 4).
func gemmInterleave4I8(dst, s0, s1, s2, s3 []int8) { gemmInterleave4I8Go(dst, s0, s1, s2, s3) }
