package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
)

// Shared helpers of the elementwise kernels (ADD, SUB, MUL, DIV,
// SQUARED_DIFFERENCE and the unary activations).

// ewMaxRank is the largest rank the broadcasting kernels accept.
const ewMaxRank = 6

// ewBcast describes a NumPy-style broadcast of two inputs a and b to an
// output, precomputed at Prepare. Adjacent dimensions with the same
// broadcast pattern are merged, so the output is seen as rows×inner
// with the innermost dimension contiguous in the output; ia and ib are
// the element strides of a and b along it (1, or 0 when broadcast).
type ewBcast struct {
	rank   int // merged rank, ≥ 1
	dims   [ewMaxRank]int
	sa, sb [ewMaxRank]int
	n      int // output elements
	inner  int // dims[rank-1]
	rows   int // n / inner
	ia, ib int
}

// ewBroadcastShape returns the broadcast shape of a and b, or ok=false.
func ewBroadcastShape(a, b []int) ([]int, bool) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := range r {
		da, db := 1, 1
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, false
		}
	}
	return out, true
}

// init plans the broadcast of a and b to out (out must be their
// broadcast shape, rank ≤ ewMaxRank).
func (bc *ewBcast) init(a, b, out []int) {
	r := len(out)
	*bc = ewBcast{n: 1}
	for _, d := range out {
		bc.n *= d
	}
	// Full strides (0 for broadcast dimensions) in out's rank.
	var fa, fb [ewMaxRank]int
	sta, stb := 1, 1
	for i := r - 1; i >= 0; i-- {
		da, db := 1, 1
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		if da != 1 || out[i] == 1 {
			fa[i] = sta
		}
		if db != 1 || out[i] == 1 {
			fb[i] = stb
		}
		sta *= da
		stb *= db
	}
	// Merge: drop size-1 dimensions, then fuse a dimension into the next
	// inner one when both inputs are contiguous across it or both
	// broadcast along both.
	n := 0
	for i := range r {
		if out[i] == 1 {
			continue
		}
		if n > 0 {
			p := n - 1
			mergeA := (fa[i] == 0 && bc.sa[p] == 0) || (fa[i] != 0 && bc.sa[p] == fa[i]*out[i])
			mergeB := (fb[i] == 0 && bc.sb[p] == 0) || (fb[i] != 0 && bc.sb[p] == fb[i]*out[i])
			if mergeA && mergeB {
				bc.dims[p] *= out[i]
				bc.sa[p], bc.sb[p] = fa[i], fb[i]
				continue
			}
		}
		bc.dims[n], bc.sa[n], bc.sb[n] = out[i], fa[i], fb[i]
		n++
	}
	if n == 0 {
		bc.dims[0], bc.sa[0], bc.sb[0] = 1, 0, 0
		n = 1
	}
	bc.rank = n
	bc.inner = bc.dims[n-1]
	bc.ia, bc.ib = min(bc.sa[n-1], 1), min(bc.sb[n-1], 1)
	if bc.inner > 0 {
		bc.rows = bc.n / bc.inner
	}
}

// offsets returns the offsets in a and b of output row r.
func (bc *ewBcast) offsets(r int) (oa, ob int) {
	for i := bc.rank - 2; i >= 0; i-- {
		d := bc.dims[i]
		q := r / d
		idx := r - q*d
		r = q
		oa += idx * bc.sa[i]
		ob += idx * bc.sb[i]
	}
	return oa, ob
}

// grain returns the work units and the grain for Pool.Run: output
// elements when there is one row, rows otherwise.
func (bc *ewBcast) units() (n, grain int) {
	if bc.rows <= 1 {
		return bc.n, elementwiseGrain
	}
	return bc.rows, max(1, elementwiseGrain/max(bc.inner, 1))
}

// ewSpan resolves work units [lo,hi) to calls of row(dst range, a
// offset, b offset, count): with one row, a sub-range of it.
func (bc *ewBcast) span(lo, hi int, row func(o, oa, ob, cnt int)) {
	if bc.rows <= 1 {
		row(lo, lo*bc.ia, lo*bc.ib, hi-lo)
		return
	}
	for r := lo; r < hi; r++ {
		oa, ob := bc.offsets(r)
		row(r*bc.inner, oa, ob, bc.inner)
	}
}

