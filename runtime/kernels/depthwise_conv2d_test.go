package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/tflite/schema"
)

func dwTOpts(c convTCase) *schema.DepthwiseConv2DOptionsT {
	g := c.g
	return &schema.DepthwiseConv2DOptionsT{Padding: c.pad, StrideH: int32(g.sh), StrideW: int32(g.sw), DilationHFactor: int32(g.dh), DilationWFactor: int32(g.dw), DepthMultiplier: int32(g.depthMul), FusedActivationFunction: c.act}
}

func TestDepthwiseFloatMatchesReference(t *testing.T) {
	gemmTEachLevel(t, func(t *testing.T, _ int) { testDepthwiseFloatMatchesReference(t) })
}

func testDepthwiseFloatMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for i := range 200 {
		c := convTRandom(rng, true)
		g := &c.g
		if i == 0 { // a large band split: more output rows than one band
			g.inH, g.inW, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw = 40, 13, 3, 3, 1, 1, 1, 1
			c.pad = schema.PaddingSAME
			g.outH, g.outW = 40, 13
			g.padT, g.padL = 1, 1
		}
		in := gemmTRandF32(rng, g.batch*g.inH*g.inW*g.inC, 1)
		w := gemmTRandF32(rng, g.kh*g.kw*g.outC, 1)
		var bias []float32
		if rng.IntN(3) > 0 {
			bias = gemmTRandF32(rng, g.outC, 1)
		}
		lo, hi, _ := ActivationRangeFloat(c.act)
		want := make([]float32, g.batch*g.outH*g.outW*g.outC)
		depthwiseRefF32(g, in, w, bias, lo, hi, want)
		konst := rng.IntN(4) > 0
		ins := []*Tensor{
			gemmTTensor([]int{g.batch, g.inH, g.inW, g.inC}, in, false),
			gemmTTensor([]int{1, g.kh, g.kw, g.outC}, w, konst),
			nil,
		}
		if bias != nil {
			ins[2] = gemmTTensor([]int{g.outC}, bias, konst)
		}
		outT := gemmTTensor([]int{g.batch, g.outH, g.outW, g.outC}, []float32{}, false)
		var first []float32
		for _, th := range []int{1, 3} {
			out, err := gemmTRun(t, schema.BuiltinOperatorDEPTHWISE_CONV_2D, dwTOpts(c), ins, outT, th)
			if err != nil {
				t.Fatalf("case %d %v: %v", i, c, err)
			}
			got := out.F32()
			gemmTCloseF32(t, fmt.Sprintf("case %d %v threads %d", i, c, th), got, want, 1e-5)
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

func TestDepthwiseInt8MatchesReference(t *testing.T) {
	gemmTEachLevel(t, func(t *testing.T, _ int) { testDepthwiseInt8MatchesReference(t) })
}

func testDepthwiseInt8MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for i := range 200 {
		c := convTRandom(rng, true)
		g := &c.g
		inZP := int32(rng.IntN(256) - 128)
		inScale := float32(0.01 + rng.Float64()*0.05)
		in := gemmTRandI8(rng, g.batch*g.inH*g.inW*g.inC, -128, 127)
		wf := gemmTRandF32(rng, g.kh*g.kw*g.outC, 1)
		perChannel := rng.IntN(3) > 0
		w, wScale := gemmTQuantizeWeights(wf, []int{1, g.kh, g.kw, g.outC}, 3, perChannel)
		var bias []int32
		if rng.IntN(3) > 0 {
			bias = gemmTRandI32(rng, g.outC, 3000)
		}
		outScale := float32(float64(inScale) * (0.2 + rng.Float64()) * float64(g.kh*g.kw) / 20)
		outZP := int32(rng.IntN(256) - 128)
		scale := make([]float32, g.outC)
		mult, shift := make([]int32, g.outC), make([]int, g.outC)
		for oc := range g.outC {
			ws := wScale[0]
			if perChannel {
				ws = wScale[oc]
			}
			scale[oc] = RequantScaleFP32(inScale, ws, outScale)
			mult[oc], shift[oc] = QuantizeMultiplier(float64(inScale) * float64(ws) / float64(outScale))
		}
		lo, hi := ActivationRangeInt8(c.act, outScale, outZP)
		want := make([]int8, g.batch*g.outH*g.outW*g.outC)
		depthwiseRefI8(g, in, inZP, w, bias, refScale(scale, bias), mult, shift, outZP, lo, hi, want)
		konst := rng.IntN(4) > 0
		ins := []*Tensor{
			gemmTQuant(gemmTTensor([]int{g.batch, g.inH, g.inW, g.inC}, in, false), []float32{inScale}, []int32{inZP}, 0),
			gemmTQuant(gemmTTensor([]int{1, g.kh, g.kw, g.outC}, w, konst), wScale, make([]int32, len(wScale)), 3),
			nil,
		}
		if bias != nil {
			ins[2] = gemmTTensor([]int{g.outC}, bias, konst)
		}
		outT := gemmTQuant(gemmTTensor([]int{g.batch, g.outH, g.outW, g.outC}, []int8{}, false), []float32{outScale}, []int32{outZP}, 0)
		for _, th := range []int{1, 3} {
			out, err := gemmTRun(t, schema.BuiltinOperatorDEPTHWISE_CONV_2D, dwTOpts(c), ins, outT, th)
			if err != nil {
				t.Fatalf("case %d %v: %v", i, c, err)
			}
			gemmTEqualI8(t, fmt.Sprintf("case %d %v threads %d", i, c, th), out.I8(), want)
		}
	}
}

func TestDepthwiseRejects(t *testing.T) {
	in := gemmTTensor([]int{1, 4, 4, 2}, make([]float32, 32), false)
	w := gemmTTensor([]int{1, 3, 3, 4}, make([]float32, 36), true)
	out := gemmTTensor([]int{1, 4, 4, 4}, []float32{}, false)
	if _, err := gemmTRun(t, schema.BuiltinOperatorDEPTHWISE_CONV_2D, &schema.DepthwiseConv2DOptionsT{StrideH: 1, StrideW: 1, DepthMultiplier: 3}, []*Tensor{in, w}, out, 1); err == nil {
		t.Error("inconsistent depth multiplier accepted")
	}
	if _, err := gemmTRun(t, schema.BuiltinOperatorDEPTHWISE_CONV_2D, &schema.DepthwiseConv2DOptionsT{StrideH: 1, StrideW: 1, DepthMultiplier: 2, FusedActivationFunction: actSignBit}, []*Tensor{in, w}, out, 1); err == nil {
		t.Error("SIGN_BIT accepted")
	}
	if _, err := gemmTRun(t, schema.BuiltinOperatorDEPTHWISE_CONV_2D, &schema.DepthwiseConv2DOptionsT{StrideH: 1, StrideW: 1, DepthMultiplier: 2}, []*Tensor{in, w}, out, 1); err != nil {
		t.Errorf("valid depthwise rejected: %v", err)
	}
}

// Kernels up to 21×21 (the LSMS model has 1×21 and 21×1) on inputs
// smaller and larger than the kernel.
func TestDepthwiseLargeKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, k := range [][2]int{{21, 21}, {1, 21}, {21, 1}, {15, 15}} {
		for _, sz := range [][2]int{{7, 9}, {30, 26}} {
			for _, s := range []int{1, 2} {
				for _, pad := range []schema.Padding{schema.PaddingSAME, schema.PaddingVALID} {
					c := convTCase{pad: pad, act: actNone}
					g := &c.g
					g.batch, g.inH, g.inW, g.inC, g.depthMul = 1, sz[0], sz[1], 10, 1
					g.outC = g.inC
					g.kh, g.kw, g.sh, g.sw, g.dh, g.dw = k[0], k[1], s, s, 1, 1
					g.outH = convOutSize(pad, g.inH, g.kh, g.sh, g.dh)
					g.outW = convOutSize(pad, g.inW, g.kw, g.sw, g.dw)
					if g.outH <= 0 || g.outW <= 0 {
						continue
					}
					g.padT = convPad(g.inH, g.outH, g.kh, g.sh, g.dh)
					g.padL = convPad(g.inW, g.outW, g.kw, g.sw, g.dw)
					name := c.String()

					in := gemmTRandF32(rng, g.inH*g.inW*g.inC, 1)
					w := gemmTRandF32(rng, g.kh*g.kw*g.outC, 1)
					bias := gemmTRandF32(rng, g.outC, 1)
					want := make([]float32, g.outH*g.outW*g.outC)
					depthwiseRefF32(g, in, w, bias, float32(math.Inf(-1)), float32(math.Inf(1)), want)
					ins := []*Tensor{
						gemmTTensor([]int{1, g.inH, g.inW, g.inC}, in, false),
						gemmTTensor([]int{1, g.kh, g.kw, g.outC}, w, true),
						gemmTTensor([]int{g.outC}, bias, true),
					}
					out, err := gemmTRun(t, schema.BuiltinOperatorDEPTHWISE_CONV_2D, dwTOpts(c), ins, gemmTTensor([]int{1, g.outH, g.outW, g.outC}, []float32{}, false), 2)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					gemmTCloseF32(t, name, out.F32(), want, 1e-5)

					inQ := gemmTRandI8(rng, len(in), -128, 127)
					wQ := gemmTRandI8(rng, len(w), -127, 127)
					biasQ := gemmTRandI32(rng, g.outC, 20000)
					scales := make([]float32, g.outC)
					req := make([]float32, g.outC)
					for i := range scales {
						scales[i] = 0.001 + 0.01*rng.Float32()
						req[i] = RequantScaleFP32(0.02, scales[i], 0.5)
					}
					wantQ := make([]int8, len(want))
					depthwiseRefI8(g, inQ, -7, wQ, biasQ, req, nil, nil, 3, -128, 127, wantQ)
					insQ := []*Tensor{
						gemmTQuant(gemmTTensor([]int{1, g.inH, g.inW, g.inC}, inQ, false), []float32{0.02}, []int32{-7}, 0),
						gemmTQuant(gemmTTensor([]int{1, g.kh, g.kw, g.outC}, wQ, true), scales, make([]int32, g.outC), 3),
						gemmTTensor([]int{g.outC}, biasQ, true),
					}
					outQ, err := gemmTRun(t, schema.BuiltinOperatorDEPTHWISE_CONV_2D, dwTOpts(c), insQ, gemmTQuant(gemmTTensor([]int{1, g.outH, g.outW, g.outC}, []int8{}, false), []float32{0.5}, []int32{3}, 0), 2)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					gemmTEqualI8(t, name, outQ.I8(), wantQ)
				}
			}
		}
	}
}
