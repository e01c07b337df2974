package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/runtime/conformance"
)

func TestConformanceDepthwiseConv2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	fl, q := convcCases(t, rng, true, 30)
	conformance.Run(t, "DEPTHWISE_CONV_2D/float32", fl)
	conformanceExact(t, "DEPTHWISE_CONV_2D/int8", conformance.Run(t, "DEPTHWISE_CONV_2D/int8", q))
}
