//go:build noasm || !(amd64 || arm64)

package kernels

// Portable DEPTHWISE_CONV_2D: the scalar layout of depthwise_conv2d.go
// (the vector layout's Go kernels stay available to the tests).

func dwUseSIMD(isI8 bool) bool { return false }

func dwKernF32(p []float32, offs []int, w []float32, bias *[dwCB]float32, step int, out []float32, ostride int, lo, hi float32, nblk int) {
	dwKernF32Go(p, offs, w, bias, step, out, ostride, lo, hi, nblk)
}

func dwKernI8(p []int32, offs []int, w []int32, step int, tile *[dwSB * dwTileStride]int32) {
	dwKernI8Go(p, offs, w, step, tile)
}

func dwGatherF32(dst, src []float32, sstride int) { dwGatherF32Go(dst, src, sstride) }

func dwGatherI8(dst []int32, src []int8, sstride int, zp int32) { dwGatherI8Go(dst, src, sstride, zp) }

func dwStoreI8(tile *[dwSB * dwTileStride]int32, rows, cols int, out []int8, ldo int, q *gemmQuant) {
	dwStoreI8Go(tile, rows, cols, out, ldo, q)
}

func dwKernI8Req(p []int32, offs []int, w []int32, step int, prm *[dwReqLen]int32, fp bool, out []int8, ostride int, zp, lo, hi int32, nblk int) {
	dwKernI8ReqGo(p, offs, w, step, prm, fp, out, ostride, zp, lo, hi, nblk)
}
