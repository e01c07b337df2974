//go:build amd64 && !noasm

package kernels

// transpose8x8F32 stores the transpose of an 8×8 block of 32-bit values
// (strides in bytes), AVX:
//
//	for i := range 8 {
//		for j := range 8 {
//			dst[i*dstStride/4 + j] = src[j*srcStride/4 + i]
//		}
//	}
//
//go:noescape
func transpose8x8F32(dst *uint32, dstStride int, src *uint32, srcStride int)

// transposeBlocks32 does the full 8×8 blocks of a 32-bit tile (rows
// [i0,i1) × columns [j0,j1) of the output, as transposeTiles) in AVX and
// returns the ends of the part done: rows [i0,ie) × columns [j0,je).
func transposeBlocks32(k *transpose, src, dst []uint32, ib, ob, i0, i1, j0, j1 int) (ie, je int) {
	if !cpuAVX2FMA {
		return i0, j0
	}
	qOut, lIn := k.qOutStride, k.lInStr
	ie, je = i0+(i1-i0)&^7, j0+(j1-j0)&^7
	for i := i0; i < ie; i += 8 {
		for j := j0; j < je; j += 8 {
			d, s := ob+i*qOut+j, ib+i+j*lIn
			_, _ = dst[d+7*qOut+7], src[s+7*lIn+7]
			transpose8x8F32(&dst[d], 4*qOut, &src[s], 4*lIn)
		}
	}
	return ie, je
}
