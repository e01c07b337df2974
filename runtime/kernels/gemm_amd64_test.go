//go:build amd64 && !noasm

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmTRawI8 returns the 4×n int32 products of the int8 kernel in use.
func gemmTRawI8(kp int, ap []int8, bp []int64, n int) []int32 {
	if gemmI8Level == gemmLevelGo {
		return gemmTRawI8Go(kp, ap, bp, n)
	}
	out := make([]int32, gemmMR*n)
	ps := gemmQuadPanel(kp)
	var tile [gemmMR * 24]int32
	for p := range gemmPanels(n, gemmNRQ) {
		if gemmI8Level == gemmLevelVNNI {
			gemmI8K8VNNI(kp/4, &ap[0], 4, 16, &bp[p*ps], &tile[0])
		} else {
			gemmI8K8AVX2(kp/4, &ap[0], 4, 16, &bp[p*ps], &tile[0])
		}
		for i := range gemmMR {
			for j := range min(gemmNRQ, n-p*gemmNRQ) {
				out[i*n+p*gemmNRQ+j] = tile[i*24+j]
			}
		}
	}
	return out
}

func gemmTSkipNoAVX2(t *testing.T) {
	if !cpuAVX2FMA {
		t.Skip("no AVX2/FMA")
	}
}

func TestGemmFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for range 1000000 {
		x, y, z := float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())
		if rng.IntN(2) == 0 {
			z = -x * y * (1 + float32(rng.NormFloat64())*1e-6)
		}
		if got, want := fma32(x, y, z), float32(gemmTBigFMA(x, y, z)); got != want {
			t.Fatalf("fma(%g,%g,%g) = %g, want %g", x, y, z, got, want)
		}
	}
}

// gemmTBigFMA rounds x·y+z once, through an exact float64 pair.
func gemmTBigFMA(x, y, z float32) float32 {
	// x·y is exact in float64; x·y + z is exact as the unevaluated sum
	// hi + lo (TwoSum), and rounding hi + lo to float32 is decided by
	// hi rounded to float32 unless hi lies on a tie, broken by lo's sign.
	p, zz := float64(x)*float64(y), float64(z)
	hi := p + zz
	bb := hi - p
	lo := (p - (hi - bb)) + (zz - bb)
	r := float32(hi)
	if float64(r) == hi || lo == 0 {
		return r
	}
	// Neighbours of hi in float32 and the midpoint between them.
	var dn, up float32
	if float64(r) < hi {
		dn, up = r, math.Nextafter32(r, float32(math.Inf(1)))
	} else {
		dn, up = math.Nextafter32(r, float32(math.Inf(-1))), r
	}
	mid := (float64(dn) + float64(up)) / 2
	switch {
	case hi < mid || hi == mid && lo < 0:
		return dn
	case hi > mid || hi == mid && lo > 0:
		return up
	}
	return r
}

