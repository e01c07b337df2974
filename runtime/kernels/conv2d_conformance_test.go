package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Shared helpers of the CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and
// BATCH_MATMUL conformance tests (prefix gemmc).

func gemmcQ(scale []float32, zp []int64, dim int) *tflite.Quantization {
	return &tflite.Quantization{Scale: scale, ZeroPoint: zp, Dim: dim}
}

func gemmcFloats(rng *rand.Rand, n int, lo, hi float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return out
}

// gemmcInQuant draws activation quantization and matching float data.
func gemmcInQuant(rng *rand.Rand, n int) (data []float32, scale float32, zp int64) {
	scale = float32(0.005 + 0.03*rng.Float64())
	zp = int64(rng.IntN(200) - 100)
	lo, hi := float64(scale)*float64(-128-zp), float64(scale)*float64(127-zp)
	return gemmcFloats(rng, n, lo, hi), scale, zp
}

// gemmcQuantW quantizes weights symmetrically, per channel along dim or per
// tensor, with scale max|w|/127.
func gemmcQuantW(w []float32, shape []int, dim int, perChannel bool) ([]int8, []float32, []int64) {
	inner := 1
	for _, d := range shape[dim+1:] {
		inner *= d
	}
	nc := shape[dim]
	m := make([]float64, nc)
	for i, v := range w {
		c := (i / inner) % nc
		m[c] = max(m[c], math.Abs(float64(v)))
	}
	if !perChannel {
		all := 0.0
		for _, v := range m {
			all = max(all, v)
		}
		m = []float64{all}
	}
	scales := make([]float32, len(m))
	for c := range scales {
		scales[c] = float32(max(m[c], 1e-3) / 127)
	}
	q := make([]int8, len(w))
	for i, v := range w {
		c := 0
		if perChannel {
			c = (i / inner) % nc
		}
		q[i] = int8(max(-127, min(127, math.Round(float64(v/scales[c])))))
	}
	return q, scales, make([]int64, len(scales))
}

// gemmcBias quantizes a float bias with scale inScale·wScale[c].
func gemmcBias(b []float32, inScale float32, wScales []float32) ([]int32, *tflite.Quantization) {
	q := make([]int32, len(b))
	sc := make([]float32, len(b))
	for c, v := range b {
		ws := wScales[0]
		if len(wScales) > 1 {
			ws = wScales[c]
		}
		sc[c] = inScale * ws
		q[c] = int32(math.Round(float64(v / sc[c])))
	}
	if len(wScales) == 1 {
		return q, gemmcQ(sc[:1], []int64{0}, 0)
	}
	return q, gemmcQ(sc, make([]int64, len(b)), 0)
}

