//go:build amd64 && !noasm

package kernels

import "unsafe"

// DEPTHWISE_CONV_2D vector kernels on amd64 (depthwise_amd64.s): 8
// outputs × 8 channels in eight ymm accumulators, float32 with FMA (AVX2
// level), int8 with VPMADDWD + VPADDD (AVX2) or VPDPWSSD (AVX512-VNNI
// level), the int8 sums requantized by gemmRequantAVX2. They follow the
// GEMM levels (gemmSetLevel, LSMS_GEMM): at the Go level the depthwise
// kernel keeps its scalar layout.

// dwUseSIMD reports whether the vector layout runs for float32 or int8.
func dwUseSIMD(isI8 bool) bool {
	if isI8 {
		return gemmI8Level > gemmLevelGo
	}
	return gemmF32Level > gemmLevelGo
}

// dwKernF32 is dwKernF32Go (offs in bytes, step and ostride in elements;
// p must hold every tap of the nblk·dwSB outputs, out as many rows).
func dwKernF32(p []float32, offs []int, w []float32, bias *[dwCB]float32, step int, out []float32, ostride int, lo, hi float32, nblk int) {
	nt := len(offs)
	if nblk <= 0 {
		return
	}
	dwCheckTaps(p, offs, w, step, nblk)
	dwCheckOut(out, ostride, nblk)
	if step == dwCB && gemmZmm {
		dwF32RowZ(&p[0], &offs[0], nt, &w[0], bias, 4*step, &out[0], 4*ostride, lo, hi, nblk)
		return
	}
	dwF32Row(&p[0], &offs[0], nt, &w[0], bias, 4*step, &out[0], 4*ostride, lo, hi, nblk)
}

// dwKernI8 is dwKernI8Go.
func dwKernI8(p []int32, offs []int, w []int32, step int, tile *[dwSB * dwTileStride]int32) {
	nt := len(offs)
	dwCheckTaps(p, offs, w, step, 1)
	if gemmI8Level == gemmLevelVNNI {
		dwI8K8VNNI(&p[0], &offs[0], nt, &w[0], 4*step, &tile[0])
		return
	}
	dwI8K8AVX2(&p[0], &offs[0], nt, &w[0], 4*step, &tile[0])
}

// dwGatherF32 is dwGatherF32Go.
func dwGatherF32(dst, src []float32, sstride int) {
	n := len(dst) / dwCB
	if n == 0 {
		return
	}
	_ = src[(n-1)*sstride+dwCB-1]
	dwGatherF32AVX(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), n, 4*sstride)
}

// dwGatherI8 is dwGatherI8Go.
func dwGatherI8(dst []int32, src []int8, sstride int, zp int32) {
	n := len(dst) / dwCB
	if n == 0 {
		return
	}
	_ = src[(n-1)*sstride+dwCB-1]
	dwGatherI8AVX2(&dst[0], &src[0], n, sstride, zp)
}

// dwStoreI8 is dwStoreI8Go with gemmRequantAVX2.
func dwStoreI8(tile *[dwSB * dwTileStride]int32, rows, cols int, out []int8, ldo int, q *gemmQuant) {
	if q.vScale != nil {
		var zero [gemmMR]int32
		last := cols - 1
		_, _ = q.colAdd[last], q.vScale[last]
		lanes := &gemmTailMask[(8-cols%8)%8]
		for r0 := 0; r0 < rows; r0 += gemmMR {
			n := min(gemmMR, rows-r0)
			_ = out[(r0+n-1)*ldo+last]
			gemmRequantF32AVX2(&tile[r0*dwTileStride], n, cols, &out[r0*ldo], ldo, &q.colAdd[0], &zero,
				&q.vScale[0], lanes, q.zp, q.lo, q.hi, float32(q.lo-q.zp), float32(q.hi-q.zp))
		}
		return
	}
	if q.vMul == nil {
		dwStoreI8Go(tile, rows, cols, out, ldo, q)
		return
	}
	var zero [gemmMR]int32
	var plain int32
	if !q.vLeftAny {
		plain = 1
	}
	last := cols - 1
	_, _ = q.colAdd[last], q.vMul[last]
	_, _, _ = q.vLeft[last], q.vRight[last], q.vMask[last]
	lanes := &gemmTailMask[(8-cols%8)%8]
	for r0 := 0; r0 < rows; r0 += gemmMR {
		n := min(gemmMR, rows-r0)
		_ = out[(r0+n-1)*ldo+last]
		gemmRequantAVX2(&tile[r0*dwTileStride], n, cols, &out[r0*ldo], ldo, &q.colAdd[0], &zero,
			&q.vMul[0], &q.vLeft[0], &q.vRight[0], &q.vMask[0], lanes, q.zp, q.lo, q.hi, plain)
	}
}