// ewRefIndex maps an output multi-index to the flat index of an input
// of shape in under broadcasting (reference kernels).
func ewRefIndex(outIdx []int, in []int) int {
	off := len(outIdx) - len(in)
	flat := 0
	for i, d := range in {
		x := outIdx[off+i]
		if d == 1 {
			x = 0
		}
		flat = flat*d + x
	}
	return flat
}

// ewRefBinary applies f to every output element of the broadcast of a
// (shape as) and b (shape bs), in row-major order (reference kernels).
func ewRefBinary[T, U any](a []T, as []int, b []T, bs []int, f func(x, y T) U) ([]U, []int) {
	out, ok := ewBroadcastShape(as, bs)
	if !ok {
		panic("ewRefBinary: shapes do not broadcast")
	}
	n := 1
	for _, d := range out {
		n *= d
	}
	res := make([]U, n)
	idx := make([]int, len(out))
	for i := range n {
		res[i] = f(a[ewRefIndex(idx, as)], b[ewRefIndex(idx, bs)])
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < out[k] {
				break
			}
			idx[k] = 0
		}
	}
	return res, out
}

// ewQuantParams returns the per-tensor scale and zero point of an int8
// tensor, or an error naming the node.
func ewQuantParams(n *Node, t *Tensor) (float32, int32, error) {
	if len(t.Scale) != 1 || len(t.ZeroPoint) != 1 {
		if len(t.Scale) > 1 {
			return 0, 0, n.Unsupportedf("per-axis quantized %s", t)
		}
		return 0, 0, n.Errorf("int8 tensor %s has no quantization parameters", t)
	}
	s, zp := t.Scale[0], t.ZeroPoint[0]
	if !(s > 0) || math.IsInf(float64(s), 0) {
		return 0, 0, n.Errorf("tensor %s has scale %g", t, s)
	}
	if zp < -128 || zp > 127 {
		return 0, 0, n.Errorf("int8 tensor %s has zero point %d", t, zp)
	}
	return s, zp, nil
}

// ewLUTPopulate fills a 256-entry int8 table as TFLite's LUTPopulate
// does: dequantize in float32, apply f, multiply by the float32 inverse
// output scale, round half away from zero, add the zero point, clamp.
// The table is indexed by uint8(x).
func ewLUTPopulate(inScale float32, inZP int32, outScale float32, outZP int32, f func(float32) float32, lut *[256]int8) {
	inv := float32(1) / outScale
	for v := int32(-128); v <= 127; v++ {
		deq := inScale * float32(v-inZP)
		t := f(deq)
		r := math.Round(float64(float32(t * inv)))
		var q float64
		if r != r {
			q = float64(outZP)
		} else {
			q = r + float64(outZP)
		}
		lut[uint8(int8(v))] = int8(max(-128, min(127, q)))
	}
}

// ewLUT applies a 256-entry table.
func ewLUT(dst, src []int8, lut *[256]int8) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = lut[uint8(x)]
	}
}

// ewIsInt8 / ewIsF32 shorten type checks.
func ewIsInt8(t *Tensor) bool { return t.Type == tflite.Int8 }
func ewIsF32(t *Tensor) bool  { return t.Type == tflite.Float32 }

// ewBinary is the shared state of the broadcasting binary kernels. The
// op's Prepare fills one of the row functions; a row function computes
// dst[i] from a[i*ia] and b[i*ib] (ia, ib ∈ {0,1}).
type ewBinary struct {
	a, b, out *Tensor
	bc        ewBcast
	f32       func(dst, a, b []float32, ia, ib int)
	i8        func(dst, a, b []int8, ia, ib int)
	i32       func(dst, a, b []int32, ia, ib int)
	// i32Check, if set, validates the int32 divisor input before Eval.
	i32Check func(b []int32) error
	run      func(lo, hi int)
	row      func(o, oa, ob, cnt int)
	// f32Op, when ≥ 0, is the float32 ADD (0), SUB (1), MUL (2) or DIV (3) whose
	// rows may go to the vector kernel with a per-row operand
	// (evalRange); lo, hi its clamp.
	f32Op        int
	f32Lo, f32Hi float32
	commutative  bool
	// i8Rows, when set, does rows×inner int8 outputs of a contiguous a and
	// a row b of inner values repeated, in one call (false: it cannot).
	i8Rows func(dst, a, b []int8, rows, inner int) bool
}

