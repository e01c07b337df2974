package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// convTCase is a random convolution geometry (CONV_2D or DEPTHWISE).
type convTCase struct {
	g   convGeom
	pad schema.Padding
	act schema.ActivationFunctionType
}

func convTRandom(rng *rand.Rand, depthwise bool) convTCase {
	for {
		var c convTCase
		g := &c.g
		g.batch = 1 + rng.IntN(2)
		g.inH, g.inW = 1+rng.IntN(12), 1+rng.IntN(12)
		g.kh, g.kw = 1+rng.IntN(5), 1+rng.IntN(5)
		switch rng.IntN(6) {
		case 0:
			g.kh, g.kw = 1, 1
		case 1:
			g.kh, g.kw = 1, 1+rng.IntN(21)
		case 2:
			g.kh, g.kw = 1+rng.IntN(21), 1
		}
		g.sh, g.sw = 1+rng.IntN(3), 1+rng.IntN(3)
		if rng.IntN(2) == 0 {
			g.sh, g.sw = 1, 1
		}
		g.dh, g.dw = 1, 1
		if rng.IntN(4) == 0 {
			g.dh, g.dw = 1+rng.IntN(2), 1+rng.IntN(3)
		}
		c.pad = schema.PaddingSAME
		if rng.IntN(2) == 0 {
			c.pad = schema.PaddingVALID
		}
		c.act = gemmTAct(rng)
		if depthwise {
			g.inC = 1 + rng.IntN(20)
			g.depthMul = 1
			if rng.IntN(3) == 0 {
				g.depthMul = 1 + rng.IntN(3)
			}
			g.outC = g.inC * g.depthMul
		} else {
			g.groups = 1
			if rng.IntN(5) == 0 {
				g.groups = 1 + rng.IntN(3)
			}
			g.filterC = 1 + rng.IntN(12)
			g.inC = g.filterC * g.groups
			g.outCPerGroup = 1 + rng.IntN(12)
			g.outC = g.outCPerGroup * g.groups
		}
		g.outH = convOutSize(c.pad, g.inH, g.kh, g.sh, g.dh)
		g.outW = convOutSize(c.pad, g.inW, g.kw, g.sw, g.dw)
		if g.outH <= 0 || g.outW <= 0 {
			continue
		}
		g.padT = convPad(g.inH, g.outH, g.kh, g.sh, g.dh)
		g.padL = convPad(g.inW, g.outW, g.kw, g.sw, g.dw)
		g.kPerGroup = g.kh * g.kw * g.filterC
		return c
	}
}

func (c convTCase) String() string {
	g := c.g
	return fmt.Sprintf("in %dx%dx%dx%d k %dx%d out %d s %d,%d d %d,%d pad %v groups %d mul %d act %v",
		g.batch, g.inH, g.inW, g.inC, g.kh, g.kw, g.outC, g.sh, g.sw, g.dh, g.dw, c.pad, g.groups, g.depthMul, c.act)
}

