package kernels

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// Shared matrix-multiplication core of CONV_2D, FULLY_CONNECTED and
// BATCH_MATMUL.
//
// C[m][n] = Σ_k A[m][k]·B[n][k]: A holds activations (one row per output
// pixel or batch row), B the weights (one row per output channel). A is
// packed per panel of gemmMR rows, B once per panel of columns; K is
// padded with zeros to a multiple of gemmKU so that the micro-kernels need
// no remainder loop. The micro-kernels come in a portable Go form (this
// file) and, on amd64, in assembly chosen at run time by CPU features
// (gemm_amd64.go; the noasm build tag forces the Go form). The assembly
// kernels can also read A straight from four rows of the input
// (gemmRowF32Rows, gemmRowI8Rows), which saves packing 1×1 convolutions,
// FULLY_CONNECTED and BATCH_MATMUL.
//
// float32: A panels are interleaved by k (ap[k*gemmMR+i]), B panels hold
// gemmNRF = 8 columns (bp[k*8+j]), the layout of the AVX2 FMA kernels
// (4×8, 4×16 and 4×24 register tiles over one to three B panels). The Go
// kernel computes a 4×8 tile as four 4×2 tiles in 8 scalar accumulators
// (the Go compiler keeps them in registers without spilling, unlike
// larger tiles).
//
// int8: A panels are interleaved by groups of four k (ap[(k/4)*16 + i*4 +
// k%4]), the order in which VPDPBUSD consumes them. The Go kernel reads B
// as lane pairs (gemmPackBI8Pairs) and computes a 4×4 tile with two
// products per 64-bit multiply: a B column pair is stored as b0 + b1·2³² and a·(b0 + b1·2³²) =
// a·b0 + a·b1·2³², so one IMUL accumulates two int32 dot products exactly
// as long as each fits in 32 bits (|Σ| < 2³¹, true for K < 2¹⁷ int8×int8
// products); the lanes are separated at the end. The SIMD kernels read B
// as panels of 8 columns by groups of four k (gemmPackBI8Quads), led by
// the column sums times −128 that undo the +128 the VNNI kernels add to A
// (VPDPBUSD multiplies unsigned by signed bytes). Every path gives the
// same int32 sums bit for bit.
//
// Each output element is computed by exactly one call, summing k in a fixed
// order, so results do not depend on how panels are spread over threads.

const (
	gemmMR  = 4 // rows per micro-tile
	gemmNRF = 8 // float32 columns per packed B panel
	gemmNRI = 4 // int8 columns per lane-pair panel of the Go kernel
	gemmNRQ = 8 // int8 columns per quad panel of the SIMD kernels
	gemmKU  = 8 // K is padded to a multiple of this
)

// gemmPadK rounds k up to the packing unit.
func gemmPadK(k int) int { return (k + gemmKU - 1) / gemmKU * gemmKU }

// gemmPanels is the number of panels of size r covering n.
func gemmPanels(n, r int) int { return (n + r - 1) / r }

// gemmGrain returns the number of row panels per parallel chunk so that a
// chunk does at least ~32k multiply-adds.
func gemmGrain(n, kp int) int {
	work := gemmMR * max(n, 1) * max(kp, 1)
	return max(1, (1<<15)/work)
}

// gemmPackedBSizeF32 is the length of a packed float32 B of n×k.
func gemmPackedBSizeF32(n, k int) int { return gemmPanels(n, gemmNRF) * gemmNRF * gemmPadK(k) }

// gemmPackBF32 packs b(j,k) = src[j*sn+k*sk] (n×k) into dst.
func gemmPackBF32(dst, src []float32, n, k, sn, sk int) {
	kp := gemmPadK(k)
	np := gemmPanels(n, gemmNRF)
	dst = dst[:np*gemmNRF*kp]
	if sn == 1 && n%gemmNRF == 0 {
		// Columns contiguous (a k-major source): eight at a time, in
		// the order they lie in memory.
		for p := range np {
			d := dst[p*gemmNRF*kp : (p+1)*gemmNRF*kp]
			for kk := range k {
				copy(d[kk*gemmNRF:(kk+1)*gemmNRF], src[kk*sk+p*gemmNRF:kk*sk+p*gemmNRF+gemmNRF])
			}
			clear(d[k*gemmNRF:])
		}
		return
	}
	for p := range np {
		d := dst[p*gemmNRF*kp : (p+1)*gemmNRF*kp]
		for j := range gemmNRF {
			col := p*gemmNRF + j
			if col >= n {
				for kk := range kp {
					d[kk*gemmNRF+j] = 0
				}
				continue
			}
			base := col * sn
			for kk := range k {
				d[kk*gemmNRF+j] = src[base+kk*sk]
			}
			for kk := k; kk < kp; kk++ {
				d[kk*gemmNRF+j] = 0
			}
		}
	}
}

// gemmPackedBSizeI8Pairs is the length (in int64) of an n×k int8 B packed
// in lane pairs.
func gemmPackedBSizeI8Pairs(n, k int) int { return gemmPanels(n, gemmNRI) * 2 * gemmPadK(k) }

