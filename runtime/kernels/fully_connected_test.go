package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// fcTShape picks an input shape with the given number of rows of depth d.
func fcTShape(rng *rand.Rand, batch, depth int, keep bool) []int {
	if keep || rng.IntN(2) == 0 {
		if batch%2 == 0 && rng.IntN(2) == 0 {
			return []int{2, batch / 2, depth}
		}
		return []int{batch, depth}
	}
	return []int{batch * depth}
}

func TestFullyConnectedFloatMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for i := range 150 {
		batch, units, depth := 1+rng.IntN(20), 1+rng.IntN(40), 1+rng.IntN(80)
		if i%10 == 0 {
			batch = 1
		}
		keep := rng.IntN(2) == 0
		inShape := fcTShape(rng, batch, depth, keep)
		if len(inShape) == 1 {
			keep = false
		}
		act := gemmTAct(rng)
		in := gemmTRandF32(rng, batch*depth, 1)
		w := gemmTRandF32(rng, units*depth, 1)
		var bias []float32
		if rng.IntN(3) > 0 {
			bias = gemmTRandF32(rng, units, 1)
		}
		lo, hi, _ := ActivationRangeFloat(act)
		want := make([]float32, batch*units)
		fullyConnectedRefF32(in, w, bias, batch, units, depth, lo, hi, want)
		konst := rng.IntN(4) > 0
		ins := []*Tensor{gemmTTensor(inShape, in, false), gemmTTensor([]int{units, depth}, w, konst), nil}
		if bias != nil {
			ins[2] = gemmTTensor([]int{units}, bias, konst)
		}
		outShape := []int{batch, units}
		if keep {
			outShape = append(append([]int{}, inShape[:len(inShape)-1]...), units)
		}
		outT := gemmTTensor(outShape, []float32{}, false)
		opts := &schema.FullyConnectedOptionsT{FusedActivationFunction: act, KeepNumDims: keep}
		var first []float32
		for _, th := range []int{1, 3} {
			out, err := gemmTRun(t, schema.BuiltinOperatorFULLY_CONNECTED, opts, ins, outT, th)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			got := out.F32()
			gemmTCloseF32(t, fmt.Sprintf("case %d (%d×%d→%d) threads %d", i, batch, depth, units, th), got, want, 1e-5)
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

func TestFullyConnectedInt8MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for i := range 150 {
		batch, units, depth := 1+rng.IntN(20), 1+rng.IntN(40), 1+rng.IntN(80)
		if i%10 == 0 {
			batch = 1
		}
		act := gemmTAct(rng)
		inZP := int32(rng.IntN(256) - 128)
		inScale := float32(0.01 + rng.Float64()*0.05)
		in := gemmTRandI8(rng, batch*depth, -128, 127)
		wf := gemmTRandF32(rng, units*depth, 1)
		perChannel := rng.IntN(2) == 0
		w, wScale := gemmTQuantizeWeights(wf, []int{units, depth}, 0, perChannel)
		var wZP int32
		wZPs := make([]int32, len(wScale))
		if !perChannel && rng.IntN(3) == 0 {
			wZP = int32(rng.IntN(21) - 10)
			wZPs[0] = wZP
		}
		var bias []int32
		if rng.IntN(3) > 0 {
			bias = gemmTRandI32(rng, units, 3000)
		}
		outScale := float32(float64(inScale) * (0.2 + rng.Float64()) * float64(depth) / 20)
		outZP := int32(rng.IntN(256) - 128)
		scale := make([]float32, units)
		mult, shift := make([]int32, units), make([]int, units)
		for u := range units {
			ws := wScale[0]
			if perChannel {
				ws = wScale[u]
			}
			scale[u] = RequantScaleFP32(inScale, ws, outScale)
			mult[u], shift[u] = QuantizeMultiplier(float64(inScale) * float64(ws) / float64(outScale))
		}
		lo, hi := ActivationRangeInt8(act, outScale, outZP)
		want := make([]int8, batch*units)
		fullyConnectedRefI8(in, inZP, w, wZP, bias, batch, units, depth, refScale(scale, bias), mult, shift, outZP, lo, hi, want)
		konst := rng.IntN(4) > 0
		ins := []*Tensor{
			gemmTQuant(gemmTTensor(fcTShape(rng, batch, depth, false), in, false), []float32{inScale}, []int32{inZP}, 0),
			gemmTQuant(gemmTTensor([]int{units, depth}, w, konst), wScale, wZPs, 0),
			nil,
		}
		if bias != nil {
			ins[2] = gemmTTensor([]int{units}, bias, konst)
		}
		outT := gemmTQuant(gemmTTensor([]int{batch, units}, []int8{}, false), []float32{outScale}, []int32{outZP}, 0)
		opts := &schema.FullyConnectedOptionsT{FusedActivationFunction: act}
		for _, th := range []int{1, 3} {
			out, err := gemmTRun(t, schema.BuiltinOperatorFULLY_CONNECTED, opts, ins, outT, th)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			gemmTEqualI8(t, fmt.Sprintf("case %d (%d×%d→%d, wzp %d) threads %d", i, batch, depth, units, wZP, th), out.I8(), want)
		}
	}
}

func TestFullyConnectedRejects(t *testing.T) {
	in := gemmTTensor([]int{2, 3}, make([]float32, 6), false)
	w := gemmTTensor([]int{4, 3}, make([]float32, 12), true)
	out := gemmTTensor([]int{2, 4}, []float32{}, false)
	if _, err := gemmTRun(t, schema.BuiltinOperatorFULLY_CONNECTED, &schema.FullyConnectedOptionsT{WeightsFormat: schema.FullyConnectedOptionsWeightsFormatSHUFFLED4x16INT8}, []*Tensor{in, w}, out, 1); err == nil {
		t.Error("shuffled weights accepted")
	}
	w5 := gemmTTensor([]int{4, 5}, make([]float32, 20), true)
	if _, err := gemmTRun(t, schema.BuiltinOperatorFULLY_CONNECTED, nil, []*Tensor{in, w5}, out, 1); err == nil {
		t.Error("indivisible input accepted")
	}
	wi := gemmTQuant(gemmTTensor([]int{4, 3}, make([]int8, 12), true), []float32{0.1}, []int32{0}, 0)
	if _, err := gemmTRun(t, schema.BuiltinOperatorFULLY_CONNECTED, nil, []*Tensor{in, wi}, out, 1); err == nil {
		t.Error("hybrid float×int8 accepted")
	}
}
