package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceSub(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	opts := func(i int) any { return &schema.SubOptionsT{FusedActivationFunction: ewcAct(i)} }
	conformance.Run(t, "SUB/float32", ewcBinaryFloat(rng, "SUB", schema.BuiltinOperatorSUB, 24, 6, opts, func(which, n int) []float32 {
		return ewcFloats(rng, n, -5, 5)
	}))
	conformance.Run(t, "SUB/int8", ewcBinaryInt8(rng, "SUB", schema.BuiltinOperatorSUB, 24, 6, opts, func(a, b float64) float64 { return a + b }))
}