// gemmPackBI8Pairs packs b(j,k) = src[j*sn+k*sk] (n×k) into lane pairs
// and, when colSum is not nil, stores Σ_k b(j,k) in colSum[j].
func gemmPackBI8Pairs(dst []int64, src []int8, n, k, sn, sk int, colSum []int32) {
	kp := gemmPadK(k)
	np := gemmPanels(n, gemmNRI)
	dst = dst[:np*2*kp]
	for p := range np {
		d := dst[p*2*kp : (p+1)*2*kp]
		for q := range 2 {
			c0, c1 := p*gemmNRI+2*q, p*gemmNRI+2*q+1
			var s0, s1 int32
			for kk := range kp {
				var v0, v1 int64
				if kk < k {
					if c0 < n {
						v0 = int64(src[c0*sn+kk*sk])
						s0 += int32(v0)
					}
					if c1 < n {
						v1 = int64(src[c1*sn+kk*sk])
						s1 += int32(v1)
					}
				}
				d[kk*2+q] = v0 + v1<<32
			}
			if colSum != nil {
				if c0 < n {
					colSum[c0] = s0
				}
				if c1 < n {
					colSum[c1] = s1
				}
			}
		}
	}
}

// gemmQuadPanel is the length in int64 of one quad panel of gemmNRQ
// columns: 8 int32 column terms, then kp/4 groups of 8 columns × 4 k.
func gemmQuadPanel(kp int) int { return kp + 4 }

// gemmPackedBSizeI8Quads is the length (in int64) of an n×k int8 B packed
// in quad panels.
func gemmPackedBSizeI8Quads(n, k int) int {
	return gemmPanels(n, gemmNRQ) * gemmQuadPanel(gemmPadK(k))
}

// gemmPackBI8Quads packs b(j,k) = src[j*sn+k*sk] (n×k) into quad panels:
// panel p starts with int32 −128·Σ_k b(8p+j,k) for j < 8 (the correction
// of the +128 on A), then byte b(8p+j, 4q+t) at offset 32 + 32q + 4j + t.
// When colSum is not nil it stores Σ_k b(j,k) in colSum[j].
func gemmPackBI8Quads(dst []int64, src []int8, n, k, sn, sk int, colSum []int32) {
	kp := gemmPadK(k)
	ps := gemmQuadPanel(kp)
	np := gemmPanels(n, gemmNRQ)
	dst = dst[:np*ps]
	for p := range np {
		d := gemmI64Bytes(dst[p*ps : (p+1)*ps])
		for j := range gemmNRQ {
			col := p*gemmNRQ + j
			var s int32
			if col < n {
				base := col * sn
				for kk := range k {
					v := src[base+kk*sk]
					d[32+kk>>2*32+j*4+kk&3] = byte(v)
					s += int32(v)
				}
			} else {
				for kk := range k {
					d[32+kk>>2*32+j*4+kk&3] = 0
				}
			}
			for kk := k; kk < kp; kk++ {
				d[32+kk>>2*32+j*4+kk&3] = 0
			}
			binary.LittleEndian.PutUint32(d[4*j:], uint32(-128*s))
			if colSum != nil && col < n {
				colSum[col] = s
			}
		}
	}
}

// gemmI64Bytes views v as bytes.
func gemmI64Bytes(v []int64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v))
}

// gemmI8Bytes views v as bytes.
func gemmI8Bytes(v []int8) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v))
}

// gemmPackAF32 packs rows [m0,m0+rows) of a(m,k) = src[m*sm+k*sk] into one
// A panel (rows < gemmMR are zero filled).
func gemmPackAF32(dst, src []float32, m0, rows, k, sm, sk int) {
	kp := gemmPadK(k)
	dst = dst[:kp*gemmMR]
	if sm == 1 && rows == gemmMR && k > 0 {
		// a transposed A (BATCH_MATMUL adj_x): the panel's four values of
		// each k are adjacent in the source
		src = src[m0 : m0+(k-1)*sk+gemmMR]
		for kk := range k {
			copy(dst[kk*gemmMR:kk*gemmMR+gemmMR], src[kk*sk:kk*sk+gemmMR])
		}
		clear(dst[k*gemmMR:])
		return
	}
	for i := range gemmMR {
		if i >= rows {
			for kk := range kp {
				dst[kk*gemmMR+i] = 0
			}
			continue
		}
		base := (m0 + i) * sm
		if sk == 1 {
			row := src[base : base+k]
			for kk, v := range row {
				dst[kk*gemmMR+i] = v
			}
		} else {
			for kk := range k {
				dst[kk*gemmMR+i] = src[base+kk*sk]
			}
		}
		for kk := k; kk < kp; kk++ {
			dst[kk*gemmMR+i] = 0
		}
	}
}

// gemmAIdxI8 is the index of a(i,k) in an int8 A panel.
func gemmAIdxI8(i, k int) int { return k>>2*16 + i*4 + k&3 }