// The float32 kernels (ymm, and zmm where the CPU has AVX-512) equal their
// Go form bit for bit, packed or direct A,
// with and without bias or a masked last panel, and write only their tile.
func TestGemmF32AsmKernels(t *testing.T) {
	gemmTSkipNoAVX2(t)
	rng := rand.New(rand.NewPCG(5, 6))
	type kern func(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, cols int, lo, hi float32)
	ymm := func(f func(int, *float32, int, int, *float32, int, *float32, int, *float32, *int32, float32, float32)) kern {
		return func(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, cols int, lo, hi float32) {
			var mask *int32
			if r := cols % gemmNRF; r != 0 {
				mask = &gemmTailMask[gemmNRF-r]
			}
			f(k, a, rs, ks, b, bs, c, ldc, bias, mask, lo, hi)
		}
	}
	zmm := func(w int) kern {
		return func(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, cols int, lo, hi float32) {
			gemmF32KernZ(w, k, a, rs, ks, b, bs, c, ldc, bias, uint64(1)<<(cols-(w-2)*gemmNRF)-1, lo, hi)
		}
	}
	kerns := map[int]kern{1: ymm(gemmF32K8), 2: ymm(gemmF32K16), 3: ymm(gemmF32K24)}
	if cpuAVX512DQ {
		kerns[4], kerns[6] = zmm(4), zmm(6)
	} else {
		t.Log("no AVX512F/DQ: the zmm kernels are not tested")
	}
	nan := float32(math.NaN())
	for _, w := range []int{1, 2, 3, 4, 6} {
		if kerns[w] == nil {
			continue
		}
		for _, k := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 64, 129, 1000} {
			for _, direct := range []bool{false, true} {
				for trial := range 8 {
					rs, ks := 1, gemmMR
					alen := gemmMR * k
					if direct {
						rs, ks = k+rng.IntN(5), 1
						alen = 3*rs + k
					}
					a, aOK := gemmTGuard(alen, 8, float32(7))
					for i := range a {
						a[i] = float32(rng.NormFloat64())
					}
					bs := gemmNRF*k + gemmNRF*rng.IntN(3)
					b, bOK := gemmTGuard((w-1)*bs+gemmNRF*k, 8, float32(7))
					for i := range b {
						b[i] = float32(rng.NormFloat64())
					}
					if trial == 3 {
						a[rng.IntN(len(a))] = nan
					}
					cols := gemmNRF * w
					if trial >= 4 {
						cols -= 1 + rng.IntN(gemmNRF-1)
					}
					ldc := cols + rng.IntN(9)
					var bias []float32
					var bp *float32
					if trial%2 == 1 {
						bias, _ = gemmTGuard(cols, 8, nan) // masked-out bias must not be read
						copy(bias, gemmTRandF32(rng, cols, 1))
						bp = &bias[0]
					}
					lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
					if trial%4 >= 2 {
						lo, hi = -1, 1.5
					}
					got, gotOK := gemmTOut(gemmMR, cols, ldc, float32(-9))
					want := make([]float32, gemmMR*ldc)
					kerns[w](k, &a[0], 4*rs, 4*ks, &b[0], 4*bs, &got[0], 4*ldc, bp, cols, lo, hi)
					gemmF32KernGo(w, k, a, rs, ks, b, bs, want, ldc, cols, bias, lo, hi)
					name := fmt.Sprintf("w=%d k=%d direct=%v trial=%d cols=%d", w, k, direct, trial, cols)
					if !aOK() || !bOK() || !gotOK() {
						t.Fatalf("%s: write outside the tile", name)
					}
					for i := range gemmMR {
						for j := range cols {
							g, e := got[i*ldc+j], want[i*ldc+j]
							if math.Float32bits(g) != math.Float32bits(e) && !(g != g && e != e) {
								t.Fatalf("%s: (%d,%d) = %g, want %g", name, i, j, g, e)
							}
						}
					}
				}
			}
		}
	}
}

