package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// SOFTMAX over the last axis with beta, for float32 and int8.
//
// float32: exp(beta·(x−max)) normalised, in float64, rounded once.
// int8 → int8 is TFLite's optimized kernel (optimized_ops::Softmax with
// PopulateSoftmaxLookupTable, the path x86 and WebAssembly builds use): a
// float table of expf(−in_scale·beta·d) for d = max−x, a float32 sum per
// row, probabilities table·1/(sum·out_scale) rounded half away from zero.
// As in TFLite the int8 output must have zero point −128 and scale 1/256
// (within 0.1%).

func init() {
	Register(schema.BuiltinOperatorSOFTMAX, func() Kernel { return &softmax{} })
}

type softmax struct {
	in, out  *Tensor
	beta     float64
	depth    int
	rows     int
	table    [256]float32
	outScale float32
	outZP    int32
	run      func(lo, hi int)
}

func (k *softmax) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 1, 1); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	o, err := Options[schema.SoftmaxOptionsT](n)
	if err != nil {
		return 0, err
	}
	k.in, k.out = n.Inputs[0], n.Outputs[0]
	if k.in.Type != k.out.Type {
		return 0, n.Unsupportedf("input type %v with output type %v", k.in.Type, k.out.Type)
	}
	if k.in.Rank() < 1 {
		return 0, n.Errorf("input %s has rank 0", k.in)
	}
	SetShape(k.out, k.in.Shape)
	k.depth = k.in.Dim(-1)
	if k.depth > 0 {
		k.rows = k.in.NumElements() / k.depth
	}
	k.beta = float64(o.Beta)
	switch k.in.Type {
	case tflite.Float32:
		k.run = k.evalF32
	case tflite.Int8:
		is, _, err := ewQuantParams(n, k.in)
		if err != nil {
			return 0, err
		}
		os, ozp, err := ewQuantParams(n, k.out)
		if err != nil {
			return 0, err
		}
		if ozp != -128 || math.Abs(float64(os)-1.0/256) > 0.001/256 {
			return 0, n.Unsupportedf("int8 output scale %g zero point %d (TFLite requires 1/256 and -128)", os, ozp)
		}
		k.outScale, k.outZP = os, ozp
		softmaxTableI8(is, o.Beta, &k.table)
		k.run = k.evalI8
	default:
		return 0, n.Unsupportedf("type %v (float32 or int8)", k.in.Type)
	}
	return 0, nil
}

// softmaxTableI8 is TFLite's PopulateSoftmaxLookupTable:
// table[255−d] = expf((−in_scale·beta)·d).
func softmaxTableI8(inScale, beta float32, table *[256]float32) {
	scale := -inScale * beta
	for d := range 256 {
		table[255-d] = float32(math.Exp(float64(float32(scale * float32(d)))))
	}
}

func (k *softmax) Eval(ctx *Context, n *Node) error {
	if k.rows == 0 {
		return nil
	}
	ctx.Pool.Run(k.rows, max(1, 4096/max(k.depth, 1)), k.run)
	return nil
}

func (k *softmax) evalF32(lo, hi int) {
	in, out := k.in.F32(), k.out.F32()
	for r := lo; r < hi; r++ {
		softmaxRowF32(out[r*k.depth:(r+1)*k.depth], in[r*k.depth:(r+1)*k.depth], k.beta)
	}
}

func softmaxRowF32(dst, src []float32, beta float64) {
	dst = dst[:len(src)]
	m, ok := softmaxMaxSIMD(src)
	rest := src[len(src)&^7:]
	if !ok {
		m, rest = src[0], src[1:]
	}
	for _, x := range rest {
		m = max(m, x)
	}
	b := float32(beta)
	if !(b > 0) || float64(b) != beta || math.IsInf(float64(b), 0) {
		softmaxRowF64(dst, src, m, beta)
		return
	}
	// e = exp((x − m)·β) in float32 (Cephes' expf, softmaxExpF32), lane
	// sums of the leading multiple of 8 combined in a fixed tree, then
	// the rest in order; every step is the same in the vector kernel and
	// in Go, so the result does not depend on the machine.
	n8 := len(src) &^ 7
	var sums [8]float32
	if softmaxExpSIMD(dst[:n8], src[:n8], m, b, &sums) == 0 {
		softmaxExpGo(dst[:n8], src[:n8], m, b, &sums)
	}
	s := ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]))
	for i := n8; i < len(src); i++ {
		e := softmaxExpF32(float32(float32(src[i]-m) * b))
		dst[i] = e
		s += e
	}
	inv := 1 / s
	for i := scaleSIMD(dst, inv); i < len(dst); i++ {
		dst[i] *= inv
	}
}