// gemmPutAI8 stores a(i, k0+c) = src[c] into an int8 A panel.
func gemmPutAI8(dst []int8, i, k0 int, src []int8) {
	c := 0
	for ; c < len(src) && (k0+c)&3 != 0; c++ {
		dst[gemmAIdxI8(i, k0+c)] = src[c]
	}
	for ; c+4 <= len(src); c += 4 {
		o := (k0+c)>>2*16 + i*4
		d := dst[o : o+4 : o+4]
		s := src[c : c+4 : c+4]
		d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
	}
	for ; c < len(src); c++ {
		dst[gemmAIdxI8(i, k0+c)] = src[c]
	}
}

// gemmPut4I8 stores a(i, k0+c) = s[i][c] for the 4 rows of an int8 A
// panel (the s[i] of equal length).
func gemmPut4I8(dst []int8, k0 int, s *[gemmMR][]int8) {
	c := 0
	if k0&3 == 0 {
		c = len(s[0]) &^ 3
		gemmInterleave4I8(dst[k0*4:(k0+c)*4], s[0][:c], s[1][:c], s[2][:c], s[3][:c])
	}
	for i := range gemmMR {
		gemmPutAI8(dst, i, k0+c, s[i][c:])
	}
}

// gemmFillAI8 stores a(i, k0+c) = v for c < n into an int8 A panel.
func gemmFillAI8(dst []int8, i, k0, n int, v int8) {
	for c := range n {
		dst[gemmAIdxI8(i, k0+c)] = v
	}
}

// gemmPackAI8 is gemmPackAF32 for int8 (layout in the file comment); when
// rowSum is not nil it stores Σ_k a(m0+i,k) in rowSum[i].
func gemmPackAI8(dst, src []int8, m0, rows, k, sm, sk int, rowSum *[gemmMR]int32) {
	kp := gemmPadK(k)
	dst = dst[:kp*gemmMR]
	for i := range gemmMR {
		var s int32
		if i >= rows {
			gemmFillAI8(dst, i, 0, kp, 0)
		} else {
			base := (m0 + i) * sm
			if sk == 1 {
				row := src[base : base+k]
				gemmPutAI8(dst, i, 0, row)
				if rowSum != nil {
					s = gemmSumI8(row)
				}
			} else {
				for kk := range k {
					v := src[base+kk*sk]
					dst[gemmAIdxI8(i, kk)] = v
					s += int32(v)
				}
			}
			gemmFillAI8(dst, i, k, kp-k, 0)
		}
		if rowSum != nil {
			rowSum[i] = s
		}
	}
}

// gemmPackA4F32 packs gemmMR full contiguous rows of length k (stride k),
// the common case of a 1×1 convolution or a fully connected layer.
func gemmPackA4F32(dst, src []float32, m0, k int) {
	gemmPackRowsF32(dst, src[m0*k:], k, k)
}

// gemmPackRowsF32 packs the gemmMR rows src[i*lda : i*lda+k] into dst.
func gemmPackRowsF32(dst, src []float32, lda, k int) {
	kp := gemmPadK(k)
	dst = dst[:kp*gemmMR]
	gemmInterleave4F32(dst, src[:k], src[lda:lda+k], src[2*lda:2*lda+k], src[3*lda:3*lda+k])
	clear(dst[k*gemmMR:])
}

// gemmInterleave4F32Go stores dst[4c+i] = s_i[c] for c < len(s0).
func gemmInterleave4F32Go(dst, s0, s1, s2, s3 []float32) {
	s1, s2, s3 = s1[:len(s0)], s2[:len(s0)], s3[:len(s0)]
	for c := range s0 {
		d := dst[c*4 : c*4+4 : c*4+4]
		d[0], d[1], d[2], d[3] = s0[c], s1[c], s2[c], s3[c]
	}
}

// gemmInterleave4I8Go stores row i's groups of four, s_i[4q:4q+4], at
// dst[16q+4i:] for q < len(s0)/4 (len(s0) a multiple of 4).
func gemmInterleave4I8Go(dst, s0, s1, s2, s3 []int8) {
	n := len(s0) &^ 3
	d := gemmI8Bytes(dst[:4*n])
	b0, b1, b2, b3 := gemmI8Bytes(s0[:n]), gemmI8Bytes(s1[:n]), gemmI8Bytes(s2[:n]), gemmI8Bytes(s3[:n])
	for c := 0; c < n; c += 4 {
		o := d[c*4 : c*4+16]
		binary.LittleEndian.PutUint32(o[0:], binary.LittleEndian.Uint32(b0[c:]))
		binary.LittleEndian.PutUint32(o[4:], binary.LittleEndian.Uint32(b1[c:]))
		binary.LittleEndian.PutUint32(o[8:], binary.LittleEndian.Uint32(b2[c:]))
		binary.LittleEndian.PutUint32(o[12:], binary.LittleEndian.Uint32(b3[c:]))
	}
}

