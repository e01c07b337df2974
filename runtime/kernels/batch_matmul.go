package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func init() {
	Register(schema.BuiltinOperatorBATCH_MATMUL, func() Kernel { return &batchMatMul{} })
}

// batchMatMul computes out[...,m,n] = Σ_k lhs[...,m,k]·rhs[...,k,n] with
// adj_x/adj_y transposing the last two dimensions of lhs/rhs and the batch
// dimensions broadcast; it runs on the shared GEMM (gemm.go). A constant
// rhs is packed once in Prepare.
type batchMatMul struct {
	mm       gemmMM
	lhs, rhs *Tensor
	rConst   bool
	nB       int // number of distinct rhs matrices
	rsn, rsk int // rhs strides of b(n,k) within a matrix
	lZP, rZP int32
	colSum   []int32

	// K split (float32, long products; see bmmKSplit): the gemm runs
	// kParts products of depth K/kParts per output matrix into partial
	// sums at scratch offset partOff, which Eval adds up in order.
	kParts  int
	kPart   int // K / kParts
	batches int // output matrices
	partOff int
	part    []float32
	out     []float32
	sum     func(lo, hi int) // sumParts, bound once (Eval does not allocate)
	pack    func(lo, hi int) // packF32, bound once

	// A float32 rhs that is not constant is packed into own; when another
	// BATCH_MATMUL already packed the same tensor the same way in this
	// invocation (the NMF multiplies by the same features in each of its
	// steps), its buffer is used instead (entry, shared through the
	// Context by every node reading that tensor).
	own   []float32
	entry *bmmPackEntry
}

// bmmPackEntry records which node last packed a tensor as a float32 rhs,
// and in which invocation.
type bmmPackEntry struct {
	inv   uint64
	owner *batchMatMul
}

// samePacking reports whether k and o pack their rhs identically.
func (k *batchMatMul) samePacking(o *batchMatMul) bool {
	return k.mm.n == o.mm.n && k.mm.k == o.mm.k && k.kParts == o.kParts && k.kPart == o.kPart &&
		k.rsn == o.rsn && k.rsk == o.rsk && k.nB == o.nB && !o.mm.isI8
}

// bmmKSplit returns how many equal parts to split a float32 product's
// depth K into, or 1. When one rhs matrix, packed, outgrows
// bmmKSplitBytes, the gemm would stream it from memory once per 4-row
// panel of the lhs; split, each part's rhs (≤ bmmKSplitBytes/2, at least
// 128 deep) stays in cache while every row panel passes over it, and the
// partial products are added up after (at most 64 parts). Measured on the
// LSMS NMF product at 480×480, 2 threads, (64×14,400)·(14,400×256) with the
// rhs packed per call: 13.9 ms unsplit, 4.7 ms split
// (BenchmarkBatchMatMulLongK).
func bmmKSplit(n, k int) int {
	if 4*n*k <= bmmKSplitBytes {
		return 1
	}
	kc := max(128, bmmKSplitBytes/2/(4*n))
	for parts := max(2, (k+kc-1)/kc); parts <= 64 && k/parts >= 128; parts++ {
		if k%parts == 0 {
			return parts
		}
	}
	return 1
}

// bmmKSplitBytes is the packed rhs size from which bmmKSplit splits
// (a variable for the tests).
var bmmKSplitBytes = 1 << 20

