package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	opts := func(i int) any { return &schema.MulOptionsT{FusedActivationFunction: ewcAct(i)} }
	conformance.Run(t, "MUL/float32", ewcBinaryFloat(rng, "MUL", schema.BuiltinOperatorMUL, 24, 6, opts, func(which, n int) []float32 {
		return ewcFloats(rng, n, -5, 5)
	}))
	conformance.Run(t, "MUL/int8", ewcBinaryInt8(rng, "MUL", schema.BuiltinOperatorMUL, 24, 6, opts, func(a, b float64) float64 { return a * b }))
}