// gemmPackA4I8 is gemmPackA4F32 for int8 with optional row sums.
func gemmPackA4I8(dst, src []int8, m0, k int, rowSum *[gemmMR]int32) {
	gemmPackRowsI8(dst, src[m0*k:], k, k)
	if rowSum != nil {
		gemmRowSumsI8(src[m0*k:], k, k, rowSum)
	}
}

// gemmPackRowsI8 packs the gemmMR rows src[i*lda : i*lda+k] into dst.
func gemmPackRowsI8(dst, src []int8, lda, k int) {
	kp := gemmPadK(k)
	dst = dst[:kp*gemmMR]
	rows := [gemmMR][]int8{src[:k], src[lda : lda+k], src[2*lda : 2*lda+k], src[3*lda : 3*lda+k]}
	kq := k &^ 3
	clear(dst[kq*gemmMR:])
	gemmPut4I8(dst, 0, &rows)
}

// gemmRowSumsI8 stores Σ_k src[i*lda+k] in rowSum[i] for the gemmMR rows.
func gemmRowSumsI8(src []int8, lda, k int, rowSum *[gemmMR]int32) {
	for i := range gemmMR {
		rowSum[i] = gemmSumI8(src[i*lda : i*lda+k])
	}
}

// gemmSumI8 returns Σ v, eight bytes at a time: v+128 as uint8, summed in
// four 16-bit lanes of a uint64 (at most 64 words before they are folded,
// 64·2·255 < 2¹⁶).
func gemmSumI8(v []int8) int32 {
	b := gemmI8Bytes(v)
	n8 := len(b) &^ 7
	var s int64
	for i := 0; i < n8; {
		var acc uint64
		for end := min(n8, i+8*64); i < end; i += 8 {
			x := binary.LittleEndian.Uint64(b[i:]) ^ 0x8080808080808080
			acc += x&0x00FF00FF00FF00FF + (x>>8)&0x00FF00FF00FF00FF
		}
		acc = acc&0x0000FFFF0000FFFF + (acc>>16)&0x0000FFFF0000FFFF
		s += int64(acc&0xFFFFFFFF + acc>>32)
	}
	s -= 128 * int64(n8)
	for _, x := range v[n8:] {
		s += int64(x)
	}
	return int32(s)
}

// gemmKernelF32 computes the 4×8 tile Σ_k ap[k*4+i]·bp[k*8+j] into
// c[i*8+j], as four 4×2 tiles; kp is a multiple of gemmKU.
func gemmKernelF32(kp int, ap, bp []float32, c *[gemmMR * gemmNRF]float32) {
	for s := 0; s < gemmNRF; s += 2 {
		gemmKernelF32Pair(kp, ap, bp, s, c)
	}
}

// gemmKernelF32Pair computes columns s and s+1 of gemmKernelF32.
func gemmKernelF32Pair(kp int, ap, bp []float32, s int, c *[gemmMR * gemmNRF]float32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 float32
	ap = ap[:gemmMR*kp]
	bp = bp[:gemmNRF*kp]
	for kb := 0; kb+8 <= kp; kb += 8 {
		a := ap[kb*4 : kb*4+32]
		b := bp[kb*8+s : kb*8+s+58]
		b0, b1 := b[0], b[1]
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[8], b[9]
		a0, a1, a2, a3 = a[4], a[5], a[6], a[7]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[16], b[17]
		a0, a1, a2, a3 = a[8], a[9], a[10], a[11]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[24], b[25]
		a0, a1, a2, a3 = a[12], a[13], a[14], a[15]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[32], b[33]
		a0, a1, a2, a3 = a[16], a[17], a[18], a[19]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[40], b[41]
		a0, a1, a2, a3 = a[20], a[21], a[22], a[23]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[48], b[49]
		a0, a1, a2, a3 = a[24], a[25], a[26], a[27]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[56], b[57]
		a0, a1, a2, a3 = a[28], a[29], a[30], a[31]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
	}
	c[s], c[s+1] = c00, c01
	c[8+s], c[9+s] = c10, c11
	c[16+s], c[17+s] = c20, c21
	c[24+s], c[25+s] = c30, c31
}

