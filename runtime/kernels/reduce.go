package kernels

import (
	"math"
	"math/bits"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// MEAN and SUM over constant int32/int64 axes (negative axes and repeats
// allowed) with keep_dims, for float32, int8 and int32.
//
// float32 sums each output's inputs in input order in float32, as TFLite's
// reference Reduce (MEAN then divides by the count).
//
// int8 follows by default XNNPACK's arithmetic (see ReduceInt8XNNPACK),
// what TFLite and LiteRT run on their default CPU path; with
// ReduceInt8XNNPACK false it follows what TFLite's builtin reduce.cc runs:
//   - MEAN over axes exactly {1,2} of a 4-D input with keep_dims (the
//     NHWC global average pool): optimized_integer_ops::Mean, which sums
//     the raw values and requantizes with the multiplier of
//     scale_in/(H·W·scale_out) (float32) plus the bias
//     zp_out − round(zp_in·scale_in/scale_out);
//   - other MEANs: reference_ops::QuantizedMeanOrSum, which requantizes
//     sum − zp_in·count with the multiplier of scale_in/scale_out folded
//     with 1/count in fixed point;
//   - SUM: optimized_ops::QuantizedMeanOrSum (TFLite's default kernel),
//     round(sum·s + b) + zp_out in float32 with s = scale_in/scale_out and
//     b = −zp_in·s·count, saturated to int8 (TFLite wraps instead).
//
// int32 MEAN divides an int64 sum by the count (truncating); int32 SUM wraps.

func init() {
	Register(schema.BuiltinOperatorMEAN, func() Kernel { return &reduce{op: schema.BuiltinOperatorMEAN} })
	Register(schema.BuiltinOperatorSUM, func() Kernel { return &reduce{op: schema.BuiltinOperatorSUM} })
}

type reduce struct {
	op schema.BuiltinOperator
	dt tflite.DType
	// Normalized problem: merged axes, each reduced or kept, with input
	// strides and output strides (0 for reduced axes).
	dims       []int
	red        []bool
	istr, ostr []int
	par        int  // kept axis split among threads, or -1
	rows       bool // [rows, inner] reduced over rows: the column-sum kernels
	outN       int
	count      int // inputs per output

	// int8 requantization.
	hw          bool // TFLite's 4-D H,W mean
	mult        int32
	shift       int
	bias        int32 // hw: added after scaling
	inZ, outZ   int32
	sumScale    float32
	sumBias     float32
	accBytes    int
	src, dst    []byte
	acc         []byte
	run, finish func(lo, hi int)
}

func (k *reduce) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 2); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	in, out := n.Inputs[0], n.Outputs[0]
	k.dt = in.Type
	switch in.Type {
	case tflite.Float32, tflite.Int8, tflite.Int32:
	default:
		return 0, n.Unsupportedf("input type %v (float32, int8, int32)", in.Type)
	}
	if out.Type != in.Type {
		return 0, n.Errorf("output type %v differs from input type %v", out.Type, in.Type)
	}
	o, err := Options[schema.ReducerOptionsT](n)
	if err != nil {
		return 0, err
	}
	rawAxes, err := layoutConstInts(n, n.Inputs[1], "axis")
	if err != nil {
		return 0, err
	}
	rank := in.Rank()
	if rank > layoutMaxRank {
		return 0, n.Unsupportedf("rank %d (at most %d)", rank, layoutMaxRank)
	}
	reduced := make([]bool, rank)
	for _, a := range rawAxes {
		if a < -rank || a >= rank {
			return 0, n.Errorf("axis %d is out of range for rank %d", a, rank)
		}
		if a < 0 {
			a += rank
		}
		reduced[a] = true
	}
	var oshape []int
	for i, d := range in.Shape {
		switch {
		case !reduced[i]:
			oshape = append(oshape, d)
		case o.KeepDims:
			oshape = append(oshape, 1)
		}
	}
	if oshape == nil {
		oshape = []int{}
	}
	SetShape(out, oshape)
	k.outN = layoutProd(oshape)
	k.count = 1
	for i, d := range in.Shape {
		if reduced[i] {
			k.count *= d
		}
	}
	k.normalize(in.Shape, reduced)

	// Every axis but the innermost reduced (an NHWC mean over H, W): sums
	// of columns, all rows in one call.
	r := len(k.dims)
	k.rows = r == 2 && k.red[0] && !k.red[1]

	// Thread split: the largest kept axis.
	k.par = -1
	for i, d := range k.dims {
		if !k.red[i] && (k.par < 0 || d > k.dims[k.par]) {
			k.par = i
		}
	}

	k.accBytes = 0
	switch in.Type {
	case tflite.Float32:
		k.run = k.accF32
		if k.op == schema.BuiltinOperatorMEAN {
			k.finish = k.meanF32
		} else {
			k.finish = nil
		}
	case tflite.Int32:
		if k.op == schema.BuiltinOperatorMEAN {
			k.accBytes = 8 * k.outN
			k.run, k.finish = k.accI32L, k.meanI32
		} else {
			k.run, k.finish = k.accI32, nil
		}
	case tflite.Int8:
		if !in.Quantized() || !out.Quantized() || len(in.Scale) != 1 || len(out.Scale) != 1 {
			return 0, n.Unsupportedf("int8 %s needs per-tensor quantization of input and output", k.opName())
		}
		k.accBytes = 4 * k.outN
		k.run = k.accI8
		if err := k.prepareInt8(n, in, out, rawAxes, o.KeepDims); err != nil {
			return 0, err
		}
	}
	return k.accBytes, nil
}