// prepareShapes checks the inputs and output, sets the output shape and
// plans the broadcast. It accepts the element types in types.
func (k *ewBinary) prepareShapes(n *Node, types ...tflite.DType) error {
	if err := CheckInputs(n, 2, 2); err != nil {
		return err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return err
	}
	k.a, k.b, k.out = n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if k.a.Type != k.b.Type || k.a.Type != k.out.Type {
		return n.Errorf("input types %v, %v and output type %v differ", k.a.Type, k.b.Type, k.out.Type)
	}
	ok := false
	for _, t := range types {
		ok = ok || k.a.Type == t
	}
	if !ok {
		return n.Unsupportedf("type %v (supported: %v)", k.a.Type, types)
	}
	out, ok := ewBroadcastShape(k.a.Shape, k.b.Shape)
	if !ok {
		return n.Errorf("shapes %v and %v do not broadcast", k.a.Shape, k.b.Shape)
	}
	if len(out) > ewMaxRank {
		return n.Unsupportedf("rank %d broadcast (at most %d)", len(out), ewMaxRank)
	}
	SetShape(k.out, out)
	k.bc.init(k.a.Shape, k.b.Shape, out)
	k.f32Op = -1
	k.run = k.evalRange
	switch k.a.Type {
	case tflite.Float32:
		k.row = k.rowF32
	case tflite.Int8:
		k.row = k.rowI8
	case tflite.Int32:
		k.row = k.rowI32
	}
	return nil
}

// Eval implements Kernel for the binary ops.
func (k *ewBinary) Eval(ctx *Context, n *Node) error {
	if k.bc.n == 0 {
		return nil
	}
	if k.i32Check != nil {
		if err := k.i32Check(k.b.I32()); err != nil {
			return err
		}
	}
	units, grain := k.bc.units()
	ctx.Pool.Run(units, grain, k.run)
	return nil
}

func (k *ewBinary) evalRange(lo, hi int) {
	if k.f32Op >= 0 && k.rowsF32(lo, hi) {
		return
	}
	if k.i8Rows != nil && k.rowsI8(lo, hi) {
		return
	}
	k.bc.span(lo, hi, k.row)
}

// ewQuantI8 is the int8 arithmetic of ADD/SUB (addQuantParams) and MUL
// (mulQuantParams): per element, and in XNNPACK's form per row and per
// rows×inner block.
type ewQuantI8 interface {
	apply(x, y int8) int8
	rowXNNVec(dst, a, b []int8, ia, ib int)
	rowsXNNSIMD(dst, a, b []int8, rows, inner int) bool
}

// setI8 selects the int8 row functions of q: XNNPACK's form (row and
// rows kernels) when xnn, else TFLite's per-element arithmetic.
func (k *ewBinary) setI8(q ewQuantI8, xnn bool) {
	if xnn {
		k.i8, k.i8Rows = q.rowXNNVec, q.rowsXNNSIMD
		return
	}
	k.i8, k.i8Rows = ewI8Funcs(q.apply, k.out.NumElements())
}

// rowsI8 is rowsF32 for the int8 ops with an i8Rows kernel.
func (k *ewBinary) rowsI8(lo, hi int) bool {
	bc := &k.bc
	if bc.rank != 2 || bc.rows <= 1 || bc.ia != 1 || bc.ib != 1 {
		return false
	}
	// only b repeated: the int8 parameters are not symmetric in a and b
	inner := bc.inner
	if bc.sa[0] != inner || bc.sb[0] != 0 {
		return false
	}
	a, b := k.a.I8(), k.b.I8()
	return k.i8Rows(k.out.I8()[lo*inner:hi*inner], a[lo*inner:hi*inner], b[:inner], hi-lo, inner)
}

