package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// bmmTShapes draws broadcastable shapes for lhs and rhs and the output.
func bmmTShapes(rng *rand.Rand) (ls, rs, os []int, adjX, adjY bool) {
	M, K, N := 1+rng.IntN(12), 1+rng.IntN(40), 1+rng.IntN(12)
	adjX, adjY = rng.IntN(2) == 0, rng.IntN(2) == 0
	lr, rr := 2+rng.IntN(3), 2+rng.IntN(3)
	rank := max(lr, rr)
	ob := make([]int, rank-2)
	for i := range ob {
		ob[i] = 1 + rng.IntN(3)
	}
	batchDims := func(r int) []int {
		d := make([]int, r-2)
		for i := range d {
			d[i] = ob[rank-r+i]
			if rng.IntN(3) == 0 {
				d[i] = 1
			}
		}
		return d
	}
	lb, rb := batchDims(lr), batchDims(rr)
	// Output batch dims follow broadcasting of what was drawn.
	os = make([]int, rank)
	for i := range rank - 2 {
		a, b := 1, 1
		if j := i - (rank - lr); j >= 0 {
			a = lb[j]
		}
		if j := i - (rank - rr); j >= 0 {
			b = rb[j]
		}
		os[i] = max(a, b)
	}
	os[rank-2], os[rank-1] = M, N
	ls = append(lb, M, K)
	if adjX {
		ls = append(lb[:len(lb):len(lb)], K, M)
	}
	rs = append(rb, K, N)
	if adjY {
		rs = append(rb[:len(rb):len(rb)], N, K)
	}
	return ls, rs, os, adjX, adjY
}

func bmmTNum(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func TestBatchMatMulFloatMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for i := range 200 {
		ls, rs, os, adjX, adjY := bmmTShapes(rng)
		lhs := gemmTRandF32(rng, bmmTNum(ls), 1)
		rhs := gemmTRandF32(rng, bmmTNum(rs), 1)
		want := make([]float32, bmmTNum(os))
		batchMatMulRefF32(lhs, ls, rhs, rs, adjX, adjY, want)
		ins := []*Tensor{gemmTTensor(ls, lhs, false), gemmTTensor(rs, rhs, rng.IntN(2) == 0)}
		outT := gemmTTensor(os, []float32{}, false)
		opts := &schema.BatchMatMulOptionsT{AdjX: adjX, AdjY: adjY}
		var first []float32
		for _, th := range []int{1, 3} {
			out, err := gemmTRun(t, schema.BuiltinOperatorBATCH_MATMUL, opts, ins, outT, th)
			if err != nil {
				t.Fatalf("case %d %v×%v: %v", i, ls, rs, err)
			}
			got := out.F32()
			gemmTCloseF32(t, fmt.Sprintf("case %d %v×%v adj %v,%v threads %d", i, ls, rs, adjX, adjY, th), got, want, 1e-5)
			if first == nil {
				first = append([]float32{}, got...)
			} else {
				for j := range got {
					if got[j] != first[j] {
						t.Fatalf("case %d: threads change element %d", i, j)
					}
				}
			}
		}
	}
}

func TestBatchMatMulInt8MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for i := range 200 {
		ls, rs, os, adjX, adjY := bmmTShapes(rng)
		lhs := gemmTRandI8(rng, bmmTNum(ls), -128, 127)
		rhs := gemmTRandI8(rng, bmmTNum(rs), -128, 127)
		lScale, rScale := float32(0.01+rng.Float64()*0.05), float32(0.01+rng.Float64()*0.05)
		lZP, rZP := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
		if rng.IntN(3) == 0 {
			rZP = 0
		}
		K := ls[len(ls)-1]
		if adjX {
			K = ls[len(ls)-2]
		}
		outScale := float32(float64(lScale*rScale) * (0.5 + rng.Float64()) * 60 * float64(K))
		outZP := int32(rng.IntN(256) - 128)
		mult, shift := QuantizeMultiplier(float64(lScale) * float64(rScale) / float64(outScale))
		want := make([]int8, bmmTNum(os))
		batchMatMulRefI8(lhs, ls, lZP, rhs, rs, rZP, adjX, adjY, mult, shift, outZP, want)
		ins := []*Tensor{
			gemmTQuant(gemmTTensor(ls, lhs, false), []float32{lScale}, []int32{lZP}, 0),
			gemmTQuant(gemmTTensor(rs, rhs, rng.IntN(2) == 0), []float32{rScale}, []int32{rZP}, 0),
		}
		outT := gemmTQuant(gemmTTensor(os, []int8{}, false), []float32{outScale}, []int32{outZP}, 0)
		opts := &schema.BatchMatMulOptionsT{AdjX: adjX, AdjY: adjY}
		for _, th := range []int{1, 3} {
			out, err := gemmTRun(t, schema.BuiltinOperatorBATCH_MATMUL, opts, ins, outT, th)
			if err != nil {
				t.Fatalf("case %d %v×%v: %v", i, ls, rs, err)
			}
			gemmTEqualI8(t, fmt.Sprintf("case %d %v×%v adj %v,%v threads %d", i, ls, rs, adjX, adjY, th), out.I8(), want)
		}
	}
}

func TestBatchMatMulRejects(t *testing.T) {
	a := gemmTTensor([]int{2, 3, 4}, make([]float32, 24), false)
	b := gemmTTensor([]int{3, 4, 5}, make([]float32, 60), false)
	out := gemmTTensor([]int{2, 3, 5}, []float32{}, false)
	if _, err := gemmTRun(t, schema.BuiltinOperatorBATCH_MATMUL, nil, []*Tensor{a, b}, out, 1); err == nil {
		t.Error("non-broadcastable batches accepted")
	}
	b2 := gemmTTensor([]int{2, 5, 5}, make([]float32, 50), false)
	if _, err := gemmTRun(t, schema.BuiltinOperatorBATCH_MATMUL, nil, []*Tensor{a, b2}, out, 1); err == nil {
		t.Error("mismatched inner dimensions accepted")
	}
}