func (k *batchMatMul) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 2); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	o, err := Options[schema.BatchMatMulOptionsT](n)
	if err != nil {
		return 0, err
	}
	lhs, rhs, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	k.lhs, k.rhs = lhs, rhs
	g := &k.mm
	switch {
	case lhs.Type == tflite.Float32 && rhs.Type == tflite.Float32 && out.Type == tflite.Float32:
	case lhs.Type == tflite.Int8 && rhs.Type == tflite.Int8 && out.Type == tflite.Int8:
		g.isI8 = true
	default:
		return 0, n.Unsupportedf("inputs %v×%v with output %v (want float32 or int8 throughout)", lhs.Type, rhs.Type, out.Type)
	}
	lr, rr := lhs.Rank(), rhs.Rank()
	if lr < 2 || lr > 5 || rr < 2 || rr > 5 {
		return 0, n.Errorf("input ranks must be 2 to 5, got %v and %v", lhs.Shape, rhs.Shape)
	}
	rank := max(lr, rr)
	ext := func(s []int) []int {
		e := make([]int, rank)
		for i := range e {
			e[i] = 1
		}
		copy(e[rank-len(s):], s)
		return e
	}
	ls, rs := ext(lhs.Shape), ext(rhs.Shape)
	outShape := make([]int, rank)
	for i := range rank - 2 {
		a, b := ls[i], rs[i]
		if a != b && a != 1 && b != 1 {
			return 0, n.Errorf("batch dimensions of %v and %v do not broadcast", lhs.Shape, rhs.Shape)
		}
		outShape[i] = a
		if a == 1 {
			outShape[i] = b
		}
	}
	M, K := ls[rank-2], ls[rank-1]
	if o.AdjX {
		M, K = K, M
	}
	K2, N := rs[rank-2], rs[rank-1]
	if o.AdjY {
		K2, N = N, K2
	}
	if K != K2 {
		return 0, n.Errorf("inner dimensions differ: %v (adj_x=%v) × %v (adj_y=%v)", lhs.Shape, o.AdjX, rhs.Shape, o.AdjY)
	}
	outShape[rank-2], outShape[rank-1] = M, N
	SetShape(out, outShape)

	// Per output batch: the lhs and rhs matrix it reads.
	batches := 1
	for i := range rank - 2 {
		batches *= outShape[i]
	}
	k.nB = 1
	for i := range rank - 2 {
		k.nB *= rs[i]
	}
	g.batches, g.m, g.n, g.k = batches, M, N, K
	g.aBase, g.bIdx, g.cBase = make([]int, batches), make([]int, batches), make([]int, batches)
	idx := make([]int, rank-2)
	for b := range batches {
		li, ri := 0, 0
		for i := range rank - 2 {
			li = li*ls[i] + min(idx[i], ls[i]-1)
			ri = ri*rs[i] + min(idx[i], rs[i]-1)
		}
		g.aBase[b] = li * M * K
		g.bIdx[b] = ri
		g.cBase[b] = b * M * N
		for i := rank - 3; i >= 0; i-- {
			idx[i]++
			if idx[i] < outShape[i] {
				break
			}
			idx[i] = 0
		}
	}
	if o.AdjX {
		g.sm, g.sk = 1, M
	} else {
		g.sm, g.sk = K, 1
	}
	if o.AdjY {
		k.rsn, k.rsk = K, 1
	} else {
		k.rsn, k.rsk = 1, N
	}
	k.rConst = rhs.Const
	if g.isI8 {
		if K >= 1<<17 {
			return 0, n.Unsupportedf("int8 accumulation depth %d is too large", K)
		}
		if !lhs.Quantized() || !rhs.Quantized() || !out.Quantized() {
			return 0, n.Errorf("int8 tensors need quantization parameters")
		}
		if len(rhs.Scale) != 1 || len(lhs.Scale) != 1 {
			return 0, n.Unsupportedf("per-axis quantized inputs")
		}
		q, sh := QuantizeMultiplier(float64(lhs.Scale[0]) * float64(rhs.Scale[0]) / float64(out.Scale[0]))
		g.mul = make([]gemmMul, N)
		for i := range N {
			g.mul[i] = gemmMakeMul(q, sh)
		}
		k.lZP, k.rZP = lhs.ZeroPoint[0], rhs.ZeroPoint[0]
		g.zp = out.ZeroPoint[0]
		g.qlo, g.qhi = math.MinInt8, math.MaxInt8
		g.bZP = k.rZP
		g.colAdd = make([]int32, k.nB*N)
		k.colSum = make([]int32, N)
		g.bI = make([]int64, k.nB*gemmPackedBSizeI8(N, K))
	} else {
		g.lo, g.hi = float32(math.Inf(-1)), float32(math.Inf(1))
		k.kParts, k.kPart, k.batches = 1, K, batches
		if parts := bmmKSplit(N, K); parts > 1 {
			// Part j of output matrix b is gemm batch b·parts + j: the
			// lhs columns [j·kPart, (j+1)·kPart), the rhs part packed as
			// matrix bIdx·parts + j, the partial sum at (b·parts + j)·M·N.
			k.kParts, k.kPart = parts, K/parts
			aBase, bIdx := g.aBase, g.bIdx
			g.batches, g.k = batches*parts, k.kPart
			g.aBase, g.bIdx, g.cBase = make([]int, g.batches), make([]int, g.batches), make([]int, g.batches)
			for b := range batches {
				for j := range parts {
					t := b*parts + j
					g.aBase[t] = aBase[b] + j*k.kPart*g.sk
					g.bIdx[t] = bIdx[b]*parts + j
					g.cBase[t] = t * M * N
				}
			}
		}
		g.bF = make([]float32, k.nB*k.kParts*gemmPackedBSizeF32(N, g.k))
		k.own = g.bF
		if !rhs.Const {
			if ctx.packs == nil {
				ctx.packs = map[*Tensor]*bmmPackEntry{}
			}
			if ctx.packs[rhs] == nil {
				ctx.packs[rhs] = &bmmPackEntry{}
			}
			k.entry = ctx.packs[rhs]
		}
	}
	k.pack = k.packF32
	if k.rConst {
		k.prepRHS()
	}
	scratch := g.setup(ctx)
	if k.kParts > 1 {
		k.sum = k.sumParts
		k.partOff = gemmAlign(scratch)
		scratch = k.partOff + 4*g.batches*M*N
	}
	return scratch, nil
}

