//go:build arm64 && !noasm

package kernels

// DEPTHWISE_CONV_2D on arm64 (depthwise_arm64.s): the vector layout's
// inner products in NEON, a block of dwSB outputs × dwCB channels at a
// time into a tile — float32 with FMLA (fused, as fma32), int8 with MLA on
// the weights' low 16 bits sign-extended, which is VPMADDWD's product for
// the prepared weights (upper half 0) and the gathered x − zp (|x − zp| ≤
// 255) — then bias and clamp, or the int8 output stage, in Go on the tile.
// At the Go GEMM level (LSMS_GEMM=go) the scalar layout runs.

func dwUseSIMD(isI8 bool) bool { return gemmF32Level > gemmLevelGo }

// dwKernF32 is dwKernF32Go.
func dwKernF32(p []float32, offs []int, w []float32, bias *[dwCB]float32, step int, out []float32, ostride int, lo, hi float32, nblk int) {
	nt := len(offs)
	if nblk <= 0 {
		return
	}
	dwCheckTaps(p, offs, w, step, nblk)
	dwCheckOut(out, ostride, nblk)
	var tile [dwSB * dwCB]float32
	for b := range nblk {
		dwF32TileNEON(&p[b*dwSB*step], &offs[0], nt, &w[0], 4*step, &tile)
		o := out[b*dwSB*ostride:]
		for j := range dwSB {
			oj, tj := o[j*ostride:j*ostride+dwCB], tile[j*dwCB:j*dwCB+dwCB]
			for c := range oj {
				oj[c] = ClampF32(tj[c]+bias[c], lo, hi)
			}
		}
	}
}

// dwKernI8 is dwKernI8Go for gathered inputs (|p| < 2¹⁵ in the low half,
// its sign above).
func dwKernI8(p []int32, offs []int, w []int32, step int, tile *[dwSB * dwTileStride]int32) {
	nt := len(offs)
	dwCheckTaps(p, offs, w, step, 1)
	dwI8TileNEON(&p[0], &offs[0], nt, &w[0], 4*step, &tile[0])
}

// dwKernI8Req is dwKernI8ReqGo.
func dwKernI8Req(p []int32, offs []int, w []int32, step int, prm *[dwReqLen]int32, fp bool, out []int8, ostride int, zp, lo, hi int32, nblk int) {
	nt := len(offs)
	if nblk <= 0 {
		return
	}
	dwCheckTaps(p, offs, w, step, nblk)
	dwCheckOut(out, ostride, nblk)
	var tile [dwSB * dwTileStride]int32
	for b := range nblk {
		dwI8TileNEON(&p[b*dwSB*step], &offs[0], nt, &w[0], 4*step, &tile[0])
		dwReqTileGo(&tile, prm, fp, out[b*dwSB*ostride:], ostride, zp, lo, hi)
	}
}

func dwGatherF32(dst, src []float32, sstride int) { dwGatherF32Go(dst, src, sstride) }

func dwGatherI8(dst []int32, src []int8, sstride int, zp int32) { dwGatherI8Go(dst, src, sstride, zp) }

func dwStoreI8(tile *[dwSB * dwTileStride]int32, rows, cols int, out []int8, ldo int, q *gemmQuant) {
	dwStoreI8Go(tile, rows, cols, out, ldo, q)
}

// dwF32TileNEON computes, for the dwSB outputs j of one block,
//
//	for c := range dwCB {
//		acc := float32(0)
//		for t := range nt {
//			acc = fma32(p[(offs[t] + j*step)/4 + c], w[t*dwCB + c], acc)
//		}
//		tile[j*dwCB + c] = acc
//	}
//
// (step in bytes).
//
//go:noescape
func dwF32TileNEON(p *float32, offs *int, nt int, w *float32, step int, tile *[dwSB * dwCB]float32)

// dwI8TileNEON computes, for the dwSB outputs j of one block,
//
//	for c := range dwCB {
//		acc := int32(0)
//		for t := range nt {
//			acc += p[(offs[t] + j*step)/4 + c] * int32(int16(w[t*dwCB + c]))
//		}
//		tile[j*dwTileStride + c] = acc
//	}
//
// (step in bytes; products and sums wrap).
//
//go:noescape
func dwI8TileNEON(p *int32, offs *int, nt int, w *int32, step int, tile *int32)
