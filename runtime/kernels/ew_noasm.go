//go:build noasm || !amd64

package kernels

// ewBinF32SIMD does nothing without the vector kernels.
func ewBinF32SIMD(op int, dst, a, b []float32, ia, ib int, lo, hi float32) int { return 0 }

func (p *addQuantParams) rowXNNSIMD(dst, a, b []int8, ia, ib int) int { return 0 }

func (p *mulQuantParams) rowXNNSIMD(dst, a, b []int8, ia, ib int) int { return 0 }

func (p *addQuantParams) rowsXNNSIMD(dst, a, b []int8, rows, inner int) bool { return false }

func (p *mulQuantParams) rowsXNNSIMD(dst, a, b []int8, rows, inner int) bool { return false }

func reduceAddRowI8SIMD(acc []int32, in []int8) int { return 0 }

func resizeXNNPixelSIMD(o, tl, tr, bl, br []int8, ah, av int32) int { return 0 }

func ewBinF32RowsSIMD(op int, dst, a, b []float32, rows, inner int, lo, hi float32) bool {
	return false
}

func softmaxExpSIMD(dst, src []float32, m, beta float32, sums *[8]float32) int { return 0 }

func softmaxMaxSIMD(src []float32) (float32, bool) { return 0, false }

func scaleSIMD(dst []float32, s float32) int { return 0 }

func reduceRowsI8SIMD(acc []int32, src []int8, n, rows, stride int) int { return 0 }

func reduceRowsF32SIMD(acc, src []float32, n, rows, stride int) int { return 0 }

func divMulAddF32(dst, a, b, d []float32, c float32) { divMulAddF32Go(dst, a, b, d, c) }
