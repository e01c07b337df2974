package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceRelu(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	conformance.Run(t, "RELU/float32", ewcUnaryFloat(rng, "RELU", schema.BuiltinOperatorRELU, 22, nil, -5, 5, 0))
	conformance.Run(t, "RELU/int8", ewcUnaryInt8(rng, "RELU", schema.BuiltinOperatorRELU, 22, nil, -4, 4, func(i int) (float32, int64) {
		if i%3 == 0 {
			return 8.0 / 255, -128 // the usual converter choice: [0, max]
		}
		return ewcQParams(rng, 5)
	}))
}

func TestConformanceRelu6(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 1))
	conformance.Run(t, "RELU6/float32", ewcUnaryFloat(rng, "RELU6", schema.BuiltinOperatorRELU6, 22, nil, -8, 8, 0))
	conformance.Run(t, "RELU6/int8", ewcUnaryInt8(rng, "RELU6", schema.BuiltinOperatorRELU6, 22, nil, -8, 8, func(i int) (float32, int64) {
		if i%3 == 0 {
			return 6.0 / 255, -128
		}
		return ewcQParams(rng, 7)
	}))
}
