package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func TestConformanceLogistic(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 1))
	conformance.Run(t, "LOGISTIC/float32", ewcUnaryFloat(rng, "LOGISTIC", schema.BuiltinOperatorLOGISTIC, 22, nil, -12, 12, 0))
	conformance.Run(t, "LOGISTIC/int8", ewcUnaryInt8(rng, "LOGISTIC", schema.BuiltinOperatorLOGISTIC, 22, nil, -8, 8, func(int) (float32, int64) {
		return 1.0 / 256, -128
	}))
}
