package kernels

import "math"

// The vector layout of DEPTHWISE_CONV_2D, used for a depth multiplier of 1
// where this machine has vector kernels (dwUseSIMD): the band buffer holds
// 32-bit elements [row][column][dwCB channels] — float32, or for int8 the
// int32 x − zp — so that one buffer position is one vector of the dwCB
// channels of a block. A kernel (dwKernF32, dwKernI8) computes dwSB
// consecutive outputs of those channels at once: one accumulator vector
// per output, and per tap one weight vector (the filter laid out
// [block][tap][dwCB], zero beyond the last channel) multiplied by the
// buffer vector at the tap's offset. int8 sums go through a tile to the
// GEMM output stage (dwStoreI8); float32 sums get their bias and clamp in
// the kernel. Partial blocks (fewer outputs or channels) are computed
// into a tile and copied.
//
// The kernels' Go forms (dwKernF32Go, dwKernI8Go, dwGather*Go) are what
// the assembly computes bit for bit (the tests compare them).

const dwSB = 8 // outputs per kernel call

// dwReqLen is the length of a block's output-stage parameters: colAdd,
// mul, left, right and mask (gemmQuant's column-wise form) of dwCB
// channels.
const dwReqLen = 5 * dwCB

// dwTileStride is the row stride (int32) of the int8 tile, that of the
// GEMM output stage.
const dwTileStride = 24

// prepSIMD lays the filter (and float bias) out for the vector kernels.
func (k *depthwiseConv2D) prepSIMD() {
	oc, nt := k.g.outC, k.khkw
	if k.isI8 {
		w := k.filt.I8()
		for cb := range k.nCB {
			for t := range nt {
				d := k.wSI[(cb*nt+t)*dwCB : (cb*nt+t+1)*dwCB]
				for c := range d {
					d[c] = 0
					if ch := cb*dwCB + c; ch < oc {
						// VPMADDWD pairs: weight in the low 16 bits, 0 above.
						d[c] = int32(uint16(int16(w[t*oc+ch])))
					}
				}
			}
		}
		var bias []int32
		if k.bias != nil {
			bias = k.bias.I32()
		}
		for c := range oc {
			k.q.colAdd[c] = 0
			if bias != nil {
				k.q.colAdd[c] = bias[c]
			}
		}
		q := &k.q
		for cb := range k.nCB {
			prm := k.reqS[cb*dwReqLen : (cb+1)*dwReqLen]
			clear(prm)
			for c := range min(dwCB, oc-cb*dwCB) {
				ch := cb*dwCB + c
				if q.vScale != nil {
					prm[c], prm[dwCB+c] = q.colAdd[ch], int32(math.Float32bits(q.vScale[ch]))
					prm[2*dwCB+c] = int32(math.Float32bits(float32(q.lo - q.zp)))
					prm[3*dwCB+c] = int32(math.Float32bits(float32(q.hi - q.zp)))
					continue
				}
				prm[c], prm[dwCB+c], prm[2*dwCB+c] = q.colAdd[ch], q.vMul[ch], q.vLeft[ch]
				prm[3*dwCB+c], prm[4*dwCB+c] = q.vRight[ch], q.vMask[ch]
			}
		}
		return
	}
	w := k.filt.F32()
	for cb := range k.nCB {
		for t := range nt {
			d := k.wS[(cb*nt+t)*dwCB : (cb*nt+t+1)*dwCB]
			for c := range d {
				d[c] = 0
				if ch := cb*dwCB + c; ch < oc {
					d[c] = w[t*oc+ch]
				}
			}
		}
	}
}

// prepBiasSIMD copies the float bias into blocks of dwCB.
func (k *depthwiseConv2D) prepBiasSIMD() {
	clear(k.biasS)
	if k.bias != nil {
		copy(k.biasS, k.bias.F32())
	}
}

func dwI32At(b []byte, off, n int) []int32 {
	if n == 0 {
		return nil
	}
	return view[int32](b[off : off+4*n])
}

// bandRows returns the input rows a task's band needs and the first.
func (k *depthwiseConv2D) bandRows(oy0, nrows int) (rowsIn, iy0 int) {
	g := &k.g
	return (nrows-1)*g.sh + (g.kh-1)*g.dh + 1, oy0*g.sh - g.padT
}