func (k *reduce) opName() string { return tflite.OpName(k.op) }

// normalize drops unit axes and merges neighbours that are both reduced or
// both kept; at least one axis remains.
func (k *reduce) normalize(shape []int, reduced []bool) {
	k.dims, k.red = k.dims[:0], k.red[:0]
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if l := len(k.dims) - 1; l >= 0 && k.red[l] == reduced[i] {
			k.dims[l] *= d
			continue
		}
		k.dims = append(k.dims, d)
		k.red = append(k.red, reduced[i])
	}
	if len(k.dims) == 0 {
		k.dims, k.red = append(k.dims, 1), append(k.red, false)
	}
	k.istr = layoutStrides(k.dims)
	k.ostr = make([]int, len(k.dims))
	acc := 1
	for i := len(k.dims) - 1; i >= 0; i-- {
		if !k.red[i] {
			k.ostr[i] = acc
			acc *= k.dims[i]
		}
	}
}

func (k *reduce) prepareInt8(n *Node, in, out *Tensor, rawAxes []int, keepDims bool) error {
	inS, outS := in.Scale[0], out.Scale[0]
	k.inZ, k.outZ = in.ZeroPoint[0], out.ZeroPoint[0]
	if !(inS > 0) || !(outS > 0) {
		return n.Errorf("scales %g and %g must be positive", inS, outS)
	}
	if ReduceInt8XNNPACK {
		k.sumScale, k.sumBias = reduceXNNParams(k.op == schema.BuiltinOperatorMEAN, k.count, inS, outS, k.inZ, k.outZ)
		k.finish = k.xnnI8
		return nil
	}
	if k.op == schema.BuiltinOperatorSUM {
		k.sumScale = inS / outS
		k.sumBias = float32(float32(float32(-k.inZ)*k.sumScale) * float32(k.count))
		k.finish = k.sumI8
		return nil
	}
	k.hw = keepDims && in.Rank() == 4 && len(rawAxes) == 2 &&
		((rawAxes[0] == 1 && rawAxes[1] == 2) || (rawAxes[0] == 2 && rawAxes[1] == 1))
	if k.hw {
		// optimized_integer_ops::Mean.
		num := float32(in.Shape[1] * in.Shape[2])
		temp := float32(float32(float32(k.inZ)*inS) / outS)
		if temp > 0 {
			temp += 0.5
		} else {
			temp -= 0.5
		}
		k.bias = k.outZ - int32(temp)
		realScale := inS / float32(num*outS)
		k.mult, k.shift = QuantizeMultiplier(float64(realScale))
		k.finish = k.meanHWI8
		return nil
	}
	// reference_ops::QuantizedMeanOrSum (integer).
	mult, shift := QuantizeMultiplier(float64(inS) / float64(outS))
	if c := int64(k.count); c > 0 {
		s := 63 - bits.LeadingZeros64(uint64(c))
		s = min(s, 32, 31+shift)
		mult = int32((int64(mult) << s) / c)
		shift -= s
	}
	k.mult, k.shift = mult, shift
	k.finish = k.meanI8
	return nil
}

