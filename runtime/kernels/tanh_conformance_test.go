package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceTanh(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 1))
	conformance.Run(t, "TANH/float32", ewcUnaryFloat(rng, "TANH", schema.BuiltinOperatorTANH, 22, nil, -6, 6, 0))
	conformance.Run(t, "TANH/int8", ewcUnaryInt8(rng, "TANH", schema.BuiltinOperatorTANH, 22, nil, -4, 4, func(i int) (float32, int64) {
		if i%2 == 0 {
			return 1.0 / 128, 0 // the converter's fixed choice
		}
		return ewcQParams(rng, 1)
	}))
}
