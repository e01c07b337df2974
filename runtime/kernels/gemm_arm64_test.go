//go:build arm64 && !noasm

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gemmTRawI8 returns the 4×n int32 products of the int8 kernel in use.
func gemmTRawI8(kp int, ap []int8, bp []int64, n int) []int32 {
	if !gemmI8Dot() {
		return gemmTRawI8Go(kp, ap, bp, n)
	}
	out := make([]int32, gemmMR*n)
	ps := gemmQuadPanel(kp)
	var tile [gemmMR * gemmNRQ]int32
	for p := range gemmPanels(n, gemmNRQ) {
		gemmI8K8SDOT(kp/4, &ap[0], &bp[p*ps+4], &tile)
		for i := range gemmMR {
			for j := range min(gemmNRQ, n-p*gemmNRQ) {
				out[i*n+p*gemmNRQ+j] = tile[i*gemmNRQ+j]
			}
		}
	}
	return out
}

// The NEON kernels give the Go kernels' results bit for bit: float32
// (fused multiply-adds in the same order) and int8 (exact int32 sums).
func TestGemmNEONMatchesGo(t *testing.T) {
	levels := gemmLevels()
	defer gemmSetLevel(levels[len(levels)-1])
	if len(levels) < 2 {
		t.Skip("LSMS_GEMM=go")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, k := range gemmTKs {
		kp := gemmPadK(k)
		for _, n := range gemmTNs {
			a := gemmTRandF32(rng, gemmMR*k, 1)
			b := gemmTRandF32(rng, n*k, 1)
			ap := make([]float32, gemmMR*kp)
			gemmPackAF32(ap, a, 0, gemmMR, k, k, 1)
			bp := make([]float32, gemmPackedBSizeF32(n, k))
			gemmPackBF32(bp, b, n, k, k, 1)
			var res [2][]float32
			for li, l := range []int{gemmLevelGo, gemmLevelNEON} {
				gemmSetLevel(l)
				res[li] = make([]float32, gemmMR*n)
				gemmRowF32(kp, ap, bp, n, res[li], n, gemmMR, nil, float32(math.Inf(-1)), float32(math.Inf(1)))
			}
			for i := range res[0] {
				if math.Float32bits(res[0][i]) != math.Float32bits(res[1][i]) {
					t.Fatalf("float32 k=%d n=%d [%d]: NEON %v, Go %v", k, n, i, res[1][i], res[0][i])
				}
			}
			if !cpuARM64DotProd {
				continue
			}
			ai, bi := make([]int8, gemmMR*k), make([]int8, n*k)
			for i := range ai {
				ai[i] = int8(rng.IntN(256) - 128)
			}
			for i := range bi {
				bi[i] = int8(rng.IntN(256) - 128)
			}
			api := make([]int8, gemmMR*kp)
			gemmPackAI8(api, ai, 0, gemmMR, k, k, 1, nil)
			var raw [2][]int32
			for li, l := range []int{gemmLevelGo, gemmLevelDot} {
				gemmSetLevel(l)
				bpi := make([]int64, gemmPackedBSizeI8(n, k))
				gemmPackBI8(bpi, bi, n, k, k, 1, nil)
				raw[li] = gemmTRawI8(kp, api, bpi, n)
			}
			for i := range raw[0] {
				if raw[0][i] != raw[1][i] {
					t.Fatalf("int8 k=%d n=%d [%d]: SDOT %d, Go %d", k, n, i, raw[1][i], raw[0][i])
				}
			}
		}
	}
	if !cpuARM64DotProd {
		t.Log("no FEAT_DotProd: the SDOT kernel was not run")
	}
}
