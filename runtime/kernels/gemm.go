package kernels

import "sync/atomic"

// Shared matrix-multiplication core of CONV_2D, FULLY_CONNECTED and
// BATCH_MATMUL (pure Go, no assembly).
//
// C[m][n] = Σ_k A[m][k]·B[n][k]: A holds activations (one row per output
// pixel or batch row), B the weights (one row per output channel), both
// with K contiguous after packing. A is packed per panel of gemmMR rows,
// interleaved by k (ap[k*gemmMR+i]); B is packed once per panel of
// columns (bp[k*NR+j]). K is padded with zeros to a multiple of gemmKU so
// that the micro-kernels need no remainder loop.
//
// The float32 micro-kernel computes a 4×2 tile in 8 scalar accumulators
// (the Go compiler keeps them in registers without spilling, unlike larger
// tiles). The int8 micro-kernel computes a 4×4 tile with two products per
// 64-bit multiply: a B column pair is stored as b0 + b1·2³² and
// a·(b0 + b1·2³²) = a·b0 + a·b1·2³², so one IMUL accumulates two int32
// dot products exactly as long as each fits in 32 bits (|Σ| < 2³¹, true
// for K < 2¹⁷ int8×int8 products); the lanes are separated at the end.
//
// Each output element is computed by exactly one call, summing k in a fixed
// order, so results do not depend on how panels are spread over threads.