func (k *depthwiseConv2D) runF32SIMD(lo, hi int) {
	g := &k.g
	s := k.slots.take()
	rowLen := k.wp * dwCB
	plane := k.planeStride / 4
	bufs := gemmF32At(k.scratch, k.planeOff+s*k.grp*k.planeStride, k.grp*plane)
	in, out := k.in.F32(), k.out.F32()
	xlo, xhi := k.gatherBounds()
	nt, oc, step := k.khkw, g.outC, g.sw*dwCB
	var tile [dwSB * dwCB]float32
	for t := lo; t < hi; t++ {
		b, cb0, ncb, oy0, nrows := k.task(t)
		rowsIn, iy0 := k.bandRows(oy0, nrows)
		for r := range rowsIn {
			iy := iy0 + r
			for gi := range ncb {
				row := bufs[gi*plane+r*rowLen : gi*plane+(r+1)*rowLen]
				if iy < 0 || iy >= g.inH || xlo >= xhi {
					clear(row)
					continue
				}
				clear(row[:xlo*dwCB])
				clear(row[xhi*dwCB:])
				c0, nc := k.block(cb0 + gi)
				src := in[((b*g.inH+iy)*g.inW+xlo-g.padL)*g.inC+c0:]
				dst := row[xlo*dwCB : xhi*dwCB]
				if nc == dwCB {
					dwGatherF32(dst, src, g.inC)
					continue
				}
				for xp := range xhi - xlo {
					d := dst[xp*dwCB : (xp+1)*dwCB]
					copy(d, src[xp*g.inC:xp*g.inC+nc])
					clear(d[nc:])
				}
			}
		}
		for r := range nrows {
			base := r * g.sh * rowLen
			orow := out[(b*g.outH+oy0+r)*g.outW*oc:]
			for gi := range ncb {
				cb := cb0 + gi
				c0, nc := k.block(cb)
				buf := bufs[gi*plane+base:]
				w := k.wS[cb*nt*dwCB : (cb+1)*nt*dwCB]
				bias := (*[dwCB]float32)(k.biasS[cb*dwCB:])
				o := orow[c0:]
				full := g.outW / dwSB // whole blocks of outputs
				if nc < dwCB {
					full = 0
				}
				dwKernF32(buf, k.offsB, w, bias, step, o, oc, k.lo, k.hi, full)
				for ox := full * dwSB; ox < g.outW; ox += dwSB {
					dwKernF32(buf[ox*step:], k.offsB, w, bias, step, tile[:], dwCB, k.lo, k.hi, 1)
					for j := range min(g.outW-ox, dwSB) {
						copy(o[(ox+j)*oc:(ox+j)*oc+nc], tile[j*dwCB:])
					}
				}
			}
		}
	}
}