// gemmKernelI8 computes the 4×4 int32 tile Σ_k a(i,k)·b(j,k) into
// c[i*4+j] from an A panel and a lane-pair B panel; kp is
// a multiple of gemmKU.
func gemmKernelI8(kp int, ap []int8, bp []int64, c *[gemmMR * gemmNRI]int32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 int64
	a := ap[:gemmMR*kp]
	b := bp[:2*kp]
	for len(a) >= 16 && len(b) >= 8 {
		b0, b1 := b[0], b[1]
		a0 := int64(a[0])
		c00 += a0 * b0
		c01 += a0 * b1
		a0 = int64(a[4])
		c10 += a0 * b0
		c11 += a0 * b1
		a0 = int64(a[8])
		c20 += a0 * b0
		c21 += a0 * b1
		a0 = int64(a[12])
		c30 += a0 * b0
		c31 += a0 * b1
		b0, b1 = b[2], b[3]
		a0 = int64(a[1])
		c00 += a0 * b0
		c01 += a0 * b1
		a0 = int64(a[5])
		c10 += a0 * b0
		c11 += a0 * b1
		a0 = int64(a[9])
		c20 += a0 * b0
		c21 += a0 * b1
		a0 = int64(a[13])
		c30 += a0 * b0
		c31 += a0 * b1
		b0, b1 = b[4], b[5]
		a0 = int64(a[2])
		c00 += a0 * b0
		c01 += a0 * b1
		a0 = int64(a[6])
		c10 += a0 * b0
		c11 += a0 * b1
		a0 = int64(a[10])
		c20 += a0 * b0
		c21 += a0 * b1
		a0 = int64(a[14])
		c30 += a0 * b0
		c31 += a0 * b1
		b0, b1 = b[6], b[7]
		a0 = int64(a[3])
		c00 += a0 * b0
		c01 += a0 * b1
		a0 = int64(a[7])
		c10 += a0 * b0
		c11 += a0 * b1
		a0 = int64(a[11])
		c20 += a0 * b0
		c21 += a0 * b1
		a0 = int64(a[15])
		c30 += a0 * b0
		c31 += a0 * b1
		a = a[16:]
		b = b[8:]
	}
	c[0], c[1] = gemmSplit(c00)
	c[2], c[3] = gemmSplit(c01)
	c[4], c[5] = gemmSplit(c10)
	c[6], c[7] = gemmSplit(c11)
	c[8], c[9] = gemmSplit(c20)
	c[10], c[11] = gemmSplit(c21)
	c[12], c[13] = gemmSplit(c30)
	c[14], c[15] = gemmSplit(c31)
}

// gemmSplit separates the two int32 lanes of lo + hi·2³².
func gemmSplit(v int64) (lo, hi int32) {
	lo = int32(v)
	return lo, int32((v - int64(lo)) >> 32)
}

// gemmRowF32Go multiplies one packed A panel by all of packed B and writes
// rows [0,rows) of the result, plus bias, clamped to [lo,hi], to
// out[i*ldc+j] for j < n.
func gemmRowF32Go(kp int, ap, bp []float32, n int, out []float32, ldc, rows int, bias []float32, lo, hi float32) {
	var c [gemmMR * gemmNRF]float32
	np := gemmPanels(n, gemmNRF)
	for p := range np {
		gemmKernelF32(kp, ap, bp[p*gemmNRF*kp:(p+1)*gemmNRF*kp], &c)
		gemmStoreF32(c[:], gemmNRF, p*gemmNRF, min(gemmNRF, n-p*gemmNRF), out, ldc, rows, bias, lo, hi)
	}
}

// gemmStoreF32 writes columns [n0,n0+cols) of rows [0,rows) from the tile
// c (row stride ldt), plus bias, clamped to [lo,hi].
func gemmStoreF32(c []float32, ldt, n0, cols int, out []float32, ldc, rows int, bias []float32, lo, hi float32) {
	for i := range rows {
		o := out[i*ldc+n0 : i*ldc+n0+cols]
		t := c[i*ldt : i*ldt+cols]
		if bias != nil {
			b := bias[n0 : n0+cols]
			for j := range o {
				o[j] = ClampF32(t[j]+b[j], lo, hi)
			}
			continue
		}
		for j := range o {
			o[j] = ClampF32(t[j], lo, hi)
		}
	}
}

// gemmMul is a requantization multiplier prepared for gemmMul.apply:
// TFLite's fixed-point multiplier (BATCH_MATMUL) or, with fp set, XNNPACK's
// float32 scale f (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED).
type gemmMul struct {
	m           int64 // Q31 multiplier from QuantizeMultiplier
	half, neg   int64 // rounding terms of the right shift
	left, right uint
	f           float32
	fp          bool
}

// gemmMakeMulFP32 prepares XNNPACK's fp32 requantization by scale f.
func gemmMakeMulFP32(f float32) gemmMul { return gemmMul{f: f, fp: true} }

// gemmMakeMulsFP32 prepares one fp32 scale per channel.
func gemmMakeMulsFP32(f []float32) []gemmMul {
	out := make([]gemmMul, len(f))
	for i := range f {
		out[i] = gemmMakeMulFP32(f[i])
	}
	return out
}

func gemmMakeMul(q int32, shift int) gemmMul {
	m := gemmMul{m: int64(q), left: uint(max(shift, 0)), right: uint(max(-shift, 0))}
	if m.right > 0 {
		m.half, m.neg = 1<<(m.right-1), -1
	}
	return m
}

// gemmMakeMuls prepares one multiplier per channel.
func gemmMakeMuls(mult []int32, shift []int) []gemmMul {
	out := make([]gemmMul, len(mult))
	for i := range mult {
		out[i] = gemmMakeMul(mult[i], shift[i])
	}
	return out
}

