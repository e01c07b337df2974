package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// LOGISTIC (sigmoid) for float32 and int8. float32 is computed in float64
// and rounded once. int8 is TFLite's lookup table (activations.cc
// SigmoidPrepare): 1/(1+expf(−x)) in float32 on the dequantized input,
// quantized to the output, which TFLite requires to have scale 1/256.

func init() {
	Register(schema.BuiltinOperatorLOGISTIC, func() Kernel { return &logistic{} })
}

type logistic struct{ ewUnary }

func (k *logistic) Prepare(ctx *Context, n *Node) (int, error) {
	if err := k.prepareLUTOp(n, logisticF32, logisticLUTFunc); err != nil {
		return 0, err
	}
	if k.in.Type == tflite.Int8 && float64(k.out.Scale[0]) != 1.0/256 {
		return 0, n.Unsupportedf("int8 output scale %g (TFLite requires 1/256)", k.out.Scale[0])
	}
	return 0, nil
}

// logisticLUTFunc is TFLite's table function 1.0f/(1.0f+std::exp(-x)).
func logisticLUTFunc(x float32) float32 {
	e := float32(math.Exp(float64(-x)))
	return float32(1) / float32(float32(1)+e)
}

func logisticF32(dst, src []float32) { ewMapF32(dst, src, logistic1) }

func logistic1(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
