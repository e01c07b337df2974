//go:build amd64 && !noasm

package kernels

// reduceRowsI8AVX2 adds the columns of rows×n int8 values (row stride
// stride bytes) to n int32 accumulators, n a positive multiple of 8 and
// rows ≥ 1:
//
//	for j := range n {
//		for r := range rows {
//			acc[j] += int32(src[r*stride+j])
//		}
//	}
//
//go:noescape
func reduceRowsI8AVX2(acc *int32, src *int8, n, rows, stride int)

// reduceRowsF32AVX is reduceRowsI8AVX2 for float32 (stride in elements),
// each column summed in row order as the loop says (acc[j] + src[...] in
// float32, one row after the other): the bits of the row-by-row loop.
//
//go:noescape
func reduceRowsF32AVX(acc *float32, src *float32, n, rows, stride int)

// reduceRowsI8SIMD does the leading multiple of 8 of the columns of
// reduceRows for int8 and returns how many it did.
func reduceRowsI8SIMD(acc []int32, src []int8, n, rows, stride int) int {
	return reduceRowsSIMD(acc, src, n, rows, stride, reduceRowsI8AVX2)
}

// reduceRowsF32SIMD is reduceRowsI8SIMD for float32.
func reduceRowsF32SIMD(acc, src []float32, n, rows, stride int) int {
	return reduceRowsSIMD(acc, src, n, rows, stride, reduceRowsF32AVX)
}

func reduceRowsSIMD[A, S any](acc []A, src []S, n, rows, stride int, kern func(*A, *S, int, int, int)) int {
	m := n &^ 7
	if !cpuAVX2FMA || m == 0 || rows == 0 {
		return 0
	}
	_, _ = acc[m-1], src[(rows-1)*stride+m-1]
	kern(&acc[0], &src[0], m, rows, stride)
	return m
}
