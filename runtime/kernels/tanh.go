package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite/schema"
)

// TANH for float32 and int8. float32 is computed in float64 and rounded
// once; int8 is TFLite's lookup table of tanhf on the dequantized input,
// quantized to the output parameters.

func init() {
	Register(schema.BuiltinOperatorTANH, func() Kernel { return &tanhK{} })
}

type tanhK struct{ ewUnary }

func (k *tanhK) Prepare(ctx *Context, n *Node) (int, error) {
	return 0, k.prepareLUTOp(n, tanhF32, tanh1)
}

func tanhF32(dst, src []float32) { ewMapF32(dst, src, tanh1) }

func tanh1(x float32) float32 { return float32(math.Tanh(float64(x))) }
