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
