package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// dwTCase is a random tap list over a buffer: taps on a grid of rows
// wp·dwCB elements apart, outputs step elements apart.
type dwTCase struct {
	offs       []int // bytes
	step, need int   // elements; need: buffer length the kernels may read
	nblk       int   // blocks of dwSB outputs for the row kernels
}

func dwTRandCase(rng *rand.Rand) dwTCase {
	kh, kw := 1+rng.IntN(5), 1+rng.IntN(5)
	switch rng.IntN(4) {
	case 0:
		kh, kw = 1, 1+rng.IntN(21)
	case 1:
		kh, kw = 1+rng.IntN(21), 1
	}
	sw, dh, dw := 1+rng.IntN(2), 1+rng.IntN(2), 1+rng.IntN(2)
	wp := (dwSB-1)*sw + (kw-1)*dw + 1 + rng.IntN(5)
	var c dwTCase
	for ky := range kh {
		for kx := range kw {
			c.offs = append(c.offs, (ky*dh*wp+kx*dw)*dwCB*4)
		}
	}
	c.step = sw * dwCB
	c.nblk = 1 + rng.IntN(3)
	c.need = c.offs[len(c.offs)-1]/4 + (c.nblk*dwSB-1)*c.step + dwCB
	return c
}

// The vector kernels compute their Go forms bit for bit, read only their
// window and write only their outputs (guard bands around every buffer).
func TestDepthwiseKernelsMatchGo(t *testing.T) {
	gemmTEachLevel(t, func(t *testing.T, level int) {
		rng := rand.New(rand.NewPCG(41, uint64(level)))
		for i := range 300 {
			c := dwTRandCase(rng)
			nt := len(c.offs)
			name := fmt.Sprintf("case %d (%d taps, step %d, %d blocks)", i, nt, c.step, c.nblk)
			rows := c.nblk * dwSB

			// float32, output rows ostride apart (≥ dwCB)
			p, pok := gemmTGuard(c.need, 64, float32(1e30))
			for j := range p {
				p[j] = float32(rng.NormFloat64())
			}
			w, wok := gemmTGuard(nt*dwCB, 64, float32(1e30))
			for j := range w {
				w[j] = float32(rng.NormFloat64())
			}
			var bias [dwCB]float32
			for j := range bias {
				bias[j] = float32(rng.NormFloat64())
			}
			lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
			if rng.IntN(2) == 0 {
				lo, hi = 0, 6
			}
			ostride := dwCB + rng.IntN(20)
			got, gok := gemmTOut(rows, dwCB, ostride, float32(-99))
			want := make([]float32, len(got))
			copy(want, got)
			dwKernF32(p, c.offs, w, &bias, c.step, got, ostride, lo, hi, c.nblk)
			dwKernF32Go(p, c.offs, w, &bias, c.step, want, ostride, lo, hi, c.nblk)
			if !pok() || !wok() || !gok() {
				t.Fatalf("%s: float32 kernel wrote outside its outputs", name)
			}
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("%s: float32 element %d = %g, want %g", name, j, got[j], want[j])
				}
			}

			// int8 sums: x − zp in [−255, 255], weights int8 in VPMADDWD form
			pi, piok := gemmTGuard(c.need, 64, int32(0x7fff7fff))
			for j := range pi {
				pi[j] = int32(rng.IntN(511) - 255)
			}
			wi, wiok := gemmTGuard(nt*dwCB, 64, int32(0x7fff7fff))
			for j := range wi {
				wi[j] = int32(uint16(int16(rng.IntN(256) - 128)))
			}
			var tg, tw [dwSB * dwTileStride]int32
			for j := range tg {
				tg[j], tw[j] = -5, -5
			}
			dwKernI8(pi, c.offs, wi, c.step, &tg)
			dwKernI8Go(pi, c.offs, wi, c.step, &tw)
			if !piok() || !wiok() {
				t.Fatalf("%s: int8 kernel wrote its inputs", name)
			}
			if tg != tw {
				t.Fatalf("%s: int8 tile differs:\n got %v\nwant %v", name, tg, tw)
			}
			// the exact sums
			for j := range dwSB {
				for ch := range dwCB {
					var s int32
					for ti, off := range c.offs {
						s += pi[off/4+j*c.step+ch] * int32(int16(wi[ti*dwCB+ch]))
					}
					if tg[j*dwTileStride+ch] != s {
						t.Fatalf("%s: int8 sum (%d,%d) = %d, want %d", name, j, ch, tg[j*dwTileStride+ch], s)
					}
				}
			}

			// int8 with the output stage (fixed-point or fp32): against
			// gemmMul.apply
			var prm [dwReqLen]int32
			fp := rng.IntN(2) == 0
			mult, shift := make([]int32, dwCB), make([]int, dwCB)
			scale := make([]float32, dwCB)
			for ch := range dwCB {
				// multipliers from 2^-14 to 2^2 (left shifts included)
				r := math.Exp2(rng.Float64()*16 - 14)
				mult[ch], shift[ch] = QuantizeMultiplier(r)
				scale[ch] = float32(r)
			}
			muls := gemmMakeMuls(mult, shift)
			if fp {
				muls = gemmMakeMulsFP32(scale)
			}
			q := gemmNewQuant(gemmTRandI32(rng, dwCB, 20000), muls, int32(rng.IntN(256)-128), -128+int32(rng.IntN(30)), 127-int32(rng.IntN(30)))
			for ch := range dwCB {
				if fp {
					prm[ch], prm[dwCB+ch] = q.colAdd[ch], int32(math.Float32bits(q.vScale[ch]))
					prm[2*dwCB+ch] = int32(math.Float32bits(float32(q.lo - q.zp)))
					prm[3*dwCB+ch] = int32(math.Float32bits(float32(q.hi - q.zp)))
					continue
				}
				prm[ch], prm[dwCB+ch], prm[2*dwCB+ch], prm[3*dwCB+ch], prm[4*dwCB+ch] = q.colAdd[ch], q.vMul[ch], q.vLeft[ch], q.vRight[ch], q.vMask[ch]
			}
			og, ook := gemmTOut(rows, dwCB, ostride, int8(0x55))
			ow := make([]int8, len(og))
			copy(ow, og)
			dwKernI8Req(pi, c.offs, wi, c.step, &prm, fp, og, ostride, q.zp, q.lo, q.hi, c.nblk)
			dwKernI8ReqGo(pi, c.offs, wi, c.step, &prm, fp, ow, ostride, q.zp, q.lo, q.hi, c.nblk)
			if !ook() {
				t.Fatalf("%s: int8 kernel wrote outside its outputs", name)
			}
			for b := range c.nblk {
				dwKernI8Go(pi[b*dwSB*c.step:], c.offs, wi, c.step, &tw)
				for j := range dwSB {
					for ch := range dwCB {
						i := (b*dwSB+j)*ostride + ch
						want := int8(max(q.lo, min(q.hi, q.mul[ch].apply(tw[j*dwTileStride+ch]+q.colAdd[ch])+q.zp)))
						if og[i] != ow[i] || og[i] != want {
							t.Fatalf("%s: int8 output (%d,%d) = %d, Go form %d, want %d", name, b*dwSB+j, ch, og[i], ow[i], want)
						}
					}
				}
			}
		}
	})
}