// prepRHS packs every rhs matrix (and for int8 the zero-point terms).
func (k *batchMatMul) prepRHS() {
	g := &k.mm
	mat := g.n * g.k
	if !g.isI8 {
		k.packF32(0, k.nB*k.kParts)
		return
	}
	src := k.rhs.I8()
	bsz := gemmPackedBSizeI8(g.n, g.k)
	kzz := int32(g.k) * k.lZP * k.rZP
	for b := range k.nB {
		gemmPackBI8(g.bI[b*bsz:(b+1)*bsz], src[b*mat:(b+1)*mat], g.n, g.k, k.rsn, k.rsk, k.colSum)
		ca := g.colAdd[b*g.n : (b+1)*g.n]
		for c := range ca {
			ca[c] = kzz - k.lZP*k.colSum[c]
		}
	}
}

// packF32 packs float32 rhs parts [lo, hi) (part t: matrix t/kParts, K
// part t%kParts).
func (k *batchMatMul) packF32(lo, hi int) {
	g := &k.mm
	src := k.rhs.F32()
	bsz := gemmPackedBSizeF32(g.n, g.k)
	mat := g.n * g.k * k.kParts
	for t := lo; t < hi; t++ {
		b, j := t/k.kParts, t%k.kParts
		gemmPackBF32(g.bF[t*bsz:(t+1)*bsz], src[b*mat+j*k.kPart*k.rsk:(b+1)*mat], g.n, g.k, k.rsn, k.rsk)
	}
}

func (k *batchMatMul) Eval(ctx *Context, n *Node) error {
	g := &k.mm
	switch e := k.entry; {
	case k.rConst:
	case e != nil && ctx.Invocation > 0 && e.inv == ctx.Invocation && e.owner != k && k.samePacking(e.owner):
		g.bF = e.owner.own
	case !g.isI8:
		g.bF = k.own
		if k.nB*k.kParts > 1 {
			ctx.Pool.Run(k.nB*k.kParts, 1, k.pack)
		} else {
			k.prepRHS()
		}
		if e != nil {
			e.inv, e.owner = ctx.Invocation, k
		}
	default:
		k.prepRHS()
	}
	if g.isI8 {
		g.aI, g.cI = k.lhs.I8(), n.Outputs[0].I8()
	} else {
		g.aF, g.cF = k.lhs.F32(), n.Outputs[0].F32()
		if k.kParts > 1 {
			k.part = gemmF32At(n.Scratch, k.partOff, g.batches*g.m*g.n)
			k.out = g.cF
			g.cF = k.part
		}
	}
	g.exec(ctx, n.Scratch)
	if k.kParts > 1 {
		ctx.Pool.Run(k.batches*g.m, max(1, elementwiseGrain/g.n), k.sum)
	}
	return nil
}