// gemmcOutQuant picks output quantization covering the float output range
// of m (run through our interpreter on the float inputs).
func gemmcOutQuant(t *testing.T, m *tflite.Model, inputs [][]float32) (float32, int64) {
	t.Helper()
	it, err := interp.New(m, interp.Options{Threads: 1})
	if err != nil {
		t.Fatalf("float model for ranges: %v", err)
	}
	defer it.Close()
	for i, in := range inputs {
		if err := it.SetInput(i, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	lo, hi := 0.0, 0.0
	for _, v := range it.OutputTensor(0).F32() {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	if hi-lo < 1e-3 {
		hi = lo + 1e-3
	}
	scale := float32((hi - lo) / 255)
	zp := int64(math.Round(-128 - lo/float64(scale)))
	return scale, max(-128, min(127, zp))
}

func gemmcAct(rng *rand.Rand) schema.ActivationFunctionType {
	return []schema.ActivationFunctionType{
		schema.ActivationFunctionTypeNONE, schema.ActivationFunctionTypeNONE,
		schema.ActivationFunctionTypeRELU, schema.ActivationFunctionTypeRELU6,
		schema.ActivationFunctionTypeRELU_N1_TO_1,
	}[rng.IntN(5)]
}

func gemmcPad(rng *rand.Rand) schema.Padding {
	if rng.IntN(2) == 0 {
		return schema.PaddingVALID
	}
	return schema.PaddingSAME
}

// gemmcOutSize is TFLite's ComputeOutSize.
func gemmcOutSize(pad schema.Padding, in, k, s, d int) int {
	if pad == schema.PaddingSAME {
		return (in + s - 1) / s
	}
	return (in + s - ((k-1)*d + 1)) / s
}

func gemmcNum(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// convcGeom is one random convolution for the conformance tests.
type convcGeom struct {
	batch, h, w, c, oc, kh, kw, sh, sw, dh, dw, oh, ow int
	pad                                                schema.Padding
	act                                                schema.ActivationFunctionType
}

func convcRandom(rng *rand.Rand, depthwise bool) convcGeom {
	for {
		g := convcGeom{batch: 1 + rng.IntN(2), h: 3 + rng.IntN(12), w: 3 + rng.IntN(12), c: 1 + rng.IntN(16), oc: 1 + rng.IntN(16)}
		g.kh, g.kw = 1+rng.IntN(5), 1+rng.IntN(5)
		switch rng.IntN(5) {
		case 0:
			g.kh, g.kw = 1, 1
		case 1:
			g.kh, g.kw = 1, 2+rng.IntN(20)
			g.w = 8 + rng.IntN(24)
		case 2:
			g.kh, g.kw = 2+rng.IntN(20), 1
			g.h = 8 + rng.IntN(24)
		}
		g.sh, g.sw, g.dh, g.dw = 1, 1, 1, 1
		if rng.IntN(3) == 0 {
			g.sh, g.sw = 1+rng.IntN(3), 1+rng.IntN(3)
		}
		if rng.IntN(4) == 0 {
			g.dh, g.dw = 1+rng.IntN(2), 1+rng.IntN(2)
		}
		if depthwise {
			g.oc = g.c
			if rng.IntN(3) == 0 {
				g.oc = g.c * (2 + rng.IntN(2))
			}
		}
		g.pad, g.act = gemmcPad(rng), gemmcAct(rng)
		g.oh = gemmcOutSize(g.pad, g.h, g.kh, g.sh, g.dh)
		g.ow = gemmcOutSize(g.pad, g.w, g.kw, g.sw, g.dw)
		if g.oh > 0 && g.ow > 0 && g.batch*g.h*g.w*g.c <= 20000 && g.batch*g.oh*g.ow*g.oc <= 20000 {
			return g
		}
	}
}

func (g convcGeom) String() string {
	return fmt.Sprintf("%dx%dx%dx%d_k%dx%d_o%d_s%d%d_d%d%d_%v_%v", g.batch, g.h, g.w, g.c, g.kh, g.kw, g.oc, g.sh, g.sw, g.dh, g.dw, g.pad, g.act)
}

// convcCases builds float32 and int8 cases of CONV_2D or DEPTHWISE_CONV_2D.
func convcCases(t *testing.T, rng *rand.Rand, depthwise bool, n int) (fl, q []conformance.Case) {
	op := schema.BuiltinOperatorCONV_2D
	name := "conv"
	if depthwise {
		op = schema.BuiltinOperatorDEPTHWISE_CONV_2D
		name = "dw"
	}
	for i := range n {
		g := convcRandom(rng, depthwise)
		inShape := []int{g.batch, g.h, g.w, g.c}
		wShape := []int{g.oc, g.kh, g.kw, g.c}
		qdim := 0
		var opts any = &schema.Conv2DOptionsT{Padding: g.pad, StrideH: int32(g.sh), StrideW: int32(g.sw), DilationHFactor: int32(g.dh), DilationWFactor: int32(g.dw), FusedActivationFunction: g.act}
		if depthwise {
			wShape = []int{1, g.kh, g.kw, g.oc}
			qdim = 3
			opts = &schema.DepthwiseConv2DOptionsT{Padding: g.pad, StrideH: int32(g.sh), StrideW: int32(g.sw), DilationHFactor: int32(g.dh), DilationWFactor: int32(g.dw), DepthMultiplier: int32(g.oc / g.c), FusedActivationFunction: g.act}
		}
		outShape := []int{g.batch, g.oh, g.ow, g.oc}
		taps := g.kh * g.kw
		if !depthwise {
			taps *= g.c
		}
		wAmp := 1 / math.Sqrt(float64(taps))
		wf := gemmcFloats(rng, gemmcNum(wShape), -wAmp, wAmp)
		// LiteRT.js returns garbage for a CONV_2D without bias (omitted as
		// -1 or absent) and for a DEPTHWISE_CONV_2D whose bias is -1, so
		// bias-less cases here are depthwise with two inputs only; the
		// reference tests cover the rest.
		var bf []float32
		if !depthwise || rng.IntN(4) > 0 {
			bf = gemmcFloats(rng, g.oc, -0.5, 0.5)
		}
		cname := fmt.Sprintf("%s%d_%v", name, i, g)

		// float32
		in := gemmcFloats(rng, gemmcNum(inShape), -2, 2)
		b := tflite.NewBuilder("main")
		x := b.Input("x", tflite.Float32, inShape, nil)
		w := b.Const("w", tflite.Float32, wShape, wf, nil)
		bias := -1
		if bf != nil {
			bias = b.Const("b", tflite.Float32, []int{g.oc}, bf, nil)
		}
		y := b.Tensor("y", tflite.Float32, outShape, nil)
		b.Op(op, opts, gemmcOpInputs(x, w, bias), y)
		b.Output(y)
		fl = append(fl, conformance.Case{Name: cname, Model: b.Model(), Inputs: []conformance.Input{{Shape: inShape, F32: in}}})

		// int8
		inQ, inScale, inZP := gemmcInQuant(rng, gemmcNum(inShape))
		perChannel := rng.IntN(4) > 0
		wq, wScales, wZPs := gemmcQuantW(wf, wShape, qdim, perChannel)
		// Output range from the float graph on the same data.
		fb := tflite.NewBuilder("main")
		fx := fb.Input("x", tflite.Float32, inShape, nil)
		fw := fb.Const("w", tflite.Float32, wShape, wf, nil)
		fbias := -1
		if bf != nil {
			fbias = fb.Const("b", tflite.Float32, []int{g.oc}, bf, nil)
		}
		fy := fb.Tensor("y", tflite.Float32, outShape, nil)
		fb.Op(op, opts, gemmcOpInputs(fx, fw, fbias), fy)
		fb.Output(fy)
		outScale, outZP := gemmcOutQuant(t, fb.Model(), [][]float32{inQ})

		qb := tflite.NewBuilder("main")
		qx := conformance.QuantizeInput(qb, "x", inShape, inScale, inZP)
		qw := qb.Const("w", tflite.Int8, wShape, wq, gemmcQ(wScales, wZPs, qdim))
		qbias := -1
		if bf != nil {
			bq, bQuant := gemmcBias(bf, inScale, wScales)
			qbias = qb.Const("b", tflite.Int32, []int{g.oc}, bq, bQuant)
		}
		qy := qb.Tensor("yq", tflite.Int8, outShape, gemmcQ([]float32{outScale}, []int64{outZP}, 0))
		qb.Op(op, opts, gemmcOpInputs(qx, qw, qbias), qy)
		conformance.DequantizeOutput(qb, qy, "y")
		qname := cname + "_per-tensor"
		if perChannel {
			qname = cname + "_per-channel"
		}
		if bf == nil {
			qname += "_nobias"
		}
		q = append(q, conformance.Case{Name: qname, Model: qb.Model(), Inputs: []conformance.Input{{Shape: inShape, F32: inQ}}, QuantScale: outScale})
	}
	return fl, q
}

// gemmcOpInputs lists input, weights and bias, leaving out a missing bias.
func gemmcOpInputs(x, w, bias int) []int {
	if bias < 0 {
		return []int{x, w}
	}
	return []int{x, w, bias}
}

func TestConformanceConv2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	fl, q := convcCases(t, rng, false, 24)
	conformance.Run(t, "CONV_2D/float32", fl)
	conformanceExact(t, "CONV_2D/int8", conformance.Run(t, "CONV_2D/int8", q))
}
