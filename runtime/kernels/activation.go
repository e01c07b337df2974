package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite/schema"
)

type int8Act = schema.ActivationFunctionType

const (
	actNone      = schema.ActivationFunctionTypeNONE
	actRelu      = schema.ActivationFunctionTypeRELU
	actReluN1To1 = schema.ActivationFunctionTypeRELU_N1_TO_1
	actRelu6     = schema.ActivationFunctionTypeRELU6
	actTanh      = schema.ActivationFunctionTypeTANH
	actSignBit   = schema.ActivationFunctionTypeSIGN_BIT
)

// ActivationRangeFloat returns the clamp range of a fused activation for
// float outputs; ok is false for activations that are not clamps (TANH,
// SIGN_BIT), which the interpreter does not support fused.
func ActivationRangeFloat(act schema.ActivationFunctionType) (lo, hi float32, ok bool) {
	switch act {
	case actNone:
		return float32(math.Inf(-1)), float32(math.Inf(1)), true
	case actRelu:
		return 0, float32(math.Inf(1)), true
	case actRelu6:
		return 0, 6, true
	case actReluN1To1:
		return -1, 1, true
	}
	return 0, 0, false
}

// CheckActivation rejects fused activations that are not clamps.
func CheckActivation(n *Node, act schema.ActivationFunctionType) error {
	if _, _, ok := ActivationRangeFloat(act); !ok {
		return n.Unsupportedf("fused activation %v", act)
	}
	return nil
}

// ClampF32 clamps v to [lo,hi].
func ClampF32(v, lo, hi float32) float32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