// softmaxExpGo is softmaxExpAVX2's loop (the vector part of a row):
// dst[i] = e_i, sums[i%8] += e_i.
func softmaxExpGo(dst, src []float32, m, b float32, sums *[8]float32) {
	for i, x := range src {
		e := softmaxExpF32(float32(float32(x-m) * b))
		dst[i] = e
		sums[i%8] += e
	}
}

// softmaxExpF32 is Cephes' expf (range reduction by ln 2 split in two,
// degree-5 polynomial, scaling by 2ⁿ) in float32 without FMA, for the
// softmax's x ≤ 0: 0 below −87.33654 (where float32 exp underflows; NaN
// is taken as that bound). Its error is within 2 ulp of exp.
func softmaxExpF32(x float32) float32 {
	const minX = -87.33654
	if x < minX {
		return 0
	}
	if !(x >= minX) { // NaN
		x = minX
	}
	fx := float32(math.Floor(float64(float32(x*1.44269504088896341) + 0.5)))
	r := x - float32(fx*0.693359375)
	r = r - float32(fx*-2.12194440e-4)
	z := float32(r * r)
	y := float32(float32(1.9875691500e-4)*r) + 1.3981999507e-3
	y = float32(y*r) + 8.3334519073e-3
	y = float32(y*r) + 4.1665795894e-2
	y = float32(y*r) + 1.6666665459e-1
	y = float32(y*r) + 5.0000001201e-1
	y = float32(float32(y*z)+r) + 1
	return float32(y * math.Float32frombits(uint32(int32(fx)+127)<<23))
}

// softmaxRowF64 is the softmax in float64 (exp per element rounded to
// float32 once), for a β the float32 path does not take.
func softmaxRowF64(dst, src []float32, m float32, beta float64) {
	sum := 0.0
	for i, x := range src {
		e := math.Exp(float64(x-m) * beta)
		sum += e
		dst[i] = float32(e)
	}
	inv := 1 / sum
	for i, e := range dst {
		dst[i] = float32(float64(e) * inv)
	}
}

func (k *softmax) evalI8(lo, hi int) {
	in, out := k.in.I8(), k.out.I8()
	for r := lo; r < hi; r++ {
		softmaxRowI8(out[r*k.depth:(r+1)*k.depth], in[r*k.depth:(r+1)*k.depth], &k.table, k.outScale, k.outZP)
	}
}

// softmaxRowI8 is one row of TFLite's optimized_ops::Softmax for int8.
func softmaxRowI8(dst, src []int8, table *[256]float32, outScale float32, zp int32) {
	dst = dst[:len(src)]
	m := int32(-128)
	for _, x := range src {
		m = max(m, int32(x))
	}
	// TFLite indexes table + 255 − max by the signed input: 255−(max−x).
	off := 255 - m
	var sum float32
	for _, x := range src {
		sum += table[uint8(off+int32(x))]
	}
	inv := float32(1) / float32(sum*outScale)
	for i, x := range src {
		p := float32(table[uint8(off+int32(x))] * inv)
		// math.Round(p) for 0 ≤ p < 2²⁹: p + ½ is exact in float64 and
		// the conversion truncates; larger p (an output scale below
		// 2⁻²⁹) saturates below anyway.
		q := int32(min(float64(p), 1<<29)+0.5) + zp
		dst[i] = int8(max(-128, min(127, q)))
	}
}