func TestDepthwiseGatherAndStoreMatchGo(t *testing.T) {
	gemmTEachLevel(t, func(t *testing.T, level int) {
		rng := rand.New(rand.NewPCG(43, uint64(level)))
		for i := range 200 {
			n := rng.IntN(40)
			sstride := dwCB + rng.IntN(30)
			srcLen := max(0, (n-1)*sstride+dwCB)
			src := gemmTRandF32(rng, srcLen, 1)
			got, gok := gemmTGuard(n*dwCB, 64, float32(-7))
			want := make([]float32, n*dwCB)
			dwGatherF32(got, src, sstride)
			dwGatherF32Go(want, src, sstride)
			if !gok() {
				t.Fatalf("case %d: float32 gather wrote outside dst", i)
			}
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("case %d: float32 gather element %d", i, j)
				}
			}
			srcI := gemmTRandI8(rng, srcLen, -128, 127)
			zp := int32(rng.IntN(256) - 128)
			gi, giok := gemmTGuard(n*dwCB, 64, int32(-7))
			wi := make([]int32, n*dwCB)
			dwGatherI8(gi, srcI, sstride, zp)
			dwGatherI8Go(wi, srcI, sstride, zp)
			if !giok() {
				t.Fatalf("case %d: int8 gather wrote outside dst", i)
			}
			for j := range gi {
				if gi[j] != wi[j] {
					t.Fatalf("case %d: int8 gather element %d = %d, want %d", i, j, gi[j], wi[j])
				}
			}

			// output stage: rows ≤ dwSB outputs of cols ≤ dwCB channels
			rows, cols := 1+rng.IntN(dwSB), 1+rng.IntN(dwCB)
			ldo := cols + rng.IntN(10)
			var tile [dwSB * dwTileStride]int32
			for j := range tile {
				tile[j] = int32(rng.IntN(200001) - 100000)
			}
			mult, shift := make([]int32, cols), make([]int, cols)
			scale := make([]float32, cols)
			for c := range cols {
				r := math.Exp(rng.Float64()*8 - 12)
				mult[c], shift[c] = QuantizeMultiplier(r)
				scale[c] = float32(r)
			}
			muls := gemmMakeMuls(mult, shift)
			if rng.IntN(2) == 0 {
				muls = gemmMakeMulsFP32(scale)
			}
			colAdd := gemmTRandI32(rng, cols, 5000)
			q := gemmNewQuant(colAdd, muls, int32(rng.IntN(256)-128), -128+int32(rng.IntN(20)), 127-int32(rng.IntN(20)))
			og, ook := gemmTOut(rows, cols, ldo, int8(0x55))
			ow := make([]int8, len(og))
			copy(ow, og)
			dwStoreI8(&tile, rows, cols, og, ldo, &q)
			dwStoreI8Go(&tile, rows, cols, ow, ldo, &q)
			if !ook() {
				t.Fatalf("case %d: output stage wrote outside its outputs", i)
			}
			for j := range og {
				if og[j] != ow[j] {
					t.Fatalf("case %d: output stage element %d = %d, want %d", i, j, og[j], ow[j])
				}
			}
		}
	})
}