// rowsF32 does output rows [lo,hi) of a float32 ADD/SUB/MUL in one vector
// call when one input is a single row repeated (x + bias, x · scale of an
// NHWC tensor per channel) and the other is contiguous.
func (k *ewBinary) rowsF32(lo, hi int) bool {
	bc := &k.bc
	if bc.rank != 2 || bc.rows <= 1 || bc.ia != 1 || bc.ib != 1 {
		return false
	}
	a, b := k.a.F32(), k.b.F32()
	inner := bc.inner
	switch {
	case bc.sa[0] == inner && bc.sb[0] == 0:
	case bc.sb[0] == inner && bc.sa[0] == 0 && k.commutative:
		a, b = b, a
	default:
		return false
	}
	return ewBinF32RowsSIMD(k.f32Op, k.out.F32()[lo*inner:hi*inner], a[lo*inner:hi*inner], b[:inner], hi-lo, inner, k.f32Lo, k.f32Hi)
}

func (k *ewBinary) rowF32(o, oa, ob, cnt int) {
	k.f32(k.out.F32()[o:o+cnt], k.a.F32()[oa:], k.b.F32()[ob:], k.bc.ia, k.bc.ib)
}

func (k *ewBinary) rowI8(o, oa, ob, cnt int) {
	k.i8(k.out.I8()[o:o+cnt], k.a.I8()[oa:], k.b.I8()[ob:], k.bc.ia, k.bc.ib)
}

func (k *ewBinary) rowI32(o, oa, ob, cnt int) {
	k.i32(k.out.I32()[o:o+cnt], k.a.I32()[oa:], k.b.I32()[ob:], k.bc.ia, k.bc.ib)
}

// ewRowFunc builds a row function from a per-element function (used
// where the element work dominates the call, e.g. the int8 ops).
func ewRowFunc[T any](f func(x, y T) T) func(dst, a, b []T, ia, ib int) {
	return func(dst, a, b []T, ia, ib int) {
		switch {
		case ia == 1 && ib == 1:
			a, b = a[:len(dst)], b[:len(dst)]
			for i := range dst {
				dst[i] = f(a[i], b[i])
			}
		case ib == 1:
			x := a[0]
			b = b[:len(dst)]
			for i := range dst {
				dst[i] = f(x, b[i])
			}
		case ia == 1:
			y := b[0]
			a = a[:len(dst)]
			for i := range dst {
				dst[i] = f(a[i], y)
			}
		default:
			v := f(a[0], b[0])
			for i := range dst {
				dst[i] = v
			}
		}
	}
}

// ewActRangeInt32 is TFLite's CalculateActivationRange for int32.
func ewActRangeInt32(n *Node, act int8Act) (lo, hi int32, err error) {
	switch act {
	case actNone:
		return math.MinInt32, math.MaxInt32, nil
	case actRelu:
		return 0, math.MaxInt32, nil
	case actRelu6:
		return 0, 6, nil
	case actReluN1To1:
		return -1, 1, nil
	}
	return 0, 0, n.Unsupportedf("fused activation %v", act)
}

// ewActRangeF32 is the float clamp range of a fused activation.
func ewActRangeF32(n *Node, act int8Act) (lo, hi float32, err error) {
	lo, hi, ok := ActivationRangeFloat(act)
	if !ok {
		return 0, 0, n.Unsupportedf("fused activation %v", act)
	}
	return lo, hi, nil
}

// ewActRangeI8 checks a fused activation and returns the int8 clamp range.
func ewActRangeI8(n *Node, act int8Act, scale float32, zp int32) (lo, hi int32, err error) {
	if err := CheckActivation(n, act); err != nil {
		return 0, 0, err
	}
	lo, hi = ActivationRangeInt8(act, scale, zp)
	return lo, hi, nil
}

