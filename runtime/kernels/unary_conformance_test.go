package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceRsqrt(t *testing.T) {
	rng := rand.New(rand.NewPCG(26, 1))
	conformance.Run(t, "RSQRT/float32", ewcUnaryFloat(rng, "RSQRT", schema.BuiltinOperatorRSQRT, 22, nil, 0.01, 50, 0))
	conformance.Run(t, "RSQRT/int8", ewcUnaryInt8(rng, "RSQRT", schema.BuiltinOperatorRSQRT, 22, nil, 0.0001, 20, func(int) (float32, int64) {
		return ewcQParams(rng, 3)
	}))
}

func TestConformanceSqrt(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 1))
	conformance.Run(t, "SQRT/float32", ewcUnaryFloat(rng, "SQRT", schema.BuiltinOperatorSQRT, 22, nil, 0, 100, 0))
	conformance.Run(t, "SQRT/int8", ewcUnaryInt8(rng, "SQRT", schema.BuiltinOperatorSQRT, 22, nil, 0.0001, 30, func(int) (float32, int64) {
		s, _ := ewcQParams(rng, 6)
		return s, -128
	}))
}