func (k *reduce) Eval(ctx *Context, n *Node) error {
	k.src, k.dst = n.Inputs[0].Data, n.Outputs[0].Data
	k.acc = k.dst
	if k.accBytes > 0 {
		k.acc = n.Scratch[:k.accBytes]
	}
	clear(k.acc)
	total := len(k.src) / k.dt.Size()
	if k.par < 0 {
		k.run(0, 1)
	} else {
		per := max(1, total/k.dims[k.par]) // inputs per index of the split axis
		ctx.Pool.Run(k.dims[k.par], max(1, 16384/per), k.run)
	}
	if k.finish != nil {
		ctx.Pool.Run(k.outN, 16384, k.finish)
	}
	k.src, k.dst, k.acc = nil, nil, nil
	return nil
}

func (k *reduce) accF32(lo, hi int) {
	if k.rows {
		reduceRows(view[float32](k.acc)[lo:hi], view[float32](k.src)[lo:], k.dims[0], k.dims[1], reduceRowsF32SIMD)
		return
	}
	reduceAccum(k, view[float32](k.src), view[float32](k.acc), lo, hi, reduceAddRowF32)
}
func (k *reduce) accI8(lo, hi int) {
	if k.rows {
		reduceRows(view[int32](k.acc)[lo:hi], view[int8](k.src)[lo:], k.dims[0], k.dims[1], reduceRowsI8SIMD)
		return
	}
	reduceAccum(k, view[int8](k.src), view[int32](k.acc), lo, hi, reduceAddRowI8)
}

// reduceRows adds column j of rows×len(acc) inputs src[r*stride+j] to
// acc[j], each column in row order (the order of reduceAccum, so float32
// gives the same bits): the vector kernel simd does a leading multiple of
// 8 of the columns, this loop the rest.
func reduceRows[In int8 | float32, Acc int32 | float32](acc []Acc, src []In, rows, stride int, simd func(acc []Acc, src []In, n, rows, stride int) int) {
	n := len(acc)
	m := simd(acc, src, n, rows, stride)
	for r := range rows {
		row := src[r*stride+m : r*stride+n]
		a := acc[m:n]
		for j, x := range row {
			a[j] += Acc(x)
		}
	}
}
func (k *reduce) accI32(lo, hi int) {
	reduceAccum(k, view[int32](k.src), view[int32](k.acc), lo, hi, nil)
}
func (k *reduce) accI32L(lo, hi int) {
	reduceAccum(k, view[int32](k.src), view[int64](k.acc), lo, hi, nil)
}

// reduceAddRowF32 is acc[j] += in[j] (the ADD row kernels, unclamped).
func reduceAddRowF32(acc, in []float32) {
	inf := float32(math.Inf(1))
	ewBinF32(0, acc, acc, in, 1, 1, -inf, inf)
}

// reduceAddRowI8 is acc[j] += int32(in[j]), vector kernel where present.
func reduceAddRowI8(acc []int32, in []int8) {
	acc = acc[:len(in)]
	m := reduceAddRowI8SIMD(acc, in)
	for j, x := range in[m:] {
		acc[m+j] += int32(x)
	}
}