// apply is MultiplyByQuantizedMultiplier (TFLite's double-rounding
// fixed-point multiply) bit for bit, without branches:
// SaturatingRoundingDoublingHighMul's nudge-and-truncate equals
// ⌊(a·b + 2³⁰) / 2³¹⌋ (it cannot saturate: the multiplier is below 2³¹),
// and RoundingDivideByPOT's round-half-away-from-zero is ⌊(h + 2^(e−1) −
// [h<0]) / 2^e⌋ for e > 0.
//
// With m.fp it is RequantizeFP32(x, m.f).
func (m *gemmMul) apply(x int32) int32 {
	if m.fp {
		return RequantizeFP32(x, m.f)
	}
	h := (int64(x<<m.left)*m.m + 1<<30) >> 31
	return int32((h + m.half + (h>>63)&m.neg) >> m.right)
}

// gemmQuant holds the int8 output stage: acc + colAdd[n] + rowAdd[i] is
// requantized with mul[n], offset by zp and clamped to [lo,hi]. The v*
// slices (filled by gemmNewQuant; nil in a gemmQuant built by hand) hold
// mul column-wise for the SIMD output stage: multiplier, left shift,
// right shift and 2^right − 1.
type gemmQuant struct {
	colAdd []int32
	mul    []gemmMul
	zp     int32
	lo, hi int32

	vMul, vLeft, vRight, vMask []int32
	vLeftAny                   bool // some vLeft is not 0
	// vScale holds the float32 scales when mul is fp32 (then the v*
	// slices above are unused).
	vScale []float32
}

// gemmNewQuant builds a gemmQuant with its column-wise multipliers.
func gemmNewQuant(colAdd []int32, mul []gemmMul, zp, lo, hi int32) gemmQuant {
	n := len(mul)
	v := make([]int32, 4*n)
	q := gemmQuant{colAdd: colAdd, mul: mul, zp: zp, lo: lo, hi: hi,
		vMul: v[:n:n], vLeft: v[n : 2*n : 2*n], vRight: v[2*n : 3*n : 3*n], vMask: v[3*n:]}
	if n > 0 && mul[0].fp {
		q.vMul, q.vLeft, q.vRight, q.vMask = nil, nil, nil, nil
		q.vScale = make([]float32, n)
		for c := range mul {
			if !mul[c].fp {
				panic("kernels: gemmNewQuant with fixed-point and fp32 multipliers mixed")
			}
			q.vScale[c] = mul[c].f
		}
		return q
	}
	for c := range mul {
		q.vMul[c] = int32(mul[c].m)
		q.vLeft[c] = int32(mul[c].left)
		q.vRight[c] = int32(mul[c].right)
		q.vMask[c] = int32(1)<<mul[c].right - 1
		q.vLeftAny = q.vLeftAny || mul[c].left != 0
	}
	return q
}

// cols is q restricted to columns [c0,c1).
func (q *gemmQuant) cols(c0, c1 int) gemmQuant {
	r := gemmQuant{mul: q.mul[c0:c1], zp: q.zp, lo: q.lo, hi: q.hi}
	if q.colAdd != nil {
		r.colAdd = q.colAdd[c0:c1]
	}
	if q.vMul != nil {
		r.vMul, r.vLeft, r.vRight, r.vMask = q.vMul[c0:c1], q.vLeft[c0:c1], q.vRight[c0:c1], q.vMask[c0:c1]
		r.vLeftAny = q.vLeftAny
	}
	if q.vScale != nil {
		r.vScale = q.vScale[c0:c1]
	}
	return r
}

// gemmStoreI8 requantizes columns [n0,n0+cols) of rows [0,rows) of the
// int32 tile c (row stride ldt) into out.
func gemmStoreI8(c []int32, ldt, n0, cols int, out []int8, ldc, rows int, q *gemmQuant, rowAdd *[gemmMR]int32) {
	ca := q.colAdd[n0 : n0+cols]
	mu := q.mul[n0 : n0+cols]
	zp, lo, hi := q.zp, q.lo, q.hi
	for i := range rows {
		ra := rowAdd[i]
		o := out[i*ldc+n0 : i*ldc+n0+cols]
		ci := c[i*ldt : i*ldt+cols]
		for j := range o {
			v := mu[j].apply(ci[j]+ca[j]+ra) + zp
			o[j] = int8(max(lo, min(hi, v)))
		}
	}
}

// gemmRowI8Go is gemmRowF32Go for int8 (lane-pair B) with the requantizing
// output stage.
func gemmRowI8Go(kp int, ap []int8, bp []int64, n int, out []int8, ldc, rows int, q *gemmQuant, rowAdd *[gemmMR]int32) {
	var c [gemmMR * gemmNRI]int32
	np := gemmPanels(n, gemmNRI)
	for p := range np {
		gemmKernelI8(kp, ap, bp[p*2*kp:(p+1)*2*kp], &c)
		n0 := p * gemmNRI
		gemmStoreI8(c[:], gemmNRI, n0, min(gemmNRI, n-n0), out, ldc, rows, q, rowAdd)
	}
}

