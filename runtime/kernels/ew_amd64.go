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

// ewKernelsF32[op][mode]: op 0 ADD, 1 SUB, 2 MUL; mode 0 VV, 1 SV (a
// broadcast), 2 VS (b broadcast).
var ewKernelsF32 = [3][3]func(dst, a, b *float32, n int, lo, hi float32){
	{ewAddF32VV, ewAddF32SV, ewAddF32VS},
	{ewSubF32VV, ewSubF32SV, ewSubF32VS},
	{ewMulF32VV, ewMulF32SV, ewMulF32VS},
}

// ewBinF32SIMD runs the leading multiple of 8 of a float32 ADD/SUB/MUL row
// (op 0/1/2; ia, ib the input strides, 0 for a broadcast value) in AVX and
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