func TestConv2DFloatMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 150 {
		c := convTRandom(rng, false)
		g := &c.g
		in := gemmTRandF32(rng, g.batch*g.inH*g.inW*g.inC, 1)
		w := gemmTRandF32(rng, g.outC*g.kh*g.kw*g.filterC, 1)
		var bias []float32
		if rng.IntN(3) > 0 {
			bias = gemmTRandF32(rng, g.outC, 1)
		}
		lo, hi, _ := ActivationRangeFloat(c.act)
		want := make([]float32, g.batch*g.outH*g.outW*g.outC)
		conv2DRefF32(g, in, w, bias, lo, hi, want)
		opts := &schema.Conv2DOptionsT{Padding: c.pad, StrideH: int32(g.sh), StrideW: int32(g.sw), DilationHFactor: int32(g.dh), DilationWFactor: int32(g.dw), FusedActivationFunction: c.act}
		wConst := rng.IntN(4) > 0
		ins := []*Tensor{
			gemmTTensor([]int{g.batch, g.inH, g.inW, g.inC}, in, false),
			gemmTTensor([]int{g.outC, g.kh, g.kw, g.filterC}, w, wConst),
			nil,
		}
		if bias != nil {
			ins[2] = gemmTTensor([]int{g.outC}, bias, wConst)
		}
		outT := gemmTTensor([]int{g.batch, g.outH, g.outW, g.outC}, []float32{}, false)
		var first []float32
		for _, th := range []int{1, 3} {
			out, err := gemmTRun(t, schema.BuiltinOperatorCONV_2D, opts, ins, outT, th)
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

func TestConv2DInt8MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for i := range 150 {
		c := convTRandom(rng, false)
		g := &c.g
		inZP := int32(rng.IntN(256) - 128)
		inScale := float32(0.01 + rng.Float64()*0.05)
		in := gemmTRandI8(rng, g.batch*g.inH*g.inW*g.inC, -128, 127)
		wf := gemmTRandF32(rng, g.outC*g.kh*g.kw*g.filterC, 1)
		perChannel := rng.IntN(3) > 0
		w, wScale := gemmTQuantizeWeights(wf, []int{g.outC, g.kh, g.kw, g.filterC}, 0, perChannel)
		var bias []int32
		if rng.IntN(3) > 0 {
			bias = gemmTRandI32(rng, g.outC, 3000)
		}
		outScale := float32(float64(inScale) * 0.5 * (0.2 + rng.Float64()) * float64(g.kPerGroup) / 10)
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
		conv2DRefI8(g, in, inZP, w, bias, refScale(scale, bias), mult, shift, outZP, lo, hi, want)
		opts := &schema.Conv2DOptionsT{Padding: c.pad, StrideH: int32(g.sh), StrideW: int32(g.sw), DilationHFactor: int32(g.dh), DilationWFactor: int32(g.dw), FusedActivationFunction: c.act}
		konst := rng.IntN(4) > 0
		ins := []*Tensor{
			gemmTQuant(gemmTTensor([]int{g.batch, g.inH, g.inW, g.inC}, in, false), []float32{inScale}, []int32{inZP}, 0),
			gemmTQuant(gemmTTensor([]int{g.outC, g.kh, g.kw, g.filterC}, w, konst), wScale, make([]int32, len(wScale)), 0),
			nil,
		}
		if bias != nil {
			ins[2] = gemmTTensor([]int{g.outC}, bias, konst)
		}
		outT := gemmTQuant(gemmTTensor([]int{g.batch, g.outH, g.outW, g.outC}, []int8{}, false), []float32{outScale}, []int32{outZP}, 0)
		for _, th := range []int{1, 3} {
			out, err := gemmTRun(t, schema.BuiltinOperatorCONV_2D, opts, ins, outT, th)
			if err != nil {
				t.Fatalf("case %d %v: %v", i, c, err)
			}
			gemmTEqualI8(t, fmt.Sprintf("case %d %v threads %d", i, c, th), out.I8(), want)
		}
	}
}

func TestConv2DRejects(t *testing.T) {
	in := gemmTTensor([]int{1, 4, 4, 2}, make([]float32, 32), false)
	w := gemmTTensor([]int{3, 3, 3, 2}, make([]float32, 54), true)
	out := gemmTTensor([]int{1, 4, 4, 3}, []float32{}, false)
	if _, err := gemmTRun(t, schema.BuiltinOperatorCONV_2D, &schema.Conv2DOptionsT{StrideH: 1, StrideW: 1, FusedActivationFunction: actTanh}, []*Tensor{in, w}, out, 1); err == nil {
		t.Error("TANH accepted")
	}
	if _, err := gemmTRun(t, schema.BuiltinOperatorCONV_2D, &schema.Conv2DOptionsT{}, []*Tensor{in, w}, out, 1); err == nil {
		t.Error("zero stride accepted")
	}
	wi := gemmTTensor([]int{3, 3, 3, 2}, make([]int8, 54), true)
	if _, err := gemmTRun(t, schema.BuiltinOperatorCONV_2D, &schema.Conv2DOptionsT{StrideH: 1, StrideW: 1}, []*Tensor{in, wi}, out, 1); err == nil {
		t.Error("hybrid float×int8 accepted")
	}
}

// refScale is the fp32 scales the kernels use for an op with bias, nil
// (fixed-point requantization) for one without (see gemmQuantParams).
func refScale(scale []float32, bias []int32) []float32 {
	if bias == nil {
		return nil
	}
	return scale
}