const (
	gemmMR  = 4 // rows per micro-tile
	gemmNRF = 2 // float32 columns per micro-tile
	gemmNRI = 4 // int8 columns per micro-tile (two 64-bit lane pairs)
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

// gemmPackedBSizeI8 is the length (in int64) of a packed int8 B of n×k.
func gemmPackedBSizeI8(n, k int) int { return gemmPanels(n, gemmNRI) * 2 * gemmPadK(k) }

// gemmPackBF32 packs b(j,k) = src[j*sn+k*sk] (n×k) into dst.
func gemmPackBF32(dst, src []float32, n, k, sn, sk int) {
	kp := gemmPadK(k)
	np := gemmPanels(n, gemmNRF)
	dst = dst[:np*gemmNRF*kp]
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

// gemmPackBI8 packs b(j,k) = src[j*sn+k*sk] (n×k) into lane pairs and,
// when colSum is not nil, stores Σ_k b(j,k) in colSum[j].
func gemmPackBI8(dst []int64, src []int8, n, k, sn, sk int, colSum []int32) {
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

// gemmPackAF32 packs rows [m0,m0+rows) of a(m,k) = src[m*sm+k*sk] into one
// A panel (rows < gemmMR are zero filled).
func gemmPackAF32(dst, src []float32, m0, rows, k, sm, sk int) {
	kp := gemmPadK(k)
	dst = dst[:kp*gemmMR]
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

// gemmPackAI8 is gemmPackAF32 for int8; when rowSum is not nil it stores
// Σ_k a(m0+i,k) in rowSum[i].
func gemmPackAI8(dst, src []int8, m0, rows, k, sm, sk int, rowSum *[gemmMR]int32) {
	kp := gemmPadK(k)
	dst = dst[:kp*gemmMR]
	for i := range gemmMR {
		var s int32
		if i >= rows {
			for kk := range kp {
				dst[kk*gemmMR+i] = 0
			}
		} else {
			base := (m0 + i) * sm
			if sk == 1 {
				row := src[base : base+k]
				for kk, v := range row {
					dst[kk*gemmMR+i] = v
					s += int32(v)
				}
			} else {
				for kk := range k {
					v := src[base+kk*sk]
					dst[kk*gemmMR+i] = v
					s += int32(v)
				}
			}
			for kk := k; kk < kp; kk++ {
				dst[kk*gemmMR+i] = 0
			}
		}
		if rowSum != nil {
			rowSum[i] = s
		}
	}
}

// gemmPackA4F32 packs gemmMR full contiguous rows of length k (stride k),
// the common case of a 1×1 convolution or a fully connected layer.
func gemmPackA4F32(dst, src []float32, m0, k int) {
	kp := gemmPadK(k)
	dst = dst[:kp*gemmMR]
	base := m0 * k
	r0 := src[base : base+k]
	r1 := src[base+k : base+2*k]
	r2 := src[base+2*k : base+3*k]
	r3 := src[base+3*k : base+4*k]
	r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
	for kk := range r0 {
		d := dst[kk*gemmMR : kk*gemmMR+gemmMR]
		d[0], d[1], d[2], d[3] = r0[kk], r1[kk], r2[kk], r3[kk]
	}
	clear(dst[k*gemmMR:])
}

// gemmPackA4I8 is gemmPackA4F32 for int8 with optional row sums.
func gemmPackA4I8(dst, src []int8, m0, k int, rowSum *[gemmMR]int32) {
	kp := gemmPadK(k)
	dst = dst[:kp*gemmMR]
	base := m0 * k
	r0 := src[base : base+k]
	r1 := src[base+k : base+2*k]
	r2 := src[base+2*k : base+3*k]
	r3 := src[base+3*k : base+4*k]
	r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
	var s0, s1, s2, s3 int32
	for kk := range r0 {
		a0, a1, a2, a3 := r0[kk], r1[kk], r2[kk], r3[kk]
		d := dst[kk*gemmMR : kk*gemmMR+gemmMR]
		d[0], d[1], d[2], d[3] = a0, a1, a2, a3
		s0 += int32(a0)
		s1 += int32(a1)
		s2 += int32(a2)
		s3 += int32(a3)
	}
	clear(dst[k*gemmMR:])
	if rowSum != nil {
		rowSum[0], rowSum[1], rowSum[2], rowSum[3] = s0, s1, s2, s3
	}
}

// gemmKernelF32 computes the 4×2 tile Σ_k ap[k*4+i]·bp[k*2+j] into c[i*2+j];
// kp is a multiple of gemmKU.
func gemmKernelF32(kp int, ap, bp []float32, c *[gemmMR * gemmNRF]float32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 float32
	a := ap[:gemmMR*kp]
	b := bp[:gemmNRF*kp]
	for len(a) >= 32 && len(b) >= 16 {
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
		b0, b1 = b[2], b[3]
		a0, a1, a2, a3 = a[4], a[5], a[6], a[7]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[4], b[5]
		a0, a1, a2, a3 = a[8], a[9], a[10], a[11]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[6], b[7]
		a0, a1, a2, a3 = a[12], a[13], a[14], a[15]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[8], b[9]
		a0, a1, a2, a3 = a[16], a[17], a[18], a[19]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[10], b[11]
		a0, a1, a2, a3 = a[20], a[21], a[22], a[23]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[12], b[13]
		a0, a1, a2, a3 = a[24], a[25], a[26], a[27]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		b0, b1 = b[14], b[15]
		a0, a1, a2, a3 = a[28], a[29], a[30], a[31]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
		a = a[32:]
		b = b[16:]
	}
	c[0], c[1], c[2], c[3] = c00, c01, c10, c11
	c[4], c[5], c[6], c[7] = c20, c21, c30, c31
}

// gemmKernelI8 computes the 4×4 int32 tile Σ_k ap[k*4+i]·b(j,k) into
// c[i*4+j] from lane-paired B; kp is a multiple of gemmKU.
func gemmKernelI8(kp int, ap []int8, bp []int64, c *[gemmMR * gemmNRI]int32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 int64
	a := ap[:gemmMR*kp]
	b := bp[:2*kp]
	for len(a) >= 16 && len(b) >= 8 {
		b0, b1 := b[0], b[1]
		a0 := int64(a[0])
		c00 += a0 * b0
		c01 += a0 * b1
		a0 = int64(a[1])
		c10 += a0 * b0
		c11 += a0 * b1
		a0 = int64(a[2])
		c20 += a0 * b0
		c21 += a0 * b1
		a0 = int64(a[3])
		c30 += a0 * b0
		c31 += a0 * b1
		b0, b1 = b[2], b[3]
		a0 = int64(a[4])
		c00 += a0 * b0
		c01 += a0 * b1
		a0 = int64(a[5])
		c10 += a0 * b0
		c11 += a0 * b1
		a0 = int64(a[6])
		c20 += a0 * b0
		c21 += a0 * b1
		a0 = int64(a[7])
		c30 += a0 * b0
		c31 += a0 * b1
		b0, b1 = b[4], b[5]
		a0 = int64(a[8])
		c00 += a0 * b0
		c01 += a0 * b1
		a0 = int64(a[9])
		c10 += a0 * b0
		c11 += a0 * b1
		a0 = int64(a[10])
		c20 += a0 * b0
		c21 += a0 * b1
		a0 = int64(a[11])
		c30 += a0 * b0
		c31 += a0 * b1
		b0, b1 = b[6], b[7]
		a0 = int64(a[12])
		c00 += a0 * b0
		c01 += a0 * b1
		a0 = int64(a[13])
		c10 += a0 * b0
		c11 += a0 * b1
		a0 = int64(a[14])
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

// gemmRowF32 multiplies one packed A panel by all of packed B and writes
// rows [0,rows) of the result, plus bias, clamped to [lo,hi], to
// out[i*ldc+j] for j < n.
func gemmRowF32(kp int, ap, bp []float32, n int, out []float32, ldc, rows int, bias []float32, lo, hi float32) {
	var c [gemmMR * gemmNRF]float32
	np := gemmPanels(n, gemmNRF)
	for p := range np {
		gemmKernelF32(kp, ap, bp[p*gemmNRF*kp:(p+1)*gemmNRF*kp], &c)
		n0 := p * gemmNRF
		if n0+gemmNRF <= n && rows == gemmMR {
			var b0, b1 float32
			if bias != nil {
				b0, b1 = bias[n0], bias[n0+1]
			}
			for i := range gemmMR {
				o := out[i*ldc+n0 : i*ldc+n0+2]
				o[0] = ClampF32(c[2*i]+b0, lo, hi)
				o[1] = ClampF32(c[2*i+1]+b1, lo, hi)
			}
			continue
		}
		for i := range rows {
			for j := range gemmNRF {
				col := n0 + j
				if col >= n {
					break
				}
				v := c[i*gemmNRF+j]
				if bias != nil {
					v += bias[col]
				}
				out[i*ldc+col] = ClampF32(v, lo, hi)
			}
		}
	}
}

// gemmMul is a requantization multiplier prepared for gemmMul.apply.
type gemmMul struct {
	m           int64 // Q31 multiplier from QuantizeMultiplier
	half, neg   int64 // rounding terms of the right shift
	left, right uint
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
func (m *gemmMul) apply(x int32) int32 {
	h := (int64(x<<m.left)*m.m + 1<<30) >> 31
	return int32((h + m.half + (h>>63)&m.neg) >> m.right)
}

// gemmQuant holds the int8 output stage: acc + colAdd[n] + rowAdd[i] is
// requantized with mul[n], offset by zp and clamped to [lo,hi].
type gemmQuant struct {
	colAdd []int32
	mul    []gemmMul
	zp     int32
	lo, hi int32
}

// gemmRowI8 is gemmRowF32 for int8 with the requantizing output stage.
func gemmRowI8(kp int, ap []int8, bp []int64, n int, out []int8, ldc, rows int, q *gemmQuant, rowAdd *[gemmMR]int32) {
	var c [gemmMR * gemmNRI]int32
	np := gemmPanels(n, gemmNRI)
	colAdd, mul := q.colAdd[:n], q.mul[:n]
	zp, lo, hi := q.zp, q.lo, q.hi
	for p := range np {
		gemmKernelI8(kp, ap, bp[p*2*kp:(p+1)*2*kp], &c)
		n0 := p * gemmNRI
		if n0+gemmNRI <= n {
			ca := colAdd[n0 : n0+gemmNRI : n0+gemmNRI]
			mu := mul[n0 : n0+gemmNRI : n0+gemmNRI]
			for i := range rows {
				ra := rowAdd[i]
				o := out[i*ldc+n0 : i*ldc+n0+gemmNRI]
				ci := c[i*gemmNRI : i*gemmNRI+gemmNRI]
				for j := range gemmNRI {
					v := mu[j].apply(ci[j]+ca[j]+ra) + zp
					o[j] = int8(max(lo, min(hi, v)))
				}
			}
			continue
		}
		for i := range rows {
			ra := rowAdd[i]
			o := out[i*ldc:]
			for j := range n - n0 {
				col := n0 + j
				v := mul[col].apply(c[i*gemmNRI+j]+colAdd[col]+ra) + zp
				o[col] = int8(max(lo, min(hi, v)))
			}
		}
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

// gemmQuantParams computes per-channel multipliers for an int8 output:
// real = inScale·wScale[c]/outScale in double precision, as TFLite's
// PopulateConvolutionQuantizationParams does.
func gemmQuantParams(n *Node, in, w, out *Tensor, channels int) (mult []int32, shift []int, err error) {
	if !in.Quantized() || !w.Quantized() || !out.Quantized() {
		return nil, nil, n.Errorf("int8 tensors need quantization parameters")
	}
	if len(w.Scale) != 1 && len(w.Scale) != channels {
		return nil, nil, n.Errorf("weights have %d scales for %d channels", len(w.Scale), channels)
	}
	mult = make([]int32, channels)
	shift = make([]int, channels)
	for c := range channels {
		ws := w.Scale[0]
		if len(w.Scale) > 1 {
			ws = w.Scale[c]
		}
		real := float64(in.Scale[0]) * float64(ws) / float64(out.Scale[0])
		mult[c], shift[c] = QuantizeMultiplier(real)
	}
	return mult, shift, nil
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
		want := min((2*threads+rowTasks-1)/rowTasks, gemmPanels(g.n, 4))
		if want > 1 {
			g.nPer = gemmPanels(gemmPanels(g.n, want), 4) * 4
			g.nSplit = gemmPanels(g.n, g.nPer)
		}
	}
	elem := 4
	if g.isI8 {
		elem = 1
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
		if bp != last {
			base := g.aBase[b] + m0*g.sm
			if rows == gemmMR && g.sk == 1 && g.sm == g.k {
				gemmPackA4F32(ap, g.aF[base:], 0, g.k)
			} else {
				gemmPackAF32(ap, g.aF[base:], 0, rows, g.k, g.sm, g.sk)
			}
			last = bp
		}
		col0 := sp * g.nPer
		ncols := min(g.nPer, g.n-col0)
		var bias []float32
		if g.biasF != nil {
			bias = g.biasF[col0 : col0+ncols]
		}
		bmat := g.bF[g.bIdx[b]*bsz+col0*g.kp:]
		gemmRowF32(g.kp, ap, bmat, ncols, g.cF[g.cBase[b]+m0*g.n+col0:], g.n, rows, bias, g.lo, g.hi)
	}
}

func (g *gemmMM) runI8(lo, hi int) {
	s := g.slots.take()
	ap := gemmI8At(g.scratch, g.aOff+s*g.aStride, gemmMR*g.kp)
	bsz := gemmPackedBSizeI8(g.n, g.k)
	last := -1
	var rowSum, rowAdd [gemmMR]int32
	for t := lo; t < hi; t++ {
		bp := t / g.nSplit
		sp := t % g.nSplit
		b, p := bp/g.mPanels, bp%g.mPanels
		m0 := p * gemmMR
		rows := min(gemmMR, g.m-m0)
		if bp != last {
			base := g.aBase[b] + m0*g.sm
			var rs *[gemmMR]int32
			if g.bZP != 0 {
				rs = &rowSum
			}
			if rows == gemmMR && g.sk == 1 && g.sm == g.k {
				gemmPackA4I8(ap, g.aI[base:], 0, g.k, rs)
			} else {
				gemmPackAI8(ap, g.aI[base:], 0, rows, g.k, g.sm, g.sk, rs)
			}
			for i := range rowAdd {
				rowAdd[i] = -g.bZP * rowSum[i]
			}
			last = bp
		}
		col0 := sp * g.nPer
		ncols := min(g.nPer, g.n-col0)
		ca := g.colAdd[g.bIdx[b]*g.n:]
		q := gemmQuant{colAdd: ca[col0 : col0+ncols], mul: g.mul[col0 : col0+ncols], zp: g.zp, lo: g.qlo, hi: g.qhi}
		// col0 is a multiple of 4, so it starts a packed panel.
		bmat := g.bI[g.bIdx[b]*bsz+col0/2*g.kp:]
		gemmRowI8(g.kp, ap, bmat, ncols, g.cI[g.cBase[b]+m0*g.n+col0:], g.n, rows, &q, &rowAdd)
	}
}
