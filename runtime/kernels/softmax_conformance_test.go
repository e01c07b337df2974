package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(28, 1))
	betas := []float32{1, 1, 0.5, 2, 1, 0.1}
	var fc, qc []conformance.Case
	for i := range 24 {
		s := ewcShape(rng, 4)
		if len(s) == 0 {
			s = []int{1 + rng.IntN(40)}
		}
		beta := betas[i%len(betas)]
		opts := &schema.SoftmaxOptionsT{Beta: beta}
		amp := 1 + 9*rng.Float64()

		b := tflite.NewBuilder("main")
		x := b.Input("x", tflite.Float32, s, nil)
		y := b.Tensor("y", tflite.Float32, s, nil)
		b.Op(schema.BuiltinOperatorSOFTMAX, opts, []int{x}, y)
		b.Output(y)
		fc = append(fc, conformance.Case{Name: fmt.Sprintf("SOFTMAX_f32_%d_%v_b%g", i, s, beta), Model: b.Model(),
			Inputs: []conformance.Input{{Shape: s, F32: ewcFloats(rng, ewcNumel(s), -amp, amp)}}})

		si, zi := ewcQParams(rng, amp)
		b = tflite.NewBuilder("main")
		q := conformance.QuantizeInput(b, "x", s, si, zi)
		qy := b.Tensor("y", tflite.Int8, s, ewQ(1.0/256, -128))
		b.Op(schema.BuiltinOperatorSOFTMAX, opts, []int{q}, qy)
		conformance.DequantizeOutput(b, qy, "out")
		lo, hi := ewcRange(si, zi)
		qc = append(qc, conformance.Case{Name: fmt.Sprintf("SOFTMAX_i8_%d_%v_b%g", i, s, beta), Model: b.Model(),
			Inputs:     []conformance.Input{{Shape: s, F32: ewcFloats(rng, ewcNumel(s), lo, hi)}},
			QuantScale: 1.0 / 256})
	}
	conformance.Run(t, "SOFTMAX/float32", fc)
	conformance.Run(t, "SOFTMAX/int8", qc)
}
