package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	opts := func(i int) any { return &schema.AddOptionsT{FusedActivationFunction: ewcAct(i)} }
	conformance.Run(t, "ADD/float32", ewcBinaryFloat(rng, "ADD", schema.BuiltinOperatorADD, 24, 6, opts, func(which, n int) []float32 {
		return ewcFloats(rng, n, -5, 5)
	}))
	conformance.Run(t, "ADD/int8", ewcBinaryInt8(rng, "ADD", schema.BuiltinOperatorADD, 24, 6, opts, func(a, b float64) float64 { return a + b }))
}
