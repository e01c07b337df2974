package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// RELU and RELU6 for float32 and int8. int8 is TFLite's ReluX: requantize
// (x − in_zp) by in_scale/out_scale with MultiplyByQuantizedMultiplier,
// add out_zp, clamp to [out_zp, 127] (RELU) or [out_zp, out_zp+round(6/
// out_scale)] (RELU6); it is tabulated over the 256 inputs.

func init() {
	Register(schema.BuiltinOperatorRELU, func() Kernel { return &relu{hi: float32(math.Inf(1))} })
	Register(schema.BuiltinOperatorRELU6, func() Kernel { return &relu{hi: 6} })
}

type relu struct {
	ewUnary
	hi float32 // upper clamp: +Inf (RELU) or 6 (RELU6)
}

func (k *relu) Prepare(ctx *Context, n *Node) (int, error) {
	if err := k.prepareUnary(n); err != nil {
		return 0, err
	}
	if k.in.Type == tflite.Float32 {
		if math.IsInf(float64(k.hi), 1) {
			k.f32 = reluF32
		} else {
			k.f32 = relu6F32
		}
		return 0, nil
	}
	is, izp, err := ewQuantParams(n, k.in)
	if err != nil {
		return 0, err
	}
	os, ozp, err := ewQuantParams(n, k.out)
	if err != nil {
		return 0, err
	}
	m, s := QuantizeMultiplier(float64(is) / float64(os))
	qlo, qhi := reluQuantRange(os, ozp, k.hi)
	k.prepareLUT(func(x int8) int8 {
		v := ozp + MultiplyByQuantizedMultiplier(int32(x)-izp, m, s)
		return int8(max(qlo, min(qhi, v)))
	})
	return 0, nil
}

// reluQuantRange is TFLite's QuantizedReluX clamp range for [0, hi].
func reluQuantRange(scale float32, zp int32, hi float32) (lo, up int32) {
	lo = max(-128, zp+int32(math.Round(float64(float32(0)/scale))))
	up = 127
	if !math.IsInf(float64(hi), 1) {
		up = min(127, zp+int32(math.Round(float64(hi/scale))))
	}
	return lo, up
}

func reluF32(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = max(x, 0)
	}
}

func relu6F32(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = min(max(x, 0), 6)
	}
}
