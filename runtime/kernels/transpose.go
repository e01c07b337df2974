package kernels

import (
	"github.com/lsms-edge/lsms/tflite/schema"
)

// TRANSPOSE with a constant int32/int64 permutation, rank ≤ 6, for any
// element type of 1, 2, 4 or 8 bytes. Prepare drops unit dimensions and
// merges input axes that stay adjacent, which reduces most permutations
// to either row copies (the last axis stays last) or a batched 2-D
// transpose, done in cache-sized tiles.

func init() {
	Register(schema.BuiltinOperatorTRANSPOSE, func() Kernel { return &transpose{} })
}

const transposeTile = 32

type transpose struct {
	es int // element size in bytes
	// Reduced problem: output axes (after dropping and merging) with their
	// sizes and input strides, in elements.
	odims []int
	istr  []int
	ostr  []int // output strides of the reduced output
	copy  bool  // reduced to one contiguous run

	// Row-copy mode (last output axis has input stride 1): rows of rowLen
	// elements; the outer axes are odims[:len-1].
	rowMode bool
	rowLen  int

	// Tile mode: q is the output axis with input stride 1; the last
	// output axis has output stride 1. outer lists the other axes.
	q                    int
	nq, nl               int // sizes of axis q and of the last axis
	qOutStride, lInStr   int
	outerDims, outerIStr []int
	outerOStr            []int
	nqb, nlb             int // tiles along q and along the last axis

	src, dst []byte
	run      func(lo, hi int)
}

func (k *transpose) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 2); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	in, out := n.Inputs[0], n.Outputs[0]
	if err := layoutCheckMovable(n, in); err != nil {
		return 0, err
	}
	if out.Type != in.Type {
		return 0, n.Errorf("output type %v differs from input type %v", out.Type, in.Type)
	}
	perm, err := layoutConstInts(n, n.Inputs[1], "permutation")
	if err != nil {
		return 0, err
	}
	rank := in.Rank()
	if rank > layoutMaxRank {
		return 0, n.Unsupportedf("rank %d (at most %d)", rank, layoutMaxRank)
	}
	if len(perm) != rank {
		return 0, n.Errorf("permutation %v has %d entries for rank %d", perm, len(perm), rank)
	}
	seen := make([]bool, rank)
	for _, p := range perm {
		if p < 0 || p >= rank || seen[p] {
			return 0, n.Errorf("permutation %v is not a permutation of [0,%d)", perm, rank)
		}
		seen[p] = true
	}
	oshape := make([]int, rank)
	for i, p := range perm {
		oshape[i] = in.Shape[p]
	}
	SetShape(out, oshape)
	k.es = in.Type.Size()
	k.plan(in.Shape, perm)
	return 0, nil
}

// transposeReduce drops unit dimensions and merges input axes that are
// consecutive in the permutation. It returns the reduced input shape and
// permutation.
func transposeReduce(shape, perm []int) ([]int, []int) {
	// Drop unit dims.
	keep := make([]int, len(shape)) // old axis -> new axis, or -1
	var dims []int
	for i, d := range shape {
		keep[i] = -1
		if d != 1 {
			keep[i] = len(dims)
			dims = append(dims, d)
		}
	}
	var p []int
	for _, a := range perm {
		if keep[a] >= 0 {
			p = append(p, keep[a])
		}
	}
	// Merge input axes a and a+1 that appear as ..., a, a+1, ... in p.
	for {
		merged := false
		for i := 0; i+1 < len(p); i++ {
			a := p[i]
			if p[i+1] != a+1 {
				continue
			}
			dims[a] *= dims[a+1]
			dims = append(dims[:a+1], dims[a+2:]...)
			p = append(p[:i+1], p[i+2:]...)
			for j := range p {
				if p[j] > a {
					p[j]--
				}
			}
			merged = true
			break
		}
		if !merged {
			break
		}
	}
	return dims, p
}

func (k *transpose) plan(shape, perm []int) {
	dims, p := transposeReduce(shape, perm)
	r := len(dims)
	k.rowMode, k.copy = false, false
	k.run = nil
	if r <= 1 {
		k.copy = true
		return
	}
	istrIn := layoutStrides(dims)
	k.odims = make([]int, r)
	k.istr = make([]int, r)
	for i, a := range p {
		k.odims[i] = dims[a]
		k.istr[i] = istrIn[a]
	}
	k.ostr = layoutStrides(k.odims)
	if k.istr[r-1] == 1 {
		// The last axis stays last: copy rows.
		k.rowMode = true
		k.rowLen = k.odims[r-1]
		k.run = k.rows
		return
	}
	for i := range r {
		if k.istr[i] == 1 {
			k.q = i
		}
	}
	k.nq, k.nl = k.odims[k.q], k.odims[r-1]
	k.qOutStride, k.lInStr = k.ostr[k.q], k.istr[r-1]
	k.outerDims, k.outerIStr, k.outerOStr = nil, nil, nil
	for i := 0; i < r-1; i++ {
		if i == k.q {
			continue
		}
		k.outerDims = append(k.outerDims, k.odims[i])
		k.outerIStr = append(k.outerIStr, k.istr[i])
		k.outerOStr = append(k.outerOStr, k.ostr[i])
	}
	k.nqb = (k.nq + transposeTile - 1) / transposeTile
	k.nlb = (k.nl + transposeTile - 1) / transposeTile
	switch k.es {
	case 1:
		k.run = k.tiles8
	case 2:
		k.run = k.tiles16
	case 4:
		k.run = k.tiles32
	default:
		k.run = k.tiles64
	}
}