// dwF32Row computes dwKernF32Go with FMA (step, ostride in bytes), for
// nblk blocks of 8 outputs (block b: p + 8b·step, out + 8b·ostride):
//
//	for j := range 8 {
//		for c := range 8 {
//			acc := float32(0)
//			for t := range nt {
//				acc = fma32(p[(offs[t] + j*step)/4 + c], w[8*t + c], acc)
//			}
//			out[(j*ostride)/4 + c] = ClampF32(acc + bias[c], lo, hi)
//		}
//	}
//
//go:noescape
func dwF32Row(p *float32, offs *int, nt int, w *float32, bias *[dwCB]float32, step int, out *float32, ostride int, lo, hi float32, nblk int)

// dwF32RowZ is dwF32Row for step = 32 bytes (stride 1) on zmm: two
// outputs per register, the same FMAs per output in the same order (the
// same bits), at the zmm level (gemmZmm).
//
//go:noescape
func dwF32RowZ(p *float32, offs *int, nt int, w *float32, bias *[dwCB]float32, step int, out *float32, ostride int, lo, hi float32, nblk int)

// dwI8RowVNNIZ is dwI8RowVNNI for step = 32 bytes on zmm (two outputs per
// register, exact int32 sums).
//
//go:noescape
func dwI8RowVNNIZ(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)

// dwI8RowVNNIFZ is dwI8RowVNNIF for step = 32 bytes on zmm.
//
//go:noescape
func dwI8RowVNNIFZ(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)

// dwI8K8AVX2 computes dwKernI8Go with VPMADDWD and VPADDD (step in bytes):
//
//	for j := range 8 {
//		for c := range 8 {
//			acc := int32(0)
//			for t := range nt {
//				acc += maddwd(p[(offs[t] + j*step)/4 + c], w[8*t + c])
//			}
//			tile[24*j + c] = acc
//		}
//	}
//
//go:noescape
func dwI8K8AVX2(p *int32, offs *int, nt int, w *int32, step int, tile *int32)

// dwI8K8VNNI is dwI8K8AVX2 with VPDPWSSD.
//
//go:noescape
func dwI8K8VNNI(p *int32, offs *int, nt int, w *int32, step int, tile *int32)

// dwGatherF32AVX copies n groups of 8 float32 from src (sstride bytes
// apart) to dst (contiguous).
//
//go:noescape
func dwGatherF32AVX(dst, src unsafe.Pointer, n, sstride int)

// dwGatherI8AVX2 stores int32(src[x*sstride + c]) − zp at dst[8x + c] for
// x < n, c < 8.
//
//go:noescape
func dwGatherI8AVX2(dst *int32, src *int8, n, sstride int, zp int32)

// dwI8RowAVX2 is dwKernI8ReqGo with VPMADDWD and VPADDD (step and
// ostride in bytes; prm: colAdd, mul, left, right, mask of the 8
// channels) for nblk blocks of 8 outputs (block b: p + 8b·step, out +
// 8b·ostride).
//
//go:noescape
func dwI8RowAVX2(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)

// dwI8RowVNNI is dwI8RowAVX2 with VPDPWSSD.
//
//go:noescape
func dwI8RowVNNI(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)

// dwI8RowAVX2F is dwI8RowAVX2 with the fp32 output stage of
// gemmRequantF32AVX2: prm = colAdd, scale, lo − zp, hi − zp (8 lanes
// each; the scales and bounds as float32 bits).
//
//go:noescape
func dwI8RowAVX2F(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)

// dwI8RowVNNIF is dwI8RowAVX2F with VPDPWSSD.
//
//go:noescape
func dwI8RowVNNIF(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)

// dwKernI8Req is dwKernI8ReqGo.
func dwKernI8Req(p []int32, offs []int, w []int32, step int, prm *[dwReqLen]int32, fp bool, out []int8, ostride int, zp, lo, hi int32, nblk int) {
	nt := len(offs)
	if nblk <= 0 {
		return
	}
	dwCheckTaps(p, offs, w, step, nblk)
	dwCheckOut(out, ostride, nblk)
	if step == dwCB && gemmZmm && gemmI8Level == gemmLevelVNNI {
		if fp {
			dwI8RowVNNIFZ(&p[0], &offs[0], nt, &w[0], 4*step, &prm[0], &out[0], ostride, zp, lo, hi, nblk)
			return
		}
		dwI8RowVNNIZ(&p[0], &offs[0], nt, &w[0], 4*step, &prm[0], &out[0], ostride, zp, lo, hi, nblk)
		return
	}
	if fp {
		if gemmI8Level == gemmLevelVNNI {
			dwI8RowVNNIF(&p[0], &offs[0], nt, &w[0], 4*step, &prm[0], &out[0], ostride, zp, lo, hi, nblk)
			return
		}
		dwI8RowAVX2F(&p[0], &offs[0], nt, &w[0], 4*step, &prm[0], &out[0], ostride, zp, lo, hi, nblk)
		return
	}
	if gemmI8Level == gemmLevelVNNI {
		dwI8RowVNNI(&p[0], &offs[0], nt, &w[0], 4*step, &prm[0], &out[0], ostride, zp, lo, hi, nblk)
		return
	}
	dwI8RowAVX2(&p[0], &offs[0], nt, &w[0], 4*step, &prm[0], &out[0], ostride, zp, lo, hi, nblk)
}
