package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceDiv(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 1))
	opts := func(i int) any { return &schema.DivOptionsT{FusedActivationFunction: ewcAct(i)} }
	conformance.Run(t, "DIV/float32", ewcBinaryFloat(rng, "DIV", schema.BuiltinOperatorDIV, 24, 6, opts, func(which, n int) []float32 {
		v := ewcFloats(rng, n, 0.25, 4)
		if which == 1 {
			for j := range v {
				if rng.IntN(2) == 0 {
					v[j] = -v[j]
				}
			}
		}
		return v
	}))
}