func (k *transpose) Eval(ctx *Context, n *Node) error {
	src, dst := n.Inputs[0].Data, n.Outputs[0].Data
	if k.copy {
		layoutCopy(dst, src)
		return nil
	}
	k.src, k.dst = src, dst
	if k.rowMode {
		units := len(dst) / (k.rowLen * k.es)
		ctx.Pool.Run(units, layoutUnitsGrain(k.rowLen*k.es), k.run)
	} else {
		units := layoutProd(k.outerDims) * k.nqb * k.nlb
		tileBytes := min(k.nq, transposeTile) * min(k.nl, transposeTile) * k.es
		ctx.Pool.Run(units, layoutUnitsGrain(tileBytes), k.run)
	}
	k.src, k.dst = nil, nil
	return nil
}

// rows copies contiguous rows [lo,hi) of the output.
func (k *transpose) rows(lo, hi int) {
	r := len(k.odims)
	rb := k.rowLen * k.es
	for u := lo; u < hi; u++ {
		// Input offset of output row u.
		rem, off := u, 0
		for i := r - 2; i >= 0; i-- {
			d := k.odims[i]
			off += (rem % d) * k.istr[i]
			rem /= d
		}
		copy(k.dst[u*rb:(u+1)*rb], k.src[off*k.es:off*k.es+rb])
	}
}

// bases returns the input and output offsets (in elements) of outer index o.
func (k *transpose) bases(o int) (ib, ob int) {
	for i := len(k.outerDims) - 1; i >= 0; i-- {
		d := k.outerDims[i]
		c := o % d
		o /= d
		ib += c * k.outerIStr[i]
		ob += c * k.outerOStr[i]
	}
	return ib, ob
}

func (k *transpose) tiles8(lo, hi int) {
	transposeTiles(k, view[uint8](k.src), view[uint8](k.dst), lo, hi, nil)
}
func (k *transpose) tiles16(lo, hi int) {
	transposeTiles(k, view[uint16](k.src), view[uint16](k.dst), lo, hi, nil)
}

// tiles32 does the full 8×8 blocks of each tile in AVX where the machine
// has it (transposeBlocks32).
func (k *transpose) tiles32(lo, hi int) {
	transposeTiles(k, view[uint32](k.src), view[uint32](k.dst), lo, hi, transposeBlocks32)
}
func (k *transpose) tiles64(lo, hi int) {
	transposeTiles(k, view[uint64](k.src), view[uint64](k.dst), lo, hi, nil)
}

// transposeTiles handles units [lo,hi): unit u is tile (u/nlb)%nqb along
// q and u%nlb along the last axis of outer index u/(nqb·nlb); it writes
// out[ob + i*qOut + j] = in[ib + i + j*lIn] for the tile's i and j.
// blocks, if not nil, does a leading part of a tile (rows [i0,ie) ×
// columns [j0,je)) faster; the rest goes element by element.
func transposeTiles[T any](k *transpose, src, dst []T, lo, hi int,
	blocks func(k *transpose, src, dst []T, ib, ob, i0, i1, j0, j1 int) (ie, je int)) {
	per := k.nqb * k.nlb
	for u := lo; u < hi; u++ {
		ib, ob := k.bases(u / per)
		t := u % per
		i0 := (t / k.nlb) * transposeTile
		i1 := min(i0+transposeTile, k.nq)
		j0 := (t % k.nlb) * transposeTile
		j1 := min(j0+transposeTile, k.nl)
		ie, je := i0, j0
		if blocks != nil {
			ie, je = blocks(k, src, dst, ib, ob, i0, i1, j0, j1)
		}
		transposeTile1(k, src, dst, ib, ob, i0, ie, je, j1)
		transposeTile1(k, src, dst, ib, ob, ie, i1, j0, j1)
	}
}

// transposeTile1 writes rows [i0,i1) × columns [j0,j1) of a tile element
// by element.
func transposeTile1[T any](k *transpose, src, dst []T, ib, ob, i0, i1, j0, j1 int) {
	qOut, lIn := k.qOutStride, k.lInStr
	for i := i0; i < i1; i++ {
		o := dst[ob+i*qOut+j0 : ob+i*qOut+j1]
		s := ib + i + j0*lIn
		for j := range o {
			o[j] = src[s]
			s += lIn
		}
	}
}

// transposeRef is the reference: out[i...] = in[perm applied], any rank.
func transposeRef[T any](in []T, shape, perm []int) ([]T, []int) {
	r := len(shape)
	oshape := make([]int, r)
	for i, p := range perm {
		oshape[i] = shape[p]
	}
	istr := layoutStrides(shape)
	out := make([]T, len(in))
	idx := make([]int, r)
	for o := range out {
		off := 0
		for i := range r {
			off += idx[i] * istr[perm[i]]
		}
		out[o] = in[off]
		for i := r - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < oshape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, oshape
}