func (k *depthwiseConv2D) runI8SIMD(lo, hi int) {
	g := &k.g
	s := k.slots.take()
	rowLen := k.wp * dwCB
	plane := k.planeStride / 4
	bufs := dwI32At(k.scratch, k.planeOff+s*k.grp*k.planeStride, k.grp*plane)
	in, out := k.in.I8(), k.out.I8()
	zp := k.inZP
	xlo, xhi := k.gatherBounds()
	nt, oc, step := k.khkw, g.outC, g.sw*dwCB
	var tile [dwSB * dwTileStride]int32
	var otile [dwSB * dwCB]int8
	for t := lo; t < hi; t++ {
		b, cb0, ncb, oy0, nrows := k.task(t)
		rowsIn, iy0 := k.bandRows(oy0, nrows)
		for r := range rowsIn {
			iy := iy0 + r
			for gi := range ncb {
				row := bufs[gi*plane+r*rowLen : gi*plane+(r+1)*rowLen]
				if iy < 0 || iy >= g.inH || xlo >= xhi {
					clear(row)
					continue
				}
				clear(row[:xlo*dwCB])
				clear(row[xhi*dwCB:])
				c0, nc := k.block(cb0 + gi)
				src := in[((b*g.inH+iy)*g.inW+xlo-g.padL)*g.inC+c0:]
				dst := row[xlo*dwCB : xhi*dwCB]
				if nc == dwCB {
					dwGatherI8(dst, src, g.inC, zp)
					continue
				}
				for xp := range xhi - xlo {
					d := dst[xp*dwCB : (xp+1)*dwCB]
					for c, v := range src[xp*g.inC : xp*g.inC+nc] {
						d[c] = int32(v) - zp
					}
					clear(d[nc:])
				}
			}
		}
		for r := range nrows {
			base := r * g.sh * rowLen
			orow := out[(b*g.outH+oy0+r)*g.outW*oc:]
			for gi := range ncb {
				cb := cb0 + gi
				c0, nc := k.block(cb)
				buf := bufs[gi*plane+base:]
				w := k.wSI[cb*nt*dwCB : (cb+1)*nt*dwCB]
				prm := (*[dwReqLen]int32)(k.reqS[cb*dwReqLen:])
				o := orow[c0:]
				q := &k.q
				full := g.outW / dwSB
				if nc < dwCB {
					full = 0
				}
				dwKernI8Req(buf, k.offsB, w, step, prm, q.vScale != nil, o, oc, q.zp, q.lo, q.hi, full)
				for ox := full * dwSB; ox < g.outW; ox += dwSB {
					p := buf[ox*step:]
					n := min(dwSB, g.outW-ox)
					if nc < dwCB {
						qc := k.q.cols(c0, c0+nc)
						dwKernI8(p, k.offsB, w, step, &tile)
						dwStoreI8(&tile, n, nc, o[ox*oc:], oc, &qc)
						continue
					}
					dwKernI8Req(p, k.offsB, w, step, prm, q.vScale != nil, otile[:], dwCB, q.zp, q.lo, q.hi, 1)
					for j := range n {
						copy(o[(ox+j)*oc:(ox+j)*oc+dwCB], otile[j*dwCB:])
					}
				}
			}
		}
	}
}

// dwKernF32Go is dwKernF32: nblk blocks of dwSB outputs j of the dwCB
// channels c,
//
//	acc := 0
//	for t, off := range offs { // byte offsets
//		acc = fma32(p[off/4 + j*step + c], w[t*dwCB + c], acc)
//	}
//	out[j*ostride + c] = ClampF32(acc + bias[c], lo, hi)
//
// for j < nblk·dwSB (step and ostride in elements).
func dwKernF32Go(p []float32, offs []int, w []float32, bias *[dwCB]float32, step int, out []float32, ostride int, lo, hi float32, nblk int) {
	for j := range nblk * dwSB {
		for c := range dwCB {
			var acc float32
			for t, off := range offs {
				acc = fma32(p[off/4+j*step+c], w[t*dwCB+c], acc)
			}
			out[j*ostride+c] = ClampF32(acc+bias[c], lo, hi)
		}
	}
}

// fma32 is x·y + z rounded once to float32 (VFMADD231PS, the twins of
// the FMA kernels): the product
// is exact in float64, their sum rounded to odd (its error exact by
// TwoSum), and rounding that to float32 is then correct.
func fma32(x, y, z float32) float32 {
	p, zz := float64(x)*float64(y), float64(z)
	s := p + zz
	bb := s - p
	e := (p - (s - bb)) + (zz - bb)
	if bits := math.Float64bits(s); e != 0 && bits&1 == 0 {
		if (e > 0) == (s > 0) {
			s = math.Float64frombits(bits + 1)
		} else {
			s = math.Float64frombits(bits - 1)
		}
	}
	return float32(s)
}

// dwKernI8Go is dwKernI8: the int32 sums of dwSB outputs j of the dwCB
// channels c into tile[j*dwTileStride + c], each product formed as
// VPMADDWD does (two signed 16-bit halves, products added; the prepared
// weights have 0 in the upper half), sums wrapping:
//
//	acc := int32(0)
//	for t, off := range offs { // byte offsets
//		acc += maddwd(p[off/4 + j*step + c], w[t*dwCB + c])
//	}
func dwKernI8Go(p []int32, offs []int, w []int32, step int, tile *[dwSB * dwTileStride]int32) {
	for j := range dwSB {
		for c := range dwCB {
			var acc int32
			for t, off := range offs {
				acc += dwMaddWD(p[off/4+j*step+c], w[t*dwCB+c])
			}
			tile[j*dwTileStride+c] = acc
		}
	}
}