// The int8 kernels equal their Go form bit for bit, packed or direct A,
// extreme values and long K included, and write only their tile.
func TestGemmI8AsmKernels(t *testing.T) {
	gemmTSkipNoAVX2(t)
	rng := rand.New(rand.NewPCG(7, 8))
	type kern struct {
		name string
		w    int
		vnni bool
		f    func(kq int, a *int8, rs, ks int, b *int64, bs int, c *int32)
	}
	kerns := []kern{{"avx2", 1, false, func(kq int, a *int8, rs, ks int, b *int64, _ int, c *int32) { gemmI8K8AVX2(kq, a, rs, ks, b, c) }}}
	if cpuAVX512VNNI {
		kerns = append(kerns,
			kern{"vnni8", 1, true, func(kq int, a *int8, rs, ks int, b *int64, _ int, c *int32) { gemmI8K8VNNI(kq, a, rs, ks, b, c) }},
			kern{"vnni16", 2, true, gemmI8K16VNNI},
			kern{"vnni24", 3, true, gemmI8K24VNNI})
		if cpuAVX512DQ {
			kerns = append(kerns, kern{"vnni32z", 4, true, gemmI8Z32VNNI}, kern{"vnni48z", 6, true, gemmI8Z48VNNI})
		}
	} else {
		t.Log("no AVX512-VNNI: only the AVX2 int8 kernel is tested")
	}
	for _, kn := range kerns {
		for _, kq := range []int{1, 2, 3, 4, 5, 16, 33, 1024, 5000} {
			for mode := range 8 {
				rs, ks, alen := 4, 16, 16*kq
				if mode >= 4 { // direct rows
					rs, ks = 4*kq+rng.IntN(9), 4
					alen = 3*rs + 4*kq
				}
				a, aOK := gemmTGuard(alen, 16, int8(3))
				ps := 4 + 4*kq + 4*rng.IntN(2) // panel stride in int64
				b, bOK := gemmTGuard((kn.w-1)*ps+4+4*kq, 4, int64(3))
				bb := gemmI64Bytes(b)
				for i := range a {
					switch mode % 4 {
					case 0:
						a[i] = int8(rng.IntN(256))
					case 1:
						a[i] = 127
					case 2:
						a[i] = -128
					default:
						a[i] = []int8{-128, 127}[rng.IntN(2)]
					}
				}
				for i := range bb {
					switch mode % 4 {
					case 0:
						bb[i] = byte(rng.IntN(256))
					case 1, 2:
						bb[i] = 0x80 // −128
					default:
						bb[i] = []byte{0x80, 0x7f}[rng.IntN(2)]
					}
				}
				got, gotOK := gemmTGuard(2*gemmMR*24, 16, int32(-7))
				for i := range got {
					got[i] = -7
				}
				want := make([]int32, 2*gemmMR*24)
				for i := range want {
					want[i] = -7
				}
				kn.f(kq, &a[0], rs, ks, &b[0], 8*ps, &got[0])
				gemmI8KernGo(kn.w, kq, a, rs, ks, b, 8*ps, want, kn.vnni)
				if !aOK() || !bOK() || !gotOK() {
					t.Fatalf("%s kq=%d: write outside the tile", kn.name, kq)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s kq=%d mode=%d: tile[%d] = %d, want %d", kn.name, kq, mode, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// gemmInterleave4 equals its Go form for every length and writes nothing
// past 4n elements.
func TestGemmInterleave4(t *testing.T) {
	gemmTSkipNoAVX2(t)
	rng := rand.New(rand.NewPCG(13, 14))
	for n := 1; n < 70; n++ {
		var s [4][]float32
		for i := range s {
			s[i] = gemmTRandF32(rng, n, 1)
		}
		got, ok := gemmTGuard(4*n, 8, float32(5))
		want := make([]float32, 4*n)
		gemmInterleave4F32(got, s[0], s[1], s[2], s[3])
		gemmInterleave4F32Go(want, s[0], s[1], s[2], s[3])
		if !ok() {
			t.Fatalf("n=%d: write outside", n)
		}
		gemmTCloseF32(t, fmt.Sprintf("n=%d", n), got, want, 0)
		var si [4][]int8
		for i := range si {
			si[i] = gemmTRandI8(rng, 4*n, -128, 127)
		}
		goti, oki := gemmTGuard(16*n, 8, int8(5))
		wanti := make([]int8, 16*n)
		gemmInterleave4I8(goti, si[0], si[1], si[2], si[3])
		gemmInterleave4I8Go(wanti, si[0], si[1], si[2], si[3])
		if !oki() {
			t.Fatalf("n=%d: int8 write outside", n)
		}
		gemmTEqualI8(t, fmt.Sprintf("int8 n=%d", n), goti, wanti)
	}
}

// The SIMD output stage equals gemmStoreI8 (gemmMul.apply) bit for bit on
// random and extreme accumulators and multipliers, and writes only its
// columns.
// gemmTRandAcc draws an output-stage input: a tile of int32 sums (a
// quarter from ext, a quarter any int32, the rest ±2¹⁹), n column terms
// and the row terms.
func gemmTRandAcc(rng *rand.Rand, ext []int32, n int) (tile [gemmMR * 24]int32, colAdd []int32, rowAdd [gemmMR]int32) {
	for i := range tile {
		switch rng.IntN(4) {
		case 0:
			tile[i] = ext[rng.IntN(len(ext))]
		case 1:
			tile[i] = int32(rng.Uint32())
		default:
			tile[i] = int32(rng.IntN(1<<20) - 1<<19)
		}
	}
	colAdd = gemmTRandI32(rng, n, 1<<16)
	for i := range rowAdd {
		rowAdd[i] = int32(rng.IntN(1<<17) - 1<<16)
	}
	return tile, colAdd, rowAdd
}

func TestGemmRequantAsm(t *testing.T) {
	gemmTSkipNoAVX2(t)
	rng := rand.New(rand.NewPCG(11, 12))
	ext := []int32{0, 1, -1, math.MaxInt32, math.MinInt32, 1 << 30, -(1 << 30), 1<<31 - 2}
	for trial := range 20000 {
		rows := 1 + rng.IntN(gemmMR)
		n := 1 + rng.IntN(24)
		tile, colAdd, rowAdd := gemmTRandAcc(rng, ext, n)
		mul := make([]gemmMul, n)
		for c := range mul {
			real := math.Exp2(rng.Float64()*64 - 40)
			if rng.IntN(20) == 0 {
				real = 0
			}
			mul[c] = gemmMakeMul(QuantizeMultiplier(real))
		}
		zp := int32(rng.IntN(256) - 128)
		lo, hi := int32(-128), int32(127)
		if rng.IntN(2) == 0 {
			lo, hi = max(zp, -128), 127
		}
		q := gemmNewQuant(colAdd, mul, zp, lo, hi)
		// Parameters past column n must not be read: make them NaN-like.
		pad := func(v []int32) []int32 {
			g, _ := gemmTGuard(n, 8, int32(-1<<31))
			copy(g, v)
			return g
		}
		q.colAdd, q.vMul, q.vLeft, q.vRight, q.vMask = pad(q.colAdd), pad(q.vMul), pad(q.vLeft), pad(q.vRight), pad(q.vMask)
		var plain int32
		if rng.IntN(3) == 0 { // the plain variant: no left shifts, no row terms
			plain, rowAdd = 1, [gemmMR]int32{}
			for c := range q.vLeft {
				q.vLeft[c] = 0
				q.mul[c].left = 0
			}
		}
		ldo := n + rng.IntN(5)
		got, gotOK := gemmTOut(rows, n, ldo, int8(0x33))
		want := make([]int8, rows*ldo)
		gemmRequantAVX2(&tile[0], rows, n, &got[0], ldo, &q.colAdd[0], &rowAdd, &q.vMul[0], &q.vLeft[0], &q.vRight[0], &q.vMask[0], &gemmTailMask[(8-n%8)%8], zp, lo, hi, plain)
		gemmStoreI8(tile[:], 24, 0, n, want, ldo, rows, &q, &rowAdd)
		if !gotOK() {
			t.Fatalf("trial %d: write outside the output", trial)
		}
		for i := range rows {
			for j := range n {
				if got[i*ldo+j] != want[i*ldo+j] {
					t.Fatalf("trial %d: (%d,%d) = %d, want %d (acc %d, mul %+v)", trial, i, j, got[i*ldo+j], want[i*ldo+j], tile[i*24+j], mul[j])
				}
			}
		}
	}
}

// TestGemmRequantF32Asm compares the fp32 output stage with gemmStoreI8
// (RequantizeFP32) bit for bit, on accumulators across the int32 range
// (float32 conversion rounds above 2²⁴), scales from 2⁻³² to 255, ties.
func TestGemmRequantF32Asm(t *testing.T) {
	gemmTSkipNoAVX2(t)
	rng := rand.New(rand.NewPCG(13, 14))
	ext := []int32{0, 1, -1, math.MaxInt32, math.MinInt32, 1 << 24, 1<<24 + 1, -(1 << 30), 1<<31 - 2}
	for trial := range 20000 {
		rows := 1 + rng.IntN(gemmMR)
		n := 1 + rng.IntN(24)
		tile, colAdd, rowAdd := gemmTRandAcc(rng, ext, n)
		scale := make([]float32, n)
		for c := range scale {
			switch rng.IntN(8) {
			case 0:
				scale[c] = 0.5 // ties: odd accumulators land on .5
			case 1:
				scale[c] = 255
			default:
				scale[c] = float32(math.Exp2(rng.Float64()*40 - 32))
			}
		}
		zp := int32(rng.IntN(256) - 128)
		lo, hi := int32(-128), int32(127)
		if rng.IntN(2) == 0 {
			lo, hi = max(zp, -128), 127
		}
		q := gemmNewQuant(colAdd, gemmMakeMulsFP32(scale), zp, lo, hi)
		if q.vScale == nil || q.vMul != nil {
			t.Fatal("gemmNewQuant: fp32 multipliers should fill vScale only")
		}
		g, _ := gemmTGuard(n, 8, int32(-1<<31))
		copy(g, q.colAdd)
		q.colAdd = g
		gs, _ := gemmTGuard(n, 8, float32(math.NaN()))
		copy(gs, q.vScale)
		q.vScale = gs
		ldo := n + rng.IntN(5)
		got, gotOK := gemmTOut(rows, n, ldo, int8(0x33))
		want := make([]int8, rows*ldo)
		gemmRequantF32AVX2(&tile[0], rows, n, &got[0], ldo, &q.colAdd[0], &rowAdd, &q.vScale[0], &gemmTailMask[(8-n%8)%8], zp, lo, hi, float32(lo-zp), float32(hi-zp))
		gemmStoreI8(tile[:], 24, 0, n, want, ldo, rows, &q, &rowAdd)
		if !gotOK() {
			t.Fatalf("trial %d: write outside the output", trial)
		}
		for i := range rows {
			for j := range n {
				if got[i*ldo+j] != want[i*ldo+j] {
					t.Fatalf("trial %d: (%d,%d) = %d, want %d (acc %d, scale %g)", trial, i, j, got[i*ldo+j], want[i*ldo+j], tile[i*24+j], scale[j])
				}
			}
		}
	}
}
