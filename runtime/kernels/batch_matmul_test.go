package kernels

import (
	"fmt"
	"math"
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
		bmmTCheckF32(t, fmt.Sprintf("case %d %v×%v adj %v,%v", i, ls, rs, adjX, adjY), ls, lhs, rs, rhs, rng.IntN(2) == 0, os, adjX, adjY, want, 1, 3)
	}
}

// bmmTCheckF32 runs a float BATCH_MATMUL with each thread count and checks
// the output against want (relative 1e-5) and that it does not depend on
// the thread count.
func bmmTCheckF32(t *testing.T, name string, ls []int, lhs []float32, rs []int, rhs []float32, rConst bool, os []int, adjX, adjY bool, want []float32, threads ...int) {
	t.Helper()
	ins := []*Tensor{gemmTTensor(ls, lhs, false), gemmTTensor(rs, rhs, rConst)}
	outT := gemmTTensor(os, []float32{}, false)
	opts := &schema.BatchMatMulOptionsT{AdjX: adjX, AdjY: adjY}
	var first []float32
	for _, th := range threads {
		out, err := gemmTRun(t, schema.BuiltinOperatorBATCH_MATMUL, opts, ins, outT, th)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := out.F32()
		gemmTCloseF32(t, fmt.Sprintf("%s threads %d", name, th), got, want, 1e-5)
		if first == nil {
			first = append([]float32{}, got...)
			continue
		}
		for j := range got {
			if got[j] != first[j] {
				t.Fatalf("%s: threads change element %d", name, j)
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

// TestBatchMatMulFloatKSplit runs long float products through the K split
// (bmmKSplitBytes lowered) against the reference, broadcast batches and
// both adj flags included, and checks that the thread count does not
// change the result.
func TestBatchMatMulFloatKSplit(t *testing.T) {
	defer func(v int) { bmmKSplitBytes = v }(bmmKSplitBytes)
	bmmKSplitBytes = 0
	rng := rand.New(rand.NewPCG(45, 46))
	for i := range 12 {
		M, N := 1+rng.IntN(9), 1+rng.IntN(20)
		K := []int{1024, 1536, 3072, 2560}[i%4]
		if got := bmmKSplit(N, K); got < 2 {
			t.Fatalf("bmmKSplit(%d, %d) = %d, want a split", N, K, got)
		}
		adjX, adjY := rng.IntN(2) == 0, rng.IntN(2) == 0
		lb, rb := []int{2, 1}, []int{1, 3}
		if i%3 == 0 {
			lb, rb = []int{1}, []int{1}
		}
		ls, rs := append(lb, M, K), append(rb, K, N)
		if adjX {
			ls = append(lb[:len(lb):len(lb)], K, M)
		}
		if adjY {
			rs = append(rb[:len(rb):len(rb)], N, K)
		}
		os := []int{max(lb[0], rb[0]), M, N}
		if len(lb) == 2 {
			os = []int{2, 3, M, N}
		}
		lhs := gemmTRandF32(rng, bmmTNum(ls), 1)
		rhs := gemmTRandF32(rng, bmmTNum(rs), 1)
		want := make([]float32, bmmTNum(os))
		batchMatMulRefF32(lhs, ls, rhs, rs, adjX, adjY, want)
		bmmTCheckF32(t, fmt.Sprintf("case %d %v×%v adj %v,%v", i, ls, rs, adjX, adjY), ls, lhs, rs, rhs, rng.IntN(2) == 0, os, adjX, adjY, want, 1, 2)
	}
}

// BenchmarkBatchMatMulLongK is the NMF bases product of LSMS tiny at
// 480×480: (64×14,400)·(14,400×256), float32, 2 threads, with and without
// the K split.
func BenchmarkBatchMatMulLongK(b *testing.B) {
	rng := rand.New(rand.NewPCG(47, 48))
	M, K, N := 64, 14400, 256
	ins := []*Tensor{gemmTTensor([]int{1, M, K}, gemmTRandF32(rng, M*K, 1), false), gemmTTensor([]int{1, K, N}, gemmTRandF32(rng, K*N, 1), false)}
	outT := gemmTTensor([]int{1, M, N}, []float32{}, false)
	for _, c := range []struct{ split, konst bool }{{false, false}, {true, false}, {true, true}} {
		b.Run(fmt.Sprintf("split=%v/const=%v", c.split, c.konst), func(b *testing.B) {
			defer func(v int) { bmmKSplitBytes = v }(bmmKSplitBytes)
			if !c.split {
				bmmKSplitBytes = math.MaxInt
			}
			ins := []*Tensor{ins[0], gemmTTensor(ins[1].Shape, ins[1].F32(), c.konst)}
			k := &batchMatMul{}
			o := *outT
			n := &Node{Op: schema.BuiltinOperatorBATCH_MATMUL, Options: &schema.BatchMatMulOptionsT{}, Inputs: ins, Outputs: []*Tensor{&o}}
			pool := NewPool(2)
			defer pool.Close()
			ctx := &Context{Threads: 2, Pool: pool}
			scratch, err := k.Prepare(ctx, n)
			if err != nil {
				b.Fatal(err)
			}
			o.Data = make([]byte, o.Bytes())
			n.Scratch = make([]byte, scratch)
			b.SetBytes(int64(2 * M * K * N)) // "bytes" = flops: MB/s reads as MFLOP/s
			for b.Loop() {
				if err := k.Eval(ctx, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