// reduceAccum adds the inputs whose split-axis index is in [lo,hi) (all
// inputs when k.par < 0) into acc, visiting them in input order, so each
// output's sum is formed in the same order as TFLite's reference Reduce.
//
// add, if not nil, is the row kernel acc[j] += in[j] of the non-reduced
// inner axis (elementwise, so the order per output is the same).
func reduceAccum[In int8 | int32 | float32, Acc int32 | int64 | float32](k *reduce, src []In, acc []Acc, lo, hi int, add func(acc []Acc, in []In)) {
	r := len(k.dims)
	var idx [layoutMaxRank]int
	ioff, ooff := 0, 0
	if k.par >= 0 && k.par < r-1 {
		idx[k.par] = lo
		ioff, ooff = lo*k.istr[k.par], lo*k.ostr[k.par]
	}
	j0, j1 := 0, k.dims[r-1]
	if k.par == r-1 {
		j0, j1 = lo, hi
	}
	innerRed := k.red[r-1]
	for {
		if innerRed {
			s := acc[ooff]
			for _, x := range src[ioff+j0 : ioff+j1] {
				s += Acc(x)
			}
			acc[ooff] = s
		} else if add != nil {
			add(acc[ooff+j0:ooff+j1], src[ioff+j0:ioff+j1])
		} else {
			in := src[ioff+j0 : ioff+j1]
			a := acc[ooff+j0 : ooff+j0+len(in)]
			for j, x := range in {
				a[j] += Acc(x)
			}
		}
		// Next run: odometer over the outer axes, offsets kept in step.
		i := r - 2
		for ; i >= 0; i-- {
			idx[i]++
			ioff += k.istr[i]
			ooff += k.ostr[i]
			start, end := 0, k.dims[i]
			if i == k.par {
				start, end = lo, hi
			}
			if idx[i] < end {
				break
			}
			ioff -= (idx[i] - start) * k.istr[i]
			ooff -= (idx[i] - start) * k.ostr[i]
			idx[i] = start
		}
		if i < 0 {
			return
		}
	}
}

func (k *reduce) meanF32(lo, hi int) {
	o := view[float32](k.dst)[lo:hi]
	c := float32(k.count)
	for i := range o {
		o[i] /= c
	}
}

func (k *reduce) meanI32(lo, hi int) {
	a, o := view[int64](k.acc), view[int32](k.dst)
	c := int64(k.count)
	for i := lo; i < hi; i++ {
		if c > 0 {
			o[i] = int32(a[i] / c)
		}
	}
}

func (k *reduce) meanHWI8(lo, hi int) {
	a, o := view[int32](k.acc), view[int8](k.dst)
	for i := lo; i < hi; i++ {
		v := MultiplyByQuantizedMultiplier(a[i], k.mult, k.shift) + k.bias
		o[i] = ClampInt8(v, math.MinInt8, math.MaxInt8)
	}
}

func (k *reduce) meanI8(lo, hi int) {
	a, o := view[int32](k.acc), view[int8](k.dst)
	zc := int32(int64(k.inZ) * int64(k.count))
	for i := lo; i < hi; i++ {
		v := MultiplyByQuantizedMultiplier(a[i]-zc, k.mult, k.shift) + k.outZ
		o[i] = ClampInt8(v, math.MinInt8, math.MaxInt8)
	}
}

// ReduceInt8XNNPACK selects XNNPACK's int8 MEAN/SUM arithmetic, which
// TFLite and LiteRT run whenever the XNNPACK delegate is applied (their
// default CPU path), instead of TFLite's builtin kernels described above.
// It agrees with LiteRT on every output we compared; TFLite's builtin
// arithmetic is one unit off on several percent of them. It is read when a
// model is loaded.
var ReduceInt8XNNPACK = true

// reduceXNNParams returns XNNPACK's int32→int8 conversion of a sum of raw
// int8 values: out = roundHalfEven(sum·scale + zp), scale =
// scale_in/scale_out (·1/count for MEAN) and zp = zp_out −
// count·zp_in·scale, all in float32.
func reduceXNNParams(mean bool, count int, inS, outS float32, inZ, outZ int32) (scale, zp float32) {
	scale = inS / outS
	if mean {
		scale = float32(scale * float32(1/float32(count)))
	}
	zp = float32(outZ) - float32(float32(int32(count)*inZ)*scale)
	return scale, zp
}

func (k *reduce) xnnI8(lo, hi int) {
	a, o := view[int32](k.acc), view[int8](k.dst)
	for i := lo; i < hi; i++ {
		f := float32(float32(a[i])*k.sumScale) + k.sumBias
		f = max(min(f, math.MaxInt8), math.MinInt8)
		o[i] = int8(math.RoundToEven(float64(f)))
	}
}

func (k *reduce) sumI8(lo, hi int) {
	a, o := view[int32](k.acc), view[int8](k.dst)
	for i := lo; i < hi; i++ {
		r := float32(float32(a[i])*k.sumScale) + k.sumBias
		v := int32(math.Round(float64(r))) + k.outZ
		o[i] = ClampInt8(v, math.MinInt8, math.MaxInt8)
	}
}