// gemmSlots hands out per-chunk scratch buffers inside a parallel loop:
// Pool.Run calls its function at most Threads times per Run, so an atomic
// counter reset before each Run gives every call its own buffer.
type gemmSlots struct{ next atomic.Int32 }

func (s *gemmSlots) reset()    { s.next.Store(0) }
func (s *gemmSlots) take() int { return int(s.next.Add(1) - 1) }

// gemmThreads is the number of parallel chunks a Pool.Run may use.
func gemmThreads(ctx *Context) int {
	return max(1, ctx.Threads, ctx.Pool.Threads())
}

// gemmScratch lays out typed regions in a node's scratch memory; Prepare
// computes sizes with add and Eval retrieves them in the same order.
type gemmScratch struct{ off int }

// gemmAlign rounds n up to a multiple of 64 bytes.
func gemmAlign(n int) int { return (n + 63) &^ 63 }

func (s *gemmScratch) add(bytes int) int {
	o := s.off
	s.off += gemmAlign(bytes)
	return o
}

func gemmF32At(b []byte, off, n int) []float32 {
	if n == 0 {
		return nil
	}
	return view[float32](b[off : off+4*n])
}

func gemmI8At(b []byte, off, n int) []int8 {
	if n == 0 {
		return nil
	}
	return view[int8](b[off : off+n])
}

func gemmI64At(b []byte, off, n int) []int64 {
	if n == 0 {
		return nil
	}
	return view[int64](b[off : off+8*n])
}

// gemmQuantParams computes the per-channel requantization of an int8
// CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED output the way LiteRT runs
// these ops, through the XNNPACK delegate: fp32 requantization by
// RequantScaleFP32 (measured: bit for bit with LiteRT, where TFLite's
// fixed-point multiplier differs by one unit on ≈ 0.1 % of the outputs);
// when a scale is outside what XNNPACK takes, TFLite's own kernels run,
// so all channels use the fixed-point multiplier of real =
// inScale·wScale[c]/outScale in double precision
// (PopulateConvolutionQuantizationParams). The delegate takes these ops
// only with a bias input: a bias-less DEPTHWISE_CONV_2D runs TFLite's
// kernel (measured in the conformance cases: fixed-point matches LiteRT
// bit for bit there, fp32 does not); CONV_2D and FULLY_CONNECTED follow
// the same rule (LiteRT.js cannot run them bias-less to check).
func gemmQuantParams(n *Node, in, w, out *Tensor, channels int, hasBias bool) ([]gemmMul, error) {
	if !in.Quantized() || !w.Quantized() || !out.Quantized() {
		return nil, n.Errorf("int8 tensors need quantization parameters")
	}
	if len(w.Scale) != 1 && len(w.Scale) != channels {
		return nil, n.Errorf("weights have %d scales for %d channels", len(w.Scale), channels)
	}
	scale := make([]float32, channels)
	mult := make([]int32, channels)
	shift := make([]int, channels)
	fp := hasBias
	for c := range channels {
		ws := w.Scale[0]
		if len(w.Scale) > 1 {
			ws = w.Scale[c]
		}
		scale[c] = RequantScaleFP32(in.Scale[0], ws, out.Scale[0])
		// XNNPACK takes scales in [2⁻³², 256); outside, TFLite keeps
		// the op and its fixed-point requantization.
		fp = fp && scale[c] >= 0x1p-32 && scale[c] < 256
		mult[c], shift[c] = QuantizeMultiplier(float64(in.Scale[0]) * float64(ws) / float64(out.Scale[0]))
	}
	if fp {
		return gemmMakeMulsFP32(scale), nil
	}
	return gemmMakeMuls(mult, shift), nil
}

// gemmMM is a batch of matrix products C_b = A_b·B_{bb}ᵀ (+ bias, clamp or
// requantize) shared by FULLY_CONNECTED and BATCH_MATMUL. A is read with
// strides a(m,k) = A[aBase[b]+m*sm+k*sk]; the B matrices are packed (one
// after another) by the caller; C_b is row-major at cBase[b] with n columns.
// Parallel tasks are (batch, row panel, column chunk); columns are split
// only when there are too few row panels to keep the threads busy.
type gemmMM struct {
	isI8                 bool
	batches, m, n, k, kp int
	sm, sk               int
	aBase, bIdx, cBase   []int
	mPanels              int
	nPer, nSplit         int

	aF, bF, cF, biasF []float32
	lo, hi            float32

	aI      []int8
	bI      []int64
	cI      []int8
	colAdd  []int32   // per B matrix, n each
	mul     []gemmMul // per column
	quant   gemmQuant // mul, zp, qlo, qhi (colAdd per task)
	zp      int32
	qlo     int32
	qhi     int32
	bZP     int32 // weights zero point (rows of A are summed when nonzero)
	scratch []byte
	aOff    int
	aStride int
	slots   gemmSlots
	run     func(lo, hi int)
}

