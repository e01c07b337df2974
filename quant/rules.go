package quant

import (
	"github.com/lsms-edge/lsms/tflite/schema"
)

// kind is how an op's int8 output parameters are chosen.
type kind int

const (
	// kFree: the output's own calibrated range.
	kFree kind = iota
	// kWeighted: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED — input 0
	// activations, input 1 constant weights per axis, input 2 int32 bias.
	kWeighted
	// kSame: every output has the parameters of the data input (ops that
	// only move or interpolate values; TFLite's int8 kernels do not
	// rescale); other float inputs (PADV2's constant value) get them too.
	kSame
	// kFixed: fixed output parameters (SOFTMAX, LOGISTIC, TANH).
	kFixed
	// kConcat: the output's own range; inputs requantized to it.
	kConcat
	// kFloatOnly: no int8 kernel in TFLite; always float32.
	kFloatOnly
	// kAny: the output does not depend on the values (SHAPE); the op
	// takes its input as it is, int8 or float32.
	kAny
)

// rule describes how the Int8 rewrite handles one builtin op.
type rule struct {
	kind kind
	// src is the data input of a kSame op (SPLIT's is 1).
	src int
	// axis is the per-axis dimension of kWeighted weights.
	axis int
	// scale and zp are a kFixed op's output parameters.
	scale float32
	zp    int64
	// version is the op version TFLite gives the int8 form (TensorFlow's
	// op_version.cc); the rewrite keeps the larger of it and the model's.
	version int32
	// why explains kFloatOnly.
	why string
}

var rules = map[schema.BuiltinOperator]rule{
	schema.BuiltinOperatorADD:                {kind: kFree, version: 2},
	schema.BuiltinOperatorSUB:                {kind: kFree, version: 2},
	schema.BuiltinOperatorMUL:                {kind: kFree, version: 2},
	schema.BuiltinOperatorSQUARED_DIFFERENCE: {kind: kFree, version: 2},
	schema.BuiltinOperatorMEAN:               {kind: kFree, version: 2},
	schema.BuiltinOperatorSUM:                {kind: kFree, version: 2},
	schema.BuiltinOperatorBATCH_MATMUL:       {kind: kFree, version: 2},
	schema.BuiltinOperatorRSQRT:              {kind: kFree, version: 2},
	schema.BuiltinOperatorGELU:               {kind: kFree, version: 2},
	schema.BuiltinOperatorRELU:               {kind: kFree, version: 2},
	schema.BuiltinOperatorRELU6:              {kind: kFree, version: 2},

	schema.BuiltinOperatorCONV_2D:           {kind: kWeighted, axis: 0, version: 3},
	schema.BuiltinOperatorDEPTHWISE_CONV_2D: {kind: kWeighted, axis: 3, version: 3},
	schema.BuiltinOperatorFULLY_CONNECTED:   {kind: kWeighted, axis: 0, version: 4},

	schema.BuiltinOperatorSOFTMAX:  {kind: kFixed, scale: 1.0 / 256, zp: -128, version: 2},
	schema.BuiltinOperatorLOGISTIC: {kind: kFixed, scale: 1.0 / 256, zp: -128, version: 2},
	schema.BuiltinOperatorTANH:     {kind: kFixed, scale: 1.0 / 128, zp: 0, version: 2},

	schema.BuiltinOperatorCONCATENATION: {kind: kConcat, version: 2},

	schema.BuiltinOperatorRESHAPE:         {kind: kSame, version: 1},
	schema.BuiltinOperatorSQUEEZE:         {kind: kSame, version: 1},
	schema.BuiltinOperatorEXPAND_DIMS:     {kind: kSame, version: 1},
	schema.BuiltinOperatorTRANSPOSE:       {kind: kSame, version: 2},
	schema.BuiltinOperatorRESIZE_BILINEAR: {kind: kSame, version: 2},
	schema.BuiltinOperatorPAD:             {kind: kSame, version: 2},
	schema.BuiltinOperatorGATHER:          {kind: kSame, version: 2},
	schema.BuiltinOperatorSLICE:           {kind: kSame, version: 2},
	schema.BuiltinOperatorSTRIDED_SLICE:   {kind: kSame, version: 2},
	schema.BuiltinOperatorSPLIT:           {kind: kSame, src: 1, version: 2},
	schema.BuiltinOperatorPADV2:           {kind: kSame, version: 2},

	schema.BuiltinOperatorSHAPE: {kind: kAny},

	schema.BuiltinOperatorDIV:  {kind: kFloatOnly, why: "TFLite has no int8 DIV"},
	schema.BuiltinOperatorSQRT: {kind: kFloatOnly, why: "int8 SQRT is missing from most TFLite runtimes"},
}