// reduceRefSumF32 is the reference float sum (TFLite's reference Reduce:
// every input added to its output in input order); MEAN divides by count.
func reduceRefSumF32(in []float32, shape []int, axes []int, mean bool) []float32 {
	red, oshape, count := reduceRefShape(shape, axes)
	out := make([]float32, layoutProd(oshape))
	reduceRefVisit(shape, red, func(i, o int) { out[o] += in[i] })
	if mean {
		for i := range out {
			out[i] /= float32(count)
		}
	}
	return out
}

// reduceRefI8 is the reference int8 MEAN/SUM following the TFLite paths
// described at the top of this file, written from the formulas.
func reduceRefI8(in []int8, shape []int, rawAxes []int, keepDims, mean bool, inS float32, inZ int32, outS float32, outZ int32) []int8 {
	red, oshape, count := reduceRefShape(shape, rawAxes)
	sums := make([]int32, layoutProd(oshape))
	reduceRefVisit(shape, red, func(i, o int) { sums[o] += int32(in[i]) })
	out := make([]int8, len(sums))
	clamp := func(v int32) int8 { return int8(max(-128, min(127, v))) }
	hw := len(shape) == 4 && keepDims && len(rawAxes) == 2 &&
		((rawAxes[0] == 1 && rawAxes[1] == 2) || (rawAxes[0] == 2 && rawAxes[1] == 1))
	for o, s := range sums {
		switch {
		case !mean:
			scale := inS / outS
			bias := float32(float32(float32(-inZ)*scale) * float32(count))
			out[o] = clamp(int32(math.Round(float64(float32(float32(s)*scale)+bias))) + outZ)
		case hw:
			t := float32(float32(float32(inZ)*inS) / outS)
			if t > 0 {
				t += 0.5
			} else {
				t -= 0.5
			}
			bias := outZ - int32(t)
			m, sh := QuantizeMultiplier(float64(inS / (float32(count) * outS)))
			out[o] = clamp(MultiplyByQuantizedMultiplier(s, m, sh) + bias)
		default:
			m, sh := QuantizeMultiplier(float64(inS) / float64(outS))
			ls := min(63-bits.LeadingZeros64(uint64(count)), 32, 31+sh)
			m = int32((int64(m) << ls) / int64(count))
			sh -= ls
			out[o] = clamp(MultiplyByQuantizedMultiplier(s-inZ*int32(count), m, sh) + outZ)
		}
	}
	return out
}

// reduceRefI8XNN is the reference int8 MEAN/SUM with XNNPACK's arithmetic.
func reduceRefI8XNN(in []int8, shape []int, axes []int, mean bool, inS float32, inZ int32, outS float32, outZ int32) []int8 {
	red, oshape, count := reduceRefShape(shape, axes)
	sums := make([]int32, layoutProd(oshape))
	reduceRefVisit(shape, red, func(i, o int) { sums[o] += int32(in[i]) })
	scale, zp := reduceXNNParams(mean, count, inS, outS, inZ, outZ)
	out := make([]int8, len(sums))
	for o, s := range sums {
		v := math.RoundToEven(float64(float32(float32(s)*scale) + zp))
		out[o] = int8(max(-128, min(127, v)))
	}
	return out
}

func reduceRefShape(shape, axes []int) (red []bool, oshape []int, count int) {
	red = make([]bool, len(shape))
	for _, a := range axes {
		if a < 0 {
			a += len(shape)
		}
		red[a] = true
	}
	count = 1
	for i, d := range shape {
		if red[i] {
			count *= d
		} else {
			oshape = append(oshape, d)
		}
	}
	return red, oshape, count
}

// reduceRefVisit calls f(inputIndex, outputIndex) for every input in order.
func reduceRefVisit(shape []int, red []bool, f func(i, o int)) {
	r := len(shape)
	idx := make([]int, r)
	for i := range layoutProd(shape) {
		o := 0
		for a := range r {
			if !red[a] {
				o = o*shape[a] + idx[a]
			}
		}
		f(i, o)
		for a := r - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < shape[a] {
				break
			}
			idx[a] = 0
		}
	}
}