// sumParts adds the K parts' partial products of output rows [lo, hi)
// (rows of all output matrices), part 0 first.
func (k *batchMatMul) sumParts(lo, hi int) {
	m, n, parts := k.mm.m, k.mm.n, k.kParts
	for r := lo; r < hi; r++ {
		b, i := r/m, r%m
		dst := k.out[r*n : (r+1)*n]
		copy(dst, k.part[(b*parts*m+i)*n:])
		for j := 1; j < parts; j++ {
			o := ((b*parts+j)*m + i) * n
			reduceAddRowF32(dst, k.part[o:o+n])
		}
	}
}

// bmmRefWalk calls f(lhsOff, rhsOff, outOff) for every output batch of
// the broadcast batch dimensions, as TFLite's reference BatchMatMul does
// (offsets in matrices).
func bmmRefWalk(lshape, rshape []int, f func(lb, rb, ob int)) {
	rank := max(len(lshape), len(rshape))
	ext := func(s []int) []int {
		e := make([]int, rank)
		for i := range e {
			e[i] = 1
		}
		copy(e[rank-len(s):], s)
		return e
	}
	ls, rs := ext(lshape), ext(rshape)
	nb := rank - 2
	out := make([]int, nb)
	total := 1
	for i := range nb {
		out[i] = max(ls[i], rs[i])
		total *= out[i]
	}
	for ob := range total {
		r := ob
		lb, rb, lm, rm := 0, 0, 1, 1
		for i := nb - 1; i >= 0; i-- {
			c := r % out[i]
			r /= out[i]
			if ls[i] > 1 {
				lb += c * lm
			}
			if rs[i] > 1 {
				rb += c * rm
			}
			lm *= ls[i]
			rm *= rs[i]
		}
		f(lb, rb, ob)
	}
}

// bmmDims returns M, K, N of a product.
func bmmDims(lshape, rshape []int, adjX, adjY bool) (m, k, n int) {
	m, k = lshape[len(lshape)-2], lshape[len(lshape)-1]
	if adjX {
		m, k = k, m
	}
	n = rshape[len(rshape)-1]
	if adjY {
		n = rshape[len(rshape)-2]
	}
	return m, k, n
}

// batchMatMulRefF32 is TFLite's reference float BatchMatMul.
func batchMatMulRefF32(lhs []float32, lshape []int, rhs []float32, rshape []int, adjX, adjY bool, out []float32) {
	M, K, N := bmmDims(lshape, rshape, adjX, adjY)
	bmmRefWalk(lshape, rshape, func(lb, rb, ob int) {
		for m := range M {
			for n := range N {
				var acc float32
				for k := range K {
					l := lhs[lb*M*K+m*K+k]
					if adjX {
						l = lhs[lb*M*K+k*M+m]
					}
					r := rhs[rb*K*N+k*N+n]
					if adjY {
						r = rhs[rb*K*N+n*K+k]
					}
					acc += l * r
				}
				out[ob*M*N+m*N+n] = acc
			}
		}
	})
}

// batchMatMulRefI8 is TFLite's reference int8 BatchMatMul.
func batchMatMulRefI8(lhs []int8, lshape []int, lZP int32, rhs []int8, rshape []int, rZP int32, adjX, adjY bool, mult int32, shift int, outZP int32, out []int8) {
	M, K, N := bmmDims(lshape, rshape, adjX, adjY)
	bmmRefWalk(lshape, rshape, func(lb, rb, ob int) {
		for m := range M {
			for n := range N {
				var acc int32
				for k := range K {
					l := lhs[lb*M*K+m*K+k]
					if adjX {
						l = lhs[lb*M*K+k*M+m]
					}
					r := rhs[rb*K*N+k*N+n]
					if adjY {
						r = rhs[rb*K*N+n*K+k]
					}
					acc += (int32(l) - lZP) * (int32(r) - rZP)
				}
				acc = MultiplyByQuantizedMultiplier(acc, mult, shift) + outZP
				out[ob*M*N+m*N+n] = int8(max(math.MinInt8, min(math.MaxInt8, acc)))
			}
		}
	})
}