// setup computes the task split and returns the scratch bytes needed.
func (g *gemmMM) setup(ctx *Context) int {
	g.kp = gemmPadK(g.k)
	g.mPanels = gemmPanels(g.m, gemmMR)
	threads := gemmThreads(ctx)
	g.nSplit, g.nPer = 1, g.n
	if rowTasks := g.batches * g.mPanels; threads > 1 && rowTasks < 2*threads {
		want := min((2*threads+rowTasks-1)/rowTasks, gemmPanels(g.n, 8))
		if want > 1 {
			g.nPer = gemmPanels(gemmPanels(g.n, want), 8) * 8
			g.nSplit = gemmPanels(g.n, g.nPer)
		}
	}
	elem := 4
	if g.isI8 {
		elem = 1
		g.quant = gemmNewQuant(nil, g.mul, g.zp, g.qlo, g.qhi)
		g.run = g.runI8
	} else {
		g.run = g.runF32
	}
	g.aStride = gemmAlign(elem * gemmMR * g.kp)
	var s gemmScratch
	g.aOff = s.add(threads * g.aStride)
	return s.off
}

func (g *gemmMM) exec(ctx *Context, scratch []byte) {
	g.scratch = scratch
	g.slots.reset()
	tasks := g.batches * g.mPanels * g.nSplit
	ctx.Pool.Run(tasks, gemmGrain(g.nPer, g.k), g.run)
}

func (g *gemmMM) runF32(lo, hi int) {
	s := g.slots.take()
	ap := gemmF32At(g.scratch, g.aOff+s*g.aStride, gemmMR*g.kp)
	bsz := gemmPackedBSizeF32(g.n, g.k)
	last := -1
	for t := lo; t < hi; t++ {
		bp := t / g.nSplit
		sp := t % g.nSplit
		b, p := bp/g.mPanels, bp%g.mPanels
		m0 := p * gemmMR
		rows := min(gemmMR, g.m-m0)
		base := g.aBase[b] + m0*g.sm
		// Full panels of rows with contiguous k are read in place.
		direct := rows == gemmMR && g.sk == 1
		if bp != last && !direct {
			gemmPackAF32(ap, g.aF[base:], 0, rows, g.k, g.sm, g.sk)
			last = bp
		}
		col0 := sp * g.nPer
		ncols := min(g.nPer, g.n-col0)
		var bias []float32
		if g.biasF != nil {
			bias = g.biasF[col0 : col0+ncols]
		}
		bmat := g.bF[g.bIdx[b]*bsz+col0*g.kp:]
		out := g.cF[g.cBase[b]+m0*g.n+col0:]
		if direct {
			gemmRowF32Rows(g.k, g.kp, g.aF[base:], g.sm, ap, bmat, ncols, out, g.n, bias, g.lo, g.hi)
		} else {
			gemmRowF32(g.kp, ap, bmat, ncols, out, g.n, rows, bias, g.lo, g.hi)
		}
	}
}

func (g *gemmMM) runI8(lo, hi int) {
	s := g.slots.take()
	ap := gemmI8At(g.scratch, g.aOff+s*g.aStride, gemmMR*g.kp)
	bsz := gemmPackedBSizeI8(g.n, g.k)
	last, lastQ := -1, -1
	var rowSum, rowAdd [gemmMR]int32
	var q gemmQuant
	for t := lo; t < hi; t++ {
		bp := t / g.nSplit
		sp := t % g.nSplit
		b, p := bp/g.mPanels, bp%g.mPanels
		m0 := p * gemmMR
		rows := min(gemmMR, g.m-m0)
		base := g.aBase[b] + m0*g.sm
		direct := rows == gemmMR && g.sk == 1
		if bp != last {
			var rs *[gemmMR]int32
			if g.bZP != 0 {
				rs = &rowSum
			}
			switch {
			case direct && rs != nil:
				gemmRowSumsI8(g.aI[base:], g.sm, g.k, rs)
			case !direct:
				gemmPackAI8(ap, g.aI[base:], 0, rows, g.k, g.sm, g.sk, rs)
			}
			for i := range rowAdd {
				rowAdd[i] = -g.bZP * rowSum[i]
			}
			last = bp
		}
		col0 := sp * g.nPer
		ncols := min(g.nPer, g.n-col0)
		if key := g.bIdx[b]*g.nSplit + sp; key != lastQ {
			ca := g.colAdd[g.bIdx[b]*g.n:]
			q = g.quant.cols(col0, col0+ncols)
			q.colAdd = ca[col0 : col0+ncols]
			lastQ = key
		}
		// col0 is a multiple of 8, so it starts a packed panel.
		bmat := g.bI[g.bIdx[b]*bsz+gemmBOffI8(col0, g.kp):]
		out := g.cI[g.cBase[b]+m0*g.n+col0:]
		if direct {
			gemmRowI8Rows(g.k, g.kp, g.aI[base:], g.sm, ap, bmat, ncols, out, g.n, &q, &rowAdd)
		} else {
			gemmRowI8(g.kp, ap, bmat, ncols, out, g.n, rows, &q, &rowAdd)
		}
	}
}
