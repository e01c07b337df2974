package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceFullyConnected(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	var fl, q []conformance.Case
	for i := range 26 {
		batch, depth, units := 1+rng.IntN(30), 1+rng.IntN(64), 1+rng.IntN(64)
		keep := rng.IntN(3) == 0
		inShape := []int{batch, depth}
		if rng.IntN(3) == 0 && batch%2 == 0 {
			inShape = []int{2, batch / 2, depth}
		} else if !keep && rng.IntN(4) == 0 {
			inShape = []int{batch * depth}
		}
		outShape := []int{batch, units}
		if keep {
			outShape = append(append([]int{}, inShape[:len(inShape)-1]...), units)
		}
		act := gemmcAct(rng)
		// Weights are a graph input in some float cases.
		wInput := rng.IntN(5) == 0
		opts := &schema.FullyConnectedOptionsT{FusedActivationFunction: act, KeepNumDims: keep}
		wAmp := 1 / math.Sqrt(float64(depth))
		wf := gemmcFloats(rng, units*depth, -wAmp, wAmp)
		// Always with bias: see the note in convcCases.
		bf := gemmcFloats(rng, units, -0.5, 0.5)
		name := fmt.Sprintf("fc%d_%v_%dx%d_keep%v_act%v_winput%v", i, inShape, units, depth, keep, act, wInput)

		in := gemmcFloats(rng, batch*depth, -2, 2)
		b := tflite.NewBuilder("main")
		x := b.Input("x", tflite.Float32, inShape, nil)
		var w int
		inputs := []conformance.Input{{Shape: inShape, F32: in}}
		if wInput {
			w = b.Input("w", tflite.Float32, []int{units, depth}, nil)
			inputs = append(inputs, conformance.Input{Shape: []int{units, depth}, F32: wf})
		} else {
			w = b.Const("w", tflite.Float32, []int{units, depth}, wf, nil)
		}
		bias := b.Const("b", tflite.Float32, []int{units}, bf, nil)
		y := b.Tensor("y", tflite.Float32, outShape, nil)
		b.Op(schema.BuiltinOperatorFULLY_CONNECTED, opts, []int{x, w, bias}, y)
		b.Output(y)
		fl = append(fl, conformance.Case{Name: name, Model: b.Model(), Inputs: inputs})

		// int8 with constant weights, per-channel or per-tensor.
		inQ, inScale, inZP := gemmcInQuant(rng, batch*depth)
		perChannel := rng.IntN(2) == 0
		wq, wScales, wZPs := gemmcQuantW(wf, []int{units, depth}, 0, perChannel)
		fb := tflite.NewBuilder("main")
		fx := fb.Input("x", tflite.Float32, inShape, nil)
		fw := fb.Const("w", tflite.Float32, []int{units, depth}, wf, nil)
		fbias := fb.Const("b", tflite.Float32, []int{units}, bf, nil)
		fy := fb.Tensor("y", tflite.Float32, outShape, nil)
		fb.Op(schema.BuiltinOperatorFULLY_CONNECTED, opts, []int{fx, fw, fbias}, fy)
		fb.Output(fy)
		outScale, outZP := gemmcOutQuant(t, fb.Model(), [][]float32{inQ})
		qb := tflite.NewBuilder("main")
		qx := conformance.QuantizeInput(qb, "x", inShape, inScale, inZP)
		qw := qb.Const("w", tflite.Int8, []int{units, depth}, wq, gemmcQ(wScales, wZPs, 0))
		bq, bQuant := gemmcBias(bf, inScale, wScales)
		qbias := qb.Const("b", tflite.Int32, []int{units}, bq, bQuant)
		qy := qb.Tensor("yq", tflite.Int8, outShape, gemmcQ([]float32{outScale}, []int64{outZP}, 0))
		qb.Op(schema.BuiltinOperatorFULLY_CONNECTED, opts, []int{qx, qw, qbias}, qy)
		conformance.DequantizeOutput(qb, qy, "y")
		q = append(q, conformance.Case{Name: name + fmt.Sprintf("_perchannel%v", perChannel), Model: qb.Model(), Inputs: []conformance.Input{{Shape: inShape, F32: inQ}}, QuantScale: outScale})
	}
	conformance.Run(t, "FULLY_CONNECTED/float32", fl)
	conformanceExact(t, "FULLY_CONNECTED/int8", conformance.Run(t, "FULLY_CONNECTED/int8", q))
}