// ewUnary is the shared state of the elementwise unary kernels: a float32
// row function, or for int8 a 256-entry table computed at Prepare (every
// int8 unary op is a function of the input value alone, so the table
// reproduces TFLite's integer arithmetic exactly).
type ewUnary struct {
	in, out *Tensor
	f32     func(dst, src []float32)
	lut     [256]int8
	// Inputs below minValid make Eval fail (RSQRT/SQRT of negatives in
	// int8, as TFLite); checkMin enables the check.
	checkMin bool
	minValid int8
	badErr   error
	run      func(lo, hi int)
}

// prepareUnary checks one input and one output of the same type among
// float32 and int8 and sets the output shape.
func (k *ewUnary) prepareUnary(n *Node) error {
	if err := CheckInputs(n, 1, 1); err != nil {
		return err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return err
	}
	k.in, k.out = n.Inputs[0], n.Outputs[0]
	if k.in.Type != k.out.Type {
		return n.Errorf("input type %v and output type %v differ", k.in.Type, k.out.Type)
	}
	switch k.in.Type {
	case tflite.Float32:
		k.run = k.evalF32
	case tflite.Int8:
		k.run = k.evalI8
	default:
		return n.Unsupportedf("type %v (float32 or int8)", k.in.Type)
	}
	SetShape(k.out, k.in.Shape)
	return nil
}

// prepareLUT fills the int8 table from a function of the input value.
func (k *ewUnary) prepareLUT(f func(x int8) int8) {
	for v := -128; v <= 127; v++ {
		k.lut[uint8(int8(v))] = f(int8(v))
	}
}

// Eval implements Kernel for the unary ops.
func (k *ewUnary) Eval(ctx *Context, n *Node) error {
	if k.checkMin {
		for _, x := range k.in.I8() {
			if x < k.minValid {
				return k.badErr
			}
		}
	}
	ctx.Pool.Run(k.out.NumElements(), elementwiseGrain, k.run)
	return nil
}

func (k *ewUnary) evalF32(lo, hi int) { k.f32(k.out.F32()[lo:hi], k.in.F32()[lo:hi]) }

func (k *ewUnary) evalI8(lo, hi int) { ewLUT(k.out.I8()[lo:hi], k.in.I8()[lo:hi], &k.lut) }

// ewMapF32 applies f elementwise (float row functions of the unary ops).
func ewMapF32(dst, src []float32, f func(float32) float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = f(x)
	}
}

// ewPrepareLUTOp is Prepare for unary ops whose int8 form is TFLite's
// LUTPopulate of a float function: f32 is the float kernel; lutF is the
// float function the table is built from (in float32, as TFLite).
func (k *ewUnary) prepareLUTOp(n *Node, f32 func(dst, src []float32), lutF func(float32) float32) error {
	if err := k.prepareUnary(n); err != nil {
		return err
	}
	if k.in.Type == tflite.Float32 {
		k.f32 = f32
		return nil
	}
	is, izp, err := ewQuantParams(n, k.in)
	if err != nil {
		return err
	}
	os, ozp, err := ewQuantParams(n, k.out)
	if err != nil {
		return err
	}
	ewLUTPopulate(is, izp, os, ozp, lutF, &k.lut)
	return nil
}

// ewXNNActRangeI8 is the int8 clamp range XNNPACK derives from a fused
// activation: lrintf(clamp(bound/scale + zp, −128, 127)) in float32.
func ewXNNActRangeI8(n *Node, act int8Act, scale float32, zp int32) (lo, hi int32, err error) {
	flo, fhi, err := ewActRangeF32(n, act)
	if err != nil {
		return 0, 0, err
	}
	q := func(v float32) int32 {
		f := float32(v/scale) + float32(zp)
		return int32(math.RoundToEven(float64(min(max(f, -128), 127))))
	}
	return q(flo), q(fhi), nil
}

// ewLUTMinElems is the output size from which an int8 binary op whose
// element function is not a few integer operations (TFLite's fixed-point
// ADD/SUB, MUL and SQUARED_DIFFERENCE forms) is tabulated: 64 KiB and
// 65,536 evaluations in Prepare, then one load per element in Eval.
// Measured on the shipped int8 bundle (vision graph, 256×256, 1 thread):
// from 65,536 elements p50 39.5 ms, from 4,096 29.9 ms (the float bundle
// takes 31), for 70 ms more Prepare and 9 MiB more memory. A variable for
// the tests.
var ewLUTMinElems = 1 << 12