// dwKernI8ReqGo is dwKernI8Go followed by the output stage of
// gemmRequantAVX2 with the parameters prm = colAdd, mul, left, right,
// mask of the dwCB channels, for nblk blocks of dwSB outputs (block b at
// p[b·dwSB·step:], out[b·dwSB·ostride:]):
//
//	x := acc + colAdd[c]
//	x = x << left[c]                                   // wraps
//	h := int32((int64(x)*int64(mul[c]) + 1<<30) >> 31) // fits
//	r := h >> right[c]                                 // round half away from zero:
//	if h&mask[c] > mask[c]>>1+int32(uint32(h)>>31) {
//		r++
//	}
//	out[j*ostride + c] = int8(min(max(r+zp, lo), hi))
//
// which is gemmMul.apply. With fp, prm = colAdd, scale, lo − zp, hi − zp
// (the last three float32 bits) and the output stage is fp32's:
//
//	f := min(max(float32(acc+colAdd[c])*scale[c], lo−zp), hi−zp)
//	out[j*ostride + c] = int8(int32(math.RoundToEven(f)) + zp)
func dwKernI8ReqGo(p []int32, offs []int, w []int32, step int, prm *[dwReqLen]int32, fp bool, out []int8, ostride int, zp, lo, hi int32, nblk int) {
	var tile [dwSB * dwTileStride]int32
	for b := range nblk {
		dwKernI8Go(p[b*dwSB*step:], offs, w, step, &tile)
		dwReqTileGo(&tile, prm, fp, out[b*dwSB*ostride:], ostride, zp, lo, hi)
	}
}

// dwReqTileGo is dwKernI8ReqGo's output stage for one block's tile.
func dwReqTileGo(tile *[dwSB * dwTileStride]int32, prm *[dwReqLen]int32, fp bool, o []int8, ostride int, zp, lo, hi int32) {
	for j := range dwSB {
		for c := range dwCB {
			if fp {
				x := tile[j*dwTileStride+c] + prm[c]
				v := RequantizeFP32(x, math.Float32frombits(uint32(prm[dwCB+c])))
				o[j*ostride+c] = int8(min(max(v+zp, lo), hi))
				continue
			}
			x := tile[j*dwTileStride+c] + prm[c]
			x <<= uint32(prm[2*dwCB+c])
			h := int32((int64(x)*int64(prm[dwCB+c]) + 1<<30) >> 31)
			mask := prm[4*dwCB+c]
			r := h >> uint32(prm[3*dwCB+c])
			if h&mask > mask>>1+int32(uint32(h)>>31) {
				r++
			}
			o[j*ostride+c] = int8(min(max(r+zp, lo), hi))
		}
	}
}

// dwMaddWD is one 32-bit lane of VPMADDWD (wrapping in the one case,
// both pairs −2¹⁵·−2¹⁵, where the instruction does).
func dwMaddWD(a, b int32) int32 {
	return int32(int16(a))*int32(int16(b)) + int32(int16(a>>16))*int32(int16(b>>16))
}

// dwGatherF32Go copies len(dst)/dwCB columns of dwCB channels, the
// columns sstride elements apart in src.
func dwGatherF32Go(dst, src []float32, sstride int) {
	for x := range len(dst) / dwCB {
		copy(dst[x*dwCB:(x+1)*dwCB], src[x*sstride:x*sstride+dwCB])
	}
}

// dwGatherI8Go stores x − zp of len(dst)/dwCB columns of dwCB channels,
// the columns sstride elements apart in src.
func dwGatherI8Go(dst []int32, src []int8, sstride int, zp int32) {
	for x := range len(dst) / dwCB {
		d := dst[x*dwCB : (x+1)*dwCB]
		for c, v := range src[x*sstride : x*sstride+dwCB] {
			d[c] = int32(v) - zp
		}
	}
}

// dwStoreI8Go requantizes rows ≤ dwSB outputs of cols ≤ dwCB channels of
// the tile into out (row stride ldo) with q (columns from 0).
func dwStoreI8Go(tile *[dwSB * dwTileStride]int32, rows, cols int, out []int8, ldo int, q *gemmQuant) {
	var zero [gemmMR]int32
	for r0 := 0; r0 < rows; r0 += gemmMR {
		gemmStoreI8(tile[r0*dwTileStride:], dwTileStride, 0, cols, out[r0*ldo:], ldo, min(gemmMR, rows-r0), q, &zero)
	}
}
