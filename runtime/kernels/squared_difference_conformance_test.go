package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceSquaredDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 1))
	opts := func(int) any { return nil }
	conformance.Run(t, "SQUARED_DIFFERENCE/float32", ewcBinaryFloat(rng, "SQUARED_DIFFERENCE", schema.BuiltinOperatorSQUARED_DIFFERENCE, 24, 6, opts, func(which, n int) []float32 {
		return ewcFloats(rng, n, -5, 5)
	}))
	conformance.Run(t, "SQUARED_DIFFERENCE/int8", ewcBinaryInt8(rng, "SQUARED_DIFFERENCE", schema.BuiltinOperatorSQUARED_DIFFERENCE, 24, 6, opts, func(a, b float64) float64 { return (a + b) * (a + b) / 2 }))
}