// ewI8Funcs returns the row function of an int8 binary op with element
// function f — a lookup table of f over every (x, y) pair when the output
// has at least ewLUTMinElems elements, else f called per element — and,
// with the table, its i8Rows form (rows×inner outputs of a contiguous a
// and one row b repeated, the per-channel operand of an NHWC tensor) in
// one call per task instead of one per row.
func ewI8Funcs(f func(x, y int8) int8, outElems int) (row func(dst, a, b []int8, ia, ib int), rows func(dst, a, b []int8, rows, inner int) bool) {
	if outElems < ewLUTMinElems {
		return ewRowFunc(f), nil
	}
	lut := new([1 << 16]int8)
	for x := range 256 {
		for y := range 256 {
			lut[x<<8|y] = f(int8(x), int8(y))
		}
	}
	return func(dst, a, b []int8, ia, ib int) { ewLUTRowI8(lut, dst, a, b, ia, ib) },
		func(dst, a, b []int8, rows, inner int) bool { ewLUTRowsI8(lut, dst, a, b, rows, inner); return true }
}

// ewLUTRowsI8 computes dst[r·inner + i] = lut[a[r·inner + i]<<8 | b[i]]
// for r < rows, i < inner.
func ewLUTRowsI8(lut *[1 << 16]int8, dst, a, b []int8, rows, inner int) {
	b = b[:inner]
	for r := range rows {
		ar, dr := a[r*inner:(r+1)*inner], dst[r*inner:(r+1)*inner]
		for i, y := range b {
			dr[i] = lut[int(uint8(ar[i]))<<8|int(uint8(y))]
		}
	}
}

// ewLUTRowI8 is a row of an int8 binary op from its table lut[x<<8|y]
// (x, y as uint8); a broadcast input selects one 256-entry row or column.
func ewLUTRowI8(lut *[1 << 16]int8, dst, a, b []int8, ia, ib int) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			dst[i] = lut[int(uint8(a[i]))<<8|int(uint8(b[i]))]
		}
	case ib == 1:
		row := (*[256]int8)(lut[int(uint8(a[0]))<<8:])
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = row[uint8(b[i])]
		}
	case ia == 1:
		y := int(uint8(b[0]))
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = lut[int(uint8(a[i]))<<8|y]
		}
	default:
		v := lut[int(uint8(a[0]))<<8|int(uint8(b[0]))]
		for i := range dst {
			dst[i] = v
		}
	}
}

// ewBinF32 is a float32 ADD (op 0), SUB (1), MUL (2) or DIV (3) row: the vector
// kernels where the machine has them (ewBinF32SIMD), the Go loop for the
// rest (and as the twin the tests compare with).
func ewBinF32(op int, dst, a, b []float32, ia, ib int, lo, hi float32) {
	m := ewBinF32SIMD(op, dst, a, b, ia, ib, lo, hi)
	if m < len(dst) {
		dst, a, b = ewRest(m, dst, a, b, ia, ib)
		ewBinF32Go(op, dst, a, b, ia, ib, lo, hi)
	}
}

// ewRest is a row of a binary op past its first m elements (an input
// with stride 0 stays as it is).
func ewRest[T any](m int, dst, a, b []T, ia, ib int) ([]T, []T, []T) {
	if ia == 1 {
		a = a[m:]
	}
	if ib == 1 {
		b = b[m:]
	}
	return dst[m:], a, b
}

// ewBinF32Go is ewBinF32 in Go.
func ewBinF32Go(op int, dst, a, b []float32, ia, ib int, lo, hi float32) {
	switch op {
	case 0:
		addRowF32(dst, a, b, ia, ib, lo, hi)
	case 1:
		subRowF32(dst, a, b, ia, ib, lo, hi)
	case 2:
		mulRowF32(dst, a, b, ia, ib, lo, hi)
	default:
		divRowF32(dst, a, b, ia, ib, lo, hi)
	}
}
