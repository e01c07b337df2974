package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceGelu(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 1))
	for _, approx := range []bool{false, true} {
		opts := &schema.GeluOptionsT{Approximate: approx}
		name := "GELU"
		if approx {
			name = "GELU_APPROX"
		}
		conformance.Run(t, name+"/float32", ewcUnaryFloat(rng, name, schema.BuiltinOperatorGELU, 22, opts, -6, 6, 0))
		conformance.Run(t, name+"/int8", ewcUnaryInt8(rng, name, schema.BuiltinOperatorGELU, 22, opts, -5, 5, func(int) (float32, int64) {
			s, _ := ewcQParams(rng, 3)
			return s, -100 + int64(rng.IntN(30))
		}))
	}
}
