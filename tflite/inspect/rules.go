package inspect

import (
	"fmt"
	"math"
	"strings"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// This file holds the delegate rules as tables: for each delegate, the
// operator types it knows, the element types, ranks and fused activations
// it accepts, and per operator a check that returns the reason for a
// rejection ("" when the operator is accepted).

// dtypes is a set of element types.
type dtypes uint64

func types(ds ...tflite.DType) dtypes {
	var s dtypes
	for _, d := range ds {
		s |= 1 << uint(d)
	}
	return s
}

func (s dtypes) has(d tflite.DType) bool { return d >= 0 && d < 64 && s&(1<<uint(d)) != 0 }

func (s dtypes) String() string {
	var names []string
	for d := tflite.DType(0); d < 64; d++ {
		if s.has(d) {
			names = append(names, d.String())
		}
	}
	return strings.Join(names, "/")
}

type activations map[schema.ActivationFunctionType]bool

// checkFn returns why a delegate rejects an operator, or "".
type checkFn func(*node) string

// all runs checks in order and returns the first rejection.
func all(fs ...checkFn) checkFn {
	return func(n *node) string {
		for _, f := range fs {
			if r := f(n); r != "" {
				return r
			}
		}
		return ""
	}
}

func shapeStr(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// ---------------------------------------------------------------------------
// GPU delegate (TFLite GPU delegate v2, default options: quantized models
// enabled, max_delegated_partitions = 1).

// gpuRule is how the GPU delegate treats one operator type: extraIn and
// extraOut widen the element types allowed for its run-time tensors.
type gpuRule struct {
	check             checkFn
	extraIn, extraOut dtypes
}

const gpuMaxRank = 4

var (
	// Run-time (non-constant) tensors must have these types; constants may
	// have any (they are converted when the delegate reads them). INT8 and
	// UINT8 are accepted because quantized models are enabled by default
	// (TFLITE_GPU_EXPERIMENTAL_FLAGS_ENABLE_QUANT).
	gpuTypes = types(tflite.Float32, tflite.Float16, tflite.Int8, tflite.UInt8)

	gpuActivations = activations{
		schema.ActivationFunctionTypeNONE:         true,
		schema.ActivationFunctionTypeRELU:         true,
		schema.ActivationFunctionTypeRELU_N1_TO_1: true,
		schema.ActivationFunctionTypeRELU6:        true,
		schema.ActivationFunctionTypeTANH:         true,
		// SIGMOID is accepted too but has no value in the schema's enum.
	}

	gpuLogicalOut = types(tflite.Bool)
)

var gpuOps = map[schema.BuiltinOperator]gpuRule{
	schema.BuiltinOperatorABS:                     {check: gpuUnary},
	schema.BuiltinOperatorADD:                     {check: gpuAdd},
	schema.BuiltinOperatorAVERAGE_POOL_2D:         {check: gpuPool},
	schema.BuiltinOperatorBATCH_MATMUL:            {check: gpuBatchMatMul},
	schema.BuiltinOperatorCAST:                    {check: gpuCast, extraIn: types(tflite.Bool, tflite.Int32), extraOut: types(tflite.Int32, tflite.Bool)},
	schema.BuiltinOperatorCONCATENATION:           {},
	schema.BuiltinOperatorCONV_2D:                 {check: all(gpuConvIO, gpuStrides)},
	schema.BuiltinOperatorCOS:                     {check: gpuUnary},
	schema.BuiltinOperatorCUMSUM:                  {check: gpuCumsum},
	schema.BuiltinOperatorDENSIFY:                 {check: gpuIO(0, 1)},
	schema.BuiltinOperatorDEPTHWISE_CONV_2D:       {check: all(gpuConvIO, gpuStrides, gpuDepthwise)},
	schema.BuiltinOperatorDEPTH_TO_SPACE:          {check: all(gpuIO(1, 1), blockSize)},
	schema.BuiltinOperatorDEQUANTIZE:              {check: gpuDequantize},
	schema.BuiltinOperatorDIV:                     {check: gpuBinary},
	schema.BuiltinOperatorELU:                     {check: gpuUnary},
	schema.BuiltinOperatorEQUAL:                   {check: gpuBinary, extraOut: gpuLogicalOut},
	schema.BuiltinOperatorEXP:                     {check: gpuUnary},
	schema.BuiltinOperatorFLOOR:                   {check: gpuUnary},
	schema.BuiltinOperatorFLOOR_DIV:               {check: gpuBinary},
	schema.BuiltinOperatorFLOOR_MOD:               {check: gpuBinary},
	schema.BuiltinOperatorFULLY_CONNECTED:         {check: gpuFullyConnected},
	schema.BuiltinOperatorGREATER:                 {check: gpuBinary, extraOut: gpuLogicalOut},
	schema.BuiltinOperatorGREATER_EQUAL:           {check: gpuBinary, extraOut: gpuLogicalOut},
	schema.BuiltinOperatorHARD_SWISH:              {check: gpuIO(1, 1)},
	schema.BuiltinOperatorLEAKY_RELU:              {},
	schema.BuiltinOperatorLESS:                    {check: gpuBinary, extraOut: gpuLogicalOut},
	schema.BuiltinOperatorLESS_EQUAL:              {check: gpuBinary, extraOut: gpuLogicalOut},
	schema.BuiltinOperatorLOG:                     {check: gpuUnary},
	schema.BuiltinOperatorLOGISTIC:                {check: gpuUnary},
	schema.BuiltinOperatorLSTM:                    {check: gpuLSTM},
	schema.BuiltinOperatorMAXIMUM:                 {check: gpuBinary},
	schema.BuiltinOperatorMAX_POOL_2D:             {check: gpuPool},
	schema.BuiltinOperatorMEAN:                    {check: all(gpuConstIO(1, 1, 1), axesConstInt32)},
	schema.BuiltinOperatorMINIMUM:                 {check: gpuBinary},
	schema.BuiltinOperatorMIRROR_PAD:              {check: all(gpuMirrorMode, gpuPad)},
	schema.BuiltinOperatorMUL:                     {check: gpuMul},
	schema.BuiltinOperatorNEG:                     {check: gpuUnary},
	schema.BuiltinOperatorNOT_EQUAL:               {check: gpuBinary, extraOut: gpuLogicalOut},
	schema.BuiltinOperatorONE_HOT:                 {check: gpuOneHot, extraIn: types(tflite.Int32)},
	schema.BuiltinOperatorPACK:                    {},
	schema.BuiltinOperatorPAD:                     {check: gpuPad},
	schema.BuiltinOperatorPOW:                     {check: gpuBinary},
	schema.BuiltinOperatorPRELU:                   {},
	schema.BuiltinOperatorQUANTIZE:                {check: gpuIO(1, 1)},
	schema.BuiltinOperatorREDUCE_MAX:              {check: all(gpuIO(1, 1), axesConstInt32)},
	schema.BuiltinOperatorREDUCE_MIN:              {check: all(gpuIO(1, 1), axesConstInt32)},
	schema.BuiltinOperatorREDUCE_PROD:             {check: all(gpuIO(1, 1), axesConstInt32)},
	schema.BuiltinOperatorRELU:                    {},
	schema.BuiltinOperatorRELU6:                   {},
	schema.BuiltinOperatorRELU_N1_TO_1:            {},
	schema.BuiltinOperatorRESHAPE:                 {check: gpuIO(1, 1)},
	schema.BuiltinOperatorRESIZE_BILINEAR:         {check: all(gpuIO(1, 1), resizeFlags)},
	schema.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR: {check: gpuIO(1, 1)},
	schema.BuiltinOperatorRSQRT:                   {check: gpuUnary},
	schema.BuiltinOperatorSELECT_V2:               {check: gpuSelectV2},
	schema.BuiltinOperatorSIN:                     {check: gpuUnary},
	schema.BuiltinOperatorSLICE:                   {check: gpuSlice},
	schema.BuiltinOperatorSOFTMAX:                 {check: softmaxBeta},
	schema.BuiltinOperatorSPACE_TO_DEPTH:          {check: all(gpuIO(1, 1), blockSize)},
	schema.BuiltinOperatorSPLIT:                   {},
	schema.BuiltinOperatorSPLIT_V:                 {},
	schema.BuiltinOperatorSQRT:                    {check: gpuUnary},
	schema.BuiltinOperatorSQUARE:                  {check: gpuUnary},
	schema.BuiltinOperatorSQUARED_DIFFERENCE:      {check: gpuBinary},
	schema.BuiltinOperatorSTRIDED_SLICE:           {check: gpuStridedSlice},
	schema.BuiltinOperatorSUB:                     {check: gpuBinary},
	schema.BuiltinOperatorSUM:                     {check: all(gpuIO(1, 1), axesConstInt32)},
	schema.BuiltinOperatorTANH:                    {check: gpuUnary},
	schema.BuiltinOperatorTILE:                    {check: gpuIO(1, 1)},
	schema.BuiltinOperatorTRANSPOSE:               {check: gpuIO(1, 1)},
	schema.BuiltinOperatorTRANSPOSE_CONV:          {check: all(gpuConvIO, gpuStrides)},
}

var gpuCustom = map[string]gpuRule{
	"Convolution2DTransposeBias": {},
	"MaxPoolingWithArgmax2D":     {},
	"MaxUnpooling2D":             {check: gpuIO(2, 1)},
	"Resampler":                  {check: gpuIO(2, 1)},
}

func checkGPU(n *node) string {
	var rule gpuRule
	var ok bool
	if n.code() == schema.BuiltinOperatorCUSTOM {
		if rule, ok = gpuCustom[n.op.Code.Custom]; !ok {
			return fmt.Sprintf("custom op %q not supported by the GPU delegate", n.op.Code.Custom)
		}
	} else if rule, ok = gpuOps[n.code()]; !ok {
		return fmt.Sprintf("op type %s not supported by the GPU delegate", n.name())
	}
	// As in the delegate, the operator's own checks come first, then the
	// element types and ranks of its tensors.
	if a, has := n.activation(); has && !gpuActivations[a] {
		return "fused activation " + activationName(a)
	}
	if rule.check != nil {
		if r := rule.check(n); r != "" {
			return r
		}
	}
	for _, side := range []struct {
		what  string
		idx   []int
		extra dtypes
	}{{"input", n.op.Inputs, rule.extraIn}, {"output", n.op.Outputs, rule.extraOut}} {
		allowed := gpuTypes | side.extra
		for _, i := range side.idx {
			if i < 0 {
				continue
			}
			t := n.g.sg.Tensors[i]
			if len(t.Shape) > gpuMaxRank {
				return fmt.Sprintf("rank %d %s %q", len(t.Shape), side.what, t.Name)
			}
			if n.g.static[i] || t.IsVariable {
				continue
			}
			if len(t.Shape) == 0 {
				return fmt.Sprintf("rank 0 (scalar) %s %q", side.what, t.Name)
			}
			if !allowed.has(t.Type) {
				return fmt.Sprintf("%s %s %q (run-time tensors must be %v)", t.Type, side.what, t.Name, allowed)
			}
			if (t.Type == tflite.Int8 || t.Type == tflite.UInt8) && !side.extra.has(t.Type) && (t.Quant == nil || len(t.Quant.Scale) == 0) {
				return fmt.Sprintf("%s %s %q has no quantization parameters", t.Type, side.what, t.Name)
			}
		}
	}
	return ""
}

// gpuIO requires exactly `runtime` run-time inputs and `outputs` outputs.
func gpuIO(runtime, outputs int) checkFn {
	return func(n *node) string {
		if r := n.runtimeIn(); r != runtime {
			return fmt.Sprintf("%s needs %d run-time input%s, has %d", n.name(), runtime, plural(runtime), r)
		}
		if o := len(n.op.Outputs); o != outputs {
			return fmt.Sprintf("%s needs %d output%s, has %d", n.name(), outputs, plural(outputs), o)
		}
		return ""
	}
}

// gpuConstIO additionally requires exactly `consts` constant inputs.
func gpuConstIO(runtime, consts, outputs int) checkFn {
	return func(n *node) string {
		if c := n.staticIn(); c != consts {
			return fmt.Sprintf("%s needs %d constant input%s, has %d", n.name(), consts, plural(consts), c)
		}
		return gpuIO(runtime, outputs)(n)
	}
}

func gpuUnary(n *node) string { return gpuConstIO(1, 0, 1)(n) }

// gpuBinary: two inputs, both computed at run time or one of them constant.
func gpuBinary(n *node) string {
	if !n.exactly(2) || len(n.op.Outputs) != 1 || n.runtimeIn() < 1 {
		return fmt.Sprintf("%s needs 2 inputs, at least one computed at run time, and 1 output", n.name())
	}
	return ""
}

func gpuAdd(n *node) string {
	if !n.exactly(2) {
		return "ADD requires two input tensors"
	}
	return gpuBroadcast(n)
}

func gpuMul(n *node) string {
	if !n.exactly(2) {
		return "MUL requires two input tensors"
	}
	a, b := n.in(0).Shape, n.in(1).Shape
	if len(a) != len(b) {
		return gpuBroadcast(n)
	}
	aSmaller, bSmaller := false, false
	for i := range a {
		aSmaller = aSmaller || a[i] < b[i]
		bSmaller = bSmaller || b[i] < a[i]
	}
	if aSmaller && bSmaller {
		return fmt.Sprintf("MUL of %s and %s: neither input is at least as large as the other in every dimension", shapeStr(a), shapeStr(b))
	}
	return ""
}

// gpuBroadcast accepts inputs of different ranks (both above 1) only if they
// broadcast numpy-style (the delegate's enhanced broadcast, assumed on).
func gpuBroadcast(n *node) string {
	a, b := n.in(0).Shape, n.in(1).Shape
	if len(a) <= 1 || len(b) <= 1 || len(a) == len(b) {
		return ""
	}
	for i, j := len(a)-1, len(b)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if a[i] != b[j] && a[i] != 1 && b[j] != 1 {
			return fmt.Sprintf("%s cannot broadcast %s with %s", n.name(), shapeStr(a), shapeStr(b))
		}
	}
	return ""
}

func gpuPool(n *node) string {
	if r := gpuIO(1, 1)(n); r != "" {
		return r
	}
	if o, ok := n.op.Options.(*schema.Pool2DOptionsT); ok {
		if o.FilterHeight <= 0 || o.FilterWidth <= 0 {
			return fmt.Sprintf("invalid filter %dx%d", o.FilterHeight, o.FilterWidth)
		}
		if o.StrideH <= 0 || o.StrideW <= 0 {
			return fmt.Sprintf("invalid strides %dx%d", o.StrideH, o.StrideW)
		}
	}
	return ""
}

func gpuConvIO(n *node) string {
	if r := n.runtimeIn(); r > 2 {
		return fmt.Sprintf("%s needs 1 or 2 run-time inputs, has %d", n.name(), r)
	}
	if len(n.op.Outputs) != 1 {
		return fmt.Sprintf("%s needs 1 output, has %d", n.name(), len(n.op.Outputs))
	}
	if n.runtimeIn() == 1 && len(n.op.Inputs) < 2 {
		return fmt.Sprintf("%s has no weights input", n.name())
	}
	return ""
}

// gpuStrides checks stride and dilation factors of convolutions (GPU and XNNPACK).
func gpuStrides(n *node) string {
	var sh, sw, dh, dw int32 = 1, 1, 1, 1
	switch o := n.op.Options.(type) {
	case *schema.Conv2DOptionsT:
		sh, sw, dh, dw = o.StrideH, o.StrideW, o.DilationHFactor, o.DilationWFactor
	case *schema.DepthwiseConv2DOptionsT:
		sh, sw, dh, dw = o.StrideH, o.StrideW, o.DilationHFactor, o.DilationWFactor
	case *schema.TransposeConvOptionsT:
		sh, sw = o.StrideH, o.StrideW
	}
	if sh <= 0 || sw <= 0 {
		return fmt.Sprintf("invalid strides %dx%d", sh, sw)
	}
	if dh <= 0 || dw <= 0 {
		return fmt.Sprintf("invalid dilation %dx%d", dh, dw)
	}
	return ""
}

func gpuDepthwise(n *node) string {
	o, _ := n.op.Options.(*schema.DepthwiseConv2DOptionsT)
	in, filter, out := n.in(0), n.in(1), n.out(0)
	if in == nil || filter == nil || out == nil {
		return "DEPTHWISE_CONV_2D needs input, filter and output"
	}
	for _, t := range []*tflite.Tensor{in, filter, out} {
		if len(t.Shape) != 4 {
			return fmt.Sprintf("DEPTHWISE_CONV_2D tensor %q has rank %d, needs 4", t.Name, len(t.Shape))
		}
	}
	mult := int32(1)
	if o != nil {
		mult = o.DepthMultiplier
	}
	inC, outC := in.Shape[3], out.Shape[3]
	switch {
	case in.Shape[0] != out.Shape[0]:
		return "DEPTHWISE_CONV_2D input and output batch differ"
	case filter.Shape[3] != outC:
		return "DEPTHWISE_CONV_2D filter channels differ from output channels"
	case outC != inC*int(mult):
		return "DEPTHWISE_CONV_2D output channels != input channels × depth_multiplier"
	case mult != 1 && inC != 1:
		return fmt.Sprintf("DEPTHWISE_CONV_2D depth_multiplier %d with %d input channels (needs 1)", mult, inC)
	}
	return ""
}

func gpuFullyConnected(n *node) string {
	if n.in(0) == nil || n.out(0) == nil {
		return "FULLY_CONNECTED without input or output"
	}
	if o, ok := n.op.Options.(*schema.FullyConnectedOptionsT); ok {
		if o.WeightsFormat != schema.FullyConnectedOptionsWeightsFormatDEFAULT {
			return "FULLY_CONNECTED weights format " + o.WeightsFormat.String()
		}
		if o.KeepNumDims && len(n.in(0).Shape) != len(n.out(0).Shape) {
			return "FULLY_CONNECTED keep_num_dims with input and output ranks that differ"
		}
	}
	if n.runtimeIn() > 2 {
		return "FULLY_CONNECTED with more than 2 run-time inputs"
	}
	if n.static(0) {
		return "FULLY_CONNECTED with a constant input"
	}
	return ""
}

// gpuBatchMatMul: the delegate builds a batched matmul from two run-time
// inputs, or a 1×1 convolution from a run-time input and a constant 2-D one.
func gpuBatchMatMul(n *node) string {
	if !n.exactly(2) || len(n.op.Outputs) != 1 {
		return "BATCH_MATMUL needs 2 inputs and 1 output"
	}
	switch r := n.runtimeIn(); {
	case r == 2:
		return ""
	case r == 1 && n.static(1) && len(n.in(1).Shape) == 2:
		return ""
	}
	return "BATCH_MATMUL needs two run-time inputs or a constant 2-D second input"
}

func gpuCast(n *node) string {
	if r := gpuIO(1, 1)(n); r != "" {
		return r
	}
	if n.in(0) == nil {
		return "CAST without input"
	}
	in, out := n.in(0).Type, n.out(0).Type
	isF := func(d tflite.DType) bool { return d == tflite.Float32 || d == tflite.Float16 }
	switch {
	case in == tflite.Bool && isF(out), isF(in) && out == tflite.Bool:
	case (in == tflite.Float32 || in == tflite.Int32) && (out == tflite.Float32 || out == tflite.Int32):
	default:
		return fmt.Sprintf("CAST from %s to %s", in, out)
	}
	return ""
}

func gpuCumsum(n *node) string {
	if !n.exactly(2) {
		return "CUMSUM needs 2 inputs"
	}
	in, out, axis := n.in(0), n.out(0), n.in(1)
	if (in.Type != tflite.Float32 && in.Type != tflite.Float16) || out == nil || out.Type != in.Type {
		return "CUMSUM input and output must be float"
	}
	if axis.Type != tflite.Int32 || !n.static(1) {
		return "CUMSUM axis must be a constant INT32"
	}
	return ""
}

func gpuDequantize(n *node) string {
	if !n.exactly(1) || len(n.op.Outputs) != 1 {
		return "DEQUANTIZE needs 1 input and 1 output"
	}
	if n.in(0).Type == tflite.Int16 {
		return "DEQUANTIZE of INT16"
	}
	return ""
}

func gpuLSTM(n *node) string {
	o, ok := n.op.Options.(*schema.LSTMOptionsT)
	if !ok {
		return "LSTM without options"
	}
	act := o.FusedActivationFunction
	if o.KernelType == schema.LSTMKernelTypeBASIC {
		if r := gpuConstIO(3, 2, 4)(n); r != "" {
			return r
		}
		if act != schema.ActivationFunctionTypeTANH {
			return "basic LSTM with activation " + activationName(act)
		}
		if o.CellClip != 0 || o.ProjClip != 0 {
			return "basic LSTM with cell_clip or proj_clip"
		}
		return ""
	}
	if k := len(n.op.Inputs); k != 20 && k != 24 {
		return fmt.Sprintf("LSTM needs 20 or 24 inputs, has %d", k)
	}
	if len(n.op.Outputs) != 1 {
		return fmt.Sprintf("LSTM needs 1 output, has %d", len(n.op.Outputs))
	}
	if act != schema.ActivationFunctionTypeTANH {
		return "LSTM with activation " + activationName(act) + " (needs TANH or SIGMOID)"
	}
	return ""
}

func gpuPad(n *node) string {
	if r := gpuIO(1, 1)(n); r != "" {
		return r
	}
	p := n.in(1)
	if p == nil {
		return n.name() + " without paddings"
	}
	if len(p.Shape) != 2 || (p.Shape[0] != 3 && p.Shape[0] != 4) || p.Shape[1] != 2 {
		return fmt.Sprintf("%s paddings of shape %s (needs [4,2] or [3,2])", n.name(), shapeStr(p.Shape))
	}
	return ""
}

func gpuMirrorMode(n *node) string {
	if o, ok := n.op.Options.(*schema.MirrorPadOptionsT); ok && o.Mode != schema.MirrorPadModeREFLECT {
		return "MIRROR_PAD mode " + o.Mode.String() + " (only REFLECT)"
	}
	return ""
}

func gpuOneHot(n *node) string {
	if !n.exactly(4) {
		return "ONE_HOT needs 4 inputs"
	}
	if n.in(0).Type != tflite.Int32 {
		return "ONE_HOT indices must be INT32"
	}
	for k := 2; k <= 3; k++ {
		t := n.in(k)
		if t.Type != tflite.Float32 || !n.static(k) || tflite.NumElements(t.Shape) != 1 {
			return "ONE_HOT on/off values must be constant FLOAT32 scalars"
		}
	}
	return ""
}

func gpuSelectV2(n *node) string {
	if !n.exactly(3) || len(n.op.Outputs) != 1 {
		return "SELECT_V2 needs 3 inputs and 1 output"
	}
	c := n.in(0).Type
	if c != tflite.Bool && c != tflite.Float32 && c != tflite.Float16 {
		return "SELECT_V2 condition must be BOOL or float"
	}
	return ""
}

func gpuSlice(n *node) string {
	if n.in(0) == nil || n.numIn() < 3 {
		return "SLICE needs 3 inputs"
	}
	if r := len(n.in(0).Shape); r != 3 && r != 4 {
		return fmt.Sprintf("SLICE of a rank %d tensor (needs 3 or 4)", r)
	}
	return ""
}

func gpuStridedSlice(n *node) string {
	if o, ok := n.op.Options.(*schema.StridedSliceOptionsT); ok {
		switch {
		case o.EllipsisMask != 0:
			return "STRIDED_SLICE with ellipsis_mask"
		case o.NewAxisMask != 0:
			return "STRIDED_SLICE with new_axis_mask"
		case o.ShrinkAxisMask != 0:
			return "STRIDED_SLICE with shrink_axis_mask"
		}
	}
	if n.in(0) == nil || n.numIn() < 4 {
		return "STRIDED_SLICE needs 4 inputs"
	}
	if r := len(n.in(0).Shape); r != 3 && r != 4 {
		return fmt.Sprintf("STRIDED_SLICE of a rank %d tensor (needs 3 or 4)", r)
	}
	return ""
}

// Checks shared by both delegates.

// axesConstInt32: reductions need their axes (input 1) as a constant INT32 tensor.
func axesConstInt32(n *node) string {
	a := n.in(1)
	if a == nil {
		return n.name() + " without axes"
	}
	if !n.static(1) {
		return n.name() + " axes are not constant"
	}
	if a.Type != tflite.Int32 {
		return fmt.Sprintf("%s axes are %s (needs INT32)", n.name(), a.Type)
	}
	return ""
}

func resizeFlags(n *node) string {
	if o, ok := n.op.Options.(*schema.ResizeBilinearOptionsT); ok && o.AlignCorners && o.HalfPixelCenters {
		return "RESIZE_BILINEAR with align_corners and half_pixel_centers both set"
	}
	return ""
}

func softmaxBeta(n *node) string {
	if o, ok := n.op.Options.(*schema.SoftmaxOptionsT); ok && o.Beta != 1 {
		return fmt.Sprintf("SOFTMAX beta %g (only 1)", o.Beta)
	}
	return ""
}

func blockSize(n *node) string {
	var b int32 = 0
	switch o := n.op.Options.(type) {
	case *schema.DepthToSpaceOptionsT:
		b = o.BlockSize
	case *schema.SpaceToDepthOptionsT:
		b = o.BlockSize
	}
	if b <= 1 {
		return fmt.Sprintf("%s block_size %d (needs > 1)", n.name(), b)
	}
	return ""
}

// ---------------------------------------------------------------------------
// XNNPACK delegate (default flags: QS8 and QU8 enabled; dynamic fully
// connected, variable operators and forced FP16 off).

// xnnClass is the set of element types an operator accepts for its data
// tensors: FLOAT32 always; INT8 (QS8) and UINT8 (QU8) only with per-tensor
// affine quantization.
type xnnClass int

const (
	xF32    xnnClass = iota // FLOAT32 only
	xF32QS8                 // FLOAT32 or QS8
	xF32Q8                  // FLOAT32, QS8 or QU8
	xCustom                 // the rule's check does all type checks
)

// xnnRule is how XNNPACK treats one operator type. data lists the inputs
// that carry data (checked against class and for mixed types); nil means all
// inputs. Outputs are always checked against class.
type xnnRule struct {
	class xnnClass
	data  []int
	check checkFn
}

const xnnMaxRank = 6 // XNN_MAX_TENSOR_DIMS

var xnnActivations = activations{
	schema.ActivationFunctionTypeNONE:         true,
	schema.ActivationFunctionTypeRELU:         true,
	schema.ActivationFunctionTypeRELU_N1_TO_1: true,
	schema.ActivationFunctionTypeRELU6:        true,
}

var (
	first  = []int{0}
	second = []int{1}
	third  = []int{2}
)

var xnnOps = map[schema.BuiltinOperator]xnnRule{
	// Unary.
	schema.BuiltinOperatorABS:          {class: xF32},
	schema.BuiltinOperatorCEIL:         {class: xF32},
	schema.BuiltinOperatorCOS:          {class: xF32},
	schema.BuiltinOperatorDEQUANTIZE:   {class: xCustom, check: xnnDequantize},
	schema.BuiltinOperatorDENSIFY:      {class: xCustom, check: xnnDensify},
	schema.BuiltinOperatorELU:          {class: xF32QS8},
	schema.BuiltinOperatorEXP:          {class: xF32},
	schema.BuiltinOperatorFLOOR:        {class: xF32},
	schema.BuiltinOperatorGELU:         {class: xF32},
	schema.BuiltinOperatorHARD_SWISH:   {class: xF32},
	schema.BuiltinOperatorLEAKY_RELU:   {class: xF32Q8, check: xnnLeakyRelu},
	schema.BuiltinOperatorLOG:          {class: xF32},
	schema.BuiltinOperatorLOGISTIC:     {class: xF32Q8},
	schema.BuiltinOperatorNEG:          {class: xF32},
	schema.BuiltinOperatorQUANTIZE:     {class: xCustom, check: xnnQuantize},
	schema.BuiltinOperatorRELU:         {class: xF32},
	schema.BuiltinOperatorRELU6:        {class: xF32},
	schema.BuiltinOperatorRELU_N1_TO_1: {class: xF32},
	schema.BuiltinOperatorROUND:        {class: xF32},
	schema.BuiltinOperatorRSQRT:        {class: xF32},
	schema.BuiltinOperatorSIN:          {class: xF32},
	schema.BuiltinOperatorSQRT:         {class: xF32},
	schema.BuiltinOperatorSQUARE:       {class: xF32},
	schema.BuiltinOperatorTANH:         {class: xF32Q8},
	// Binary.
	schema.BuiltinOperatorADD:                {class: xF32Q8, check: all(xnnNumIO(2, 2, 1), xnnScale(1.0/1024, 256, false))},
	schema.BuiltinOperatorSUB:                {class: xF32Q8, check: all(xnnNumIO(2, 2, 1), xnnScale(1.0/1024, 256, false))},
	schema.BuiltinOperatorMUL:                {class: xF32Q8, check: all(xnnNumIO(2, 2, 1), xnnScale(1.0/65536, 256, true))},
	schema.BuiltinOperatorDIV:                {class: xF32, check: xnnNumIO(2, 2, 1)},
	schema.BuiltinOperatorMAXIMUM:            {class: xF32, check: xnnNumIO(2, 2, 1)},
	schema.BuiltinOperatorMINIMUM:            {class: xF32, check: xnnNumIO(2, 2, 1)},
	schema.BuiltinOperatorSQUARED_DIFFERENCE: {class: xF32, check: xnnNumIO(2, 2, 1)},
	schema.BuiltinOperatorPRELU:              {class: xF32, check: all(xnnNumIO(2, 2, 1), xnnStatic(1, "slope"))},
	// Others.
	schema.BuiltinOperatorAVERAGE_POOL_2D:   {class: xF32, check: all(xnnNumIO(1, 1, 1), xnnRank4(0), xnnPool)},
	schema.BuiltinOperatorMAX_POOL_2D:       {class: xF32Q8, check: all(xnnNumIO(1, 1, 1), xnnRank4(0), xnnPool)},
	schema.BuiltinOperatorBATCH_MATMUL:      {class: xF32Q8, data: first, check: xnnBatchMatMul},
	schema.BuiltinOperatorCONCATENATION:     {class: xF32Q8, check: xnnConcat},
	schema.BuiltinOperatorCONV_2D:           {class: xF32Q8, data: first, check: all(xnnNumIO(3, 3, 1), xnnRank4(0), gpuStrides, xnnWeights(0, "CONV_2D"))},
	schema.BuiltinOperatorDEPTHWISE_CONV_2D: {class: xF32Q8, data: first, check: all(xnnNumIO(3, 3, 1), xnnRank4(0), gpuStrides, xnnWeights(3, "DEPTHWISE_CONV_2D"))},
	schema.BuiltinOperatorDEPTH_TO_SPACE:    {class: xF32Q8, check: all(xnnNumIO(1, 1, 1), xnnRank4(0), blockSize)},
	schema.BuiltinOperatorFULLY_CONNECTED:   {class: xF32Q8, data: first, check: xnnFullyConnected},
	schema.BuiltinOperatorMEAN:              {class: xF32Q8, data: first, check: all(xnnNumIO(2, 2, 1), axesConstInt32)},
	schema.BuiltinOperatorSUM:               {class: xF32Q8, data: first, check: all(xnnNumIO(2, 2, 1), axesConstInt32)},
	schema.BuiltinOperatorREDUCE_MAX:        {class: xF32Q8, data: first, check: all(xnnNumIO(2, 2, 1), axesConstInt32)},
	schema.BuiltinOperatorREDUCE_MIN:        {class: xF32Q8, data: first, check: all(xnnNumIO(2, 2, 1), axesConstInt32)},
	schema.BuiltinOperatorPAD:               {class: xF32Q8, data: first, check: all(xnnNumIO(2, 2, 1), xnnPaddings)},
	schema.BuiltinOperatorRESHAPE:           {class: xF32Q8, data: first, check: xnnReshape},
	schema.BuiltinOperatorRESIZE_BILINEAR:   {class: xF32Q8, data: first, check: all(xnnNumIO(2, 2, 1), xnnRank4(0), xnnStaticInt32(1, "size"), resizeFlags)},
	schema.BuiltinOperatorSLICE:             {class: xF32Q8, data: first, check: all(xnnNumIO(3, 3, 1), xnnStatic(1, "begin"), xnnStatic(2, "size"))},
	schema.BuiltinOperatorSOFTMAX:           {class: xF32, check: all(xnnNumIO(1, 1, 1), softmaxBeta)},
	schema.BuiltinOperatorSPACE_TO_DEPTH:    {class: xF32Q8, check: all(xnnNumIO(1, 1, 1), xnnRank4(0), blockSize)},
	schema.BuiltinOperatorSPLIT:             {class: xF32Q8, data: second, check: xnnSplit},
	schema.BuiltinOperatorSTRIDED_SLICE:     {class: xF32Q8, data: first, check: xnnStridedSlice},
	schema.BuiltinOperatorTRANSPOSE:         {class: xF32Q8, data: first, check: all(xnnNumIO(2, 2, 1), xnnStatic(1, "perm"))},
	schema.BuiltinOperatorTRANSPOSE_CONV:    {class: xF32Q8, data: third, check: xnnTransposeConv},
}

// xnnOptionalBias is the one input position XNNPACK lets be omitted (-1).
var xnnOptionalBias = map[schema.BuiltinOperator]int{
	schema.BuiltinOperatorFULLY_CONNECTED:   2,
	schema.BuiltinOperatorCONV_2D:           2, // then rejected: "without bias"
	schema.BuiltinOperatorDEPTHWISE_CONV_2D: 2,
	schema.BuiltinOperatorTRANSPOSE_CONV:    3,
}

var xnnCustom = map[string]xnnRule{
	"Convolution2DTransposeBias":        {class: xF32, data: first, check: xnnRank4(0)},
	"MaxPoolingWithArgmax2D":            {class: xCustom, check: xnnF32Rank4(0)},
	"MaxUnpooling2D":                    {class: xCustom, check: xnnF32Rank4(0)},
	"odml.scaled_dot_product_attention": {class: xF32},
}

func checkXNNPACK(n *node) string {
	var rule xnnRule
	var ok bool
	if n.code() == schema.BuiltinOperatorCUSTOM {
		if rule, ok = xnnCustom[n.op.Code.Custom]; !ok {
			return fmt.Sprintf("custom op %q not supported by XNNPACK", n.op.Code.Custom)
		}
	} else if rule, ok = xnnOps[n.code()]; !ok {
		return fmt.Sprintf("op type %s not supported by XNNPACK", n.name())
	}
	for k, i := range n.op.Inputs {
		if bias, ok := xnnOptionalBias[n.code()]; i < 0 && (!ok || k != bias) {
			return fmt.Sprintf("%s with omitted input %d", n.name(), k)
		}
	}
	for _, side := range []struct {
		what string
		idx  []int
	}{{"input", n.op.Inputs}, {"output", n.op.Outputs}} {
		for _, i := range side.idx {
			if i >= 0 && len(n.g.sg.Tensors[i].Shape) > xnnMaxRank {
				t := n.g.sg.Tensors[i]
				return fmt.Sprintf("rank %d %s %q", len(t.Shape), side.what, t.Name)
			}
		}
	}
	if rule.class != xCustom {
		data := rule.data
		if data == nil {
			for k := range n.op.Inputs {
				data = append(data, k)
			}
		}
		var seen []*tflite.Tensor
		for _, k := range data {
			if t := n.in(k); t != nil {
				if r := xnnType(rule.class, t, "input"); r != "" {
					return r
				}
				seen = append(seen, t)
			}
		}
		for k := range n.op.Outputs {
			if t := n.out(k); t != nil {
				if r := xnnType(rule.class, t, "output"); r != "" {
					return r
				}
				seen = append(seen, t)
			}
		}
		if r := mixed(seen, len(seen)-len(n.op.Outputs)); len(seen) > 0 && r != "" {
			return r
		}
	}
	if a, has := n.activation(); has && !xnnActivations[a] {
		return "fused activation " + activationName(a)
	}
	if rule.check != nil {
		return rule.check(n)
	}
	return ""
}

// xnnType checks one data tensor against a type class.
func xnnType(c xnnClass, t *tflite.Tensor, what string) string {
	switch t.Type {
	case tflite.Float32:
		return ""
	case tflite.Int8:
		if c == xF32QS8 || c == xF32Q8 {
			return perTensor(t, what, -128, 127)
		}
	case tflite.UInt8:
		if c == xF32Q8 {
			return perTensor(t, what, 0, 255)
		}
	}
	allowed := map[xnnClass]string{xF32: "FLOAT32", xF32QS8: "FLOAT32 or quantized INT8", xF32Q8: "FLOAT32, quantized INT8 or UINT8"}[c]
	return fmt.Sprintf("%s %s %q (needs %s)", t.Type, what, t.Name, allowed)
}

// perTensor requires per-tensor affine quantization with a zero point in [lo, hi].
func perTensor(t *tflite.Tensor, what string, lo, hi int64) string {
	q := t.Quant
	switch {
	case q == nil || len(q.Scale) == 0:
		return fmt.Sprintf("%s %s %q has no quantization parameters", t.Type, what, t.Name)
	case len(q.Scale) != 1:
		return fmt.Sprintf("%s %s %q is quantized per channel (needs per-tensor)", t.Type, what, t.Name)
	case !(q.Scale[0] > 0) || math.IsInf(float64(q.Scale[0]), 0):
		return fmt.Sprintf("%s %s %q has scale %g", t.Type, what, t.Name, q.Scale[0])
	case len(q.ZeroPoint) > 0 && (q.ZeroPoint[0] < lo || q.ZeroPoint[0] > hi):
		return fmt.Sprintf("%s %s %q has zero point %d", t.Type, what, t.Name, q.ZeroPoint[0])
	}
	return ""
}

// mixed rejects operators whose data inputs and outputs differ in type;
// ts holds nIn inputs followed by the outputs.
func mixed(ts []*tflite.Tensor, nIn int) string {
	for _, t := range ts[1:] {
		if t.Type != ts[0].Type {
			var in, out []string
			for i, t := range ts {
				if i < nIn {
					in = append(in, t.Type.String())
				} else {
					out = append(out, t.Type.String())
				}
			}
			return fmt.Sprintf("mixed types %s -> %s", strings.Join(in, ", "), strings.Join(out, ", "))
		}
	}
	return ""
}

func xnnNumIO(minIn, maxIn, outputs int) checkFn {
	return func(n *node) string {
		if k := len(n.op.Inputs); k < minIn || k > maxIn {
			want := fmt.Sprint(minIn)
			if maxIn != minIn {
				want = fmt.Sprintf("%d to %d", minIn, maxIn)
			}
			return fmt.Sprintf("%s with %d inputs (needs %s)", n.name(), k, want)
		}
		if len(n.op.Outputs) != outputs {
			return fmt.Sprintf("%s with %d outputs (needs %d)", n.name(), len(n.op.Outputs), outputs)
		}
		return ""
	}
}

func xnnRank4(k int) checkFn {
	return func(n *node) string {
		for _, t := range []*tflite.Tensor{n.in(k), n.out(0)} {
			if t != nil && len(t.Shape) != 4 {
				return fmt.Sprintf("%s on a rank %d tensor %q (needs 4)", n.name(), len(t.Shape), t.Name)
			}
		}
		return ""
	}
}

func xnnF32Rank4(k int) checkFn {
	return func(n *node) string {
		if t := n.in(k); t == nil || t.Type != tflite.Float32 {
			return n.name() + " needs a FLOAT32 input"
		}
		return xnnRank4(k)(n)
	}
}

// xnnStatic requires input k to be known before inference (a constant).
func xnnStatic(k int, what string) checkFn {
	return func(n *node) string {
		if n.in(k) == nil {
			return fmt.Sprintf("%s without %s", n.name(), what)
		}
		if !n.static(k) {
			return fmt.Sprintf("%s %s is not constant", n.name(), what)
		}
		return ""
	}
}

func xnnStaticInt32(k int, what string) checkFn {
	return func(n *node) string {
		if r := xnnStatic(k, what)(n); r != "" {
			return r
		}
		if t := n.in(k); t.Type != tflite.Int32 {
			return fmt.Sprintf("%s %s is %s (needs INT32)", n.name(), what, t.Type)
		}
		return ""
	}
}

// xnnScale bounds the ratio of quantization scales of quantized ADD/SUB
// (each input's to the output's) and MUL (the inputs' product to the output's).
func xnnScale(lo, hi float64, product bool) checkFn {
	return func(n *node) string {
		a, b, out := n.in(0), n.in(1), n.out(0)
		if out.Type != tflite.Int8 && out.Type != tflite.UInt8 {
			return ""
		}
		s := func(t *tflite.Tensor) float64 { return float64(t.Quant.Scale[0]) }
		var ratios []float64
		if product {
			ratios = []float64{s(a) * s(b) / s(out)}
		} else {
			ratios = []float64{s(a) / s(out), s(b) / s(out)}
		}
		for _, r := range ratios {
			if r < lo || r >= hi {
				return fmt.Sprintf("%s input-to-output scale ratio %g outside [%g, %g)", n.name(), r, lo, hi)
			}
		}
		return ""
	}
}

// xnnWeights checks the filter (input 1) and bias (input 2) of a convolution
// or fully connected layer: constant, FLOAT32 or INT8 (per channel along
// qdim, zero points 0), matching the input's type unless the input is
// FLOAT32 and the filter INT8 (dynamic quantization).
func xnnWeights(qdim int, op string) checkFn {
	return func(n *node) string {
		f := n.in(1)
		if f == nil {
			return op + " without filter"
		}
		if !n.static(1) {
			return op + " filter is not constant"
		}
		in := n.in(0)
		switch f.Type {
		case tflite.Float32:
		case tflite.Int8:
			if f.Quant == nil || len(f.Quant.Scale) == 0 {
				return op + " INT8 filter has no quantization parameters"
			}
			if len(f.Quant.Scale) > 1 {
				if f.Quant.Dim != qdim {
					return fmt.Sprintf("%s filter quantized along dimension %d (needs %d)", op, f.Quant.Dim, qdim)
				}
				for _, z := range f.Quant.ZeroPoint {
					if z != 0 {
						return op + " per-channel filter with a non-zero zero point"
					}
				}
			}
		case tflite.UInt8:
			if r := perTensor(f, "filter", 0, 255); r != "" {
				return r
			}
		default:
			return fmt.Sprintf("%s filter is %s", op, f.Type)
		}
		if in != nil && f.Type != in.Type && !(in.Type == tflite.Float32 && f.Type == tflite.Int8) {
			return fmt.Sprintf("%s mixed input and filter types %s, %s", op, in.Type, f.Type)
		}
		if b := n.in(2); b != nil {
			if !n.static(2) {
				return op + " bias is not constant"
			}
			if b.Type != tflite.Float32 && b.Type != tflite.Int32 {
				return fmt.Sprintf("%s bias is %s", op, b.Type)
			}
		} else if op != "FULLY_CONNECTED" {
			return op + " without bias"
		}
		return ""
	}
}

func xnnFullyConnected(n *node) string {
	if n.op.Code.Version == 8 {
		return "FULLY_CONNECTED version 8 (sparse weights)"
	}
	if o, ok := n.op.Options.(*schema.FullyConnectedOptionsT); ok && o.WeightsFormat != schema.FullyConnectedOptionsWeightsFormatDEFAULT {
		return "FULLY_CONNECTED weights format " + o.WeightsFormat.String()
	}
	if r := xnnNumIO(2, 3, 1)(n); r != "" {
		return r
	}
	if f := n.in(1); f != nil && len(f.Shape) != 2 {
		return fmt.Sprintf("FULLY_CONNECTED filter of rank %d (needs 2)", len(f.Shape))
	}
	return xnnWeights(0, "FULLY_CONNECTED")(n)
}

func xnnTransposeConv(n *node) string {
	if r := xnnNumIO(3, 4, 1)(n); r != "" {
		return r
	}
	if r := xnnStaticInt32(0, "output shape")(n); r != "" {
		return r
	}
	if r := xnnRank4(2)(n); r != "" {
		return r
	}
	if r := gpuStrides(n); r != "" {
		return r
	}
	f := n.in(1)
	if f == nil || !n.static(1) {
		return "TRANSPOSE_CONV filter is not constant"
	}
	if f.Type != tflite.Float32 && f.Type != tflite.Int8 && f.Type != tflite.UInt8 {
		return "TRANSPOSE_CONV filter is " + f.Type.String()
	}
	if b := n.in(3); b != nil && !n.static(3) {
		return "TRANSPOSE_CONV bias is not constant"
	}
	return ""
}

func xnnBatchMatMul(n *node) string {
	if r := xnnNumIO(2, 2, 1)(n); r != "" {
		return r
	}
	a, b := n.in(0), n.in(1)
	for _, t := range []*tflite.Tensor{a, b} {
		if len(t.Shape) < 2 {
			return fmt.Sprintf("BATCH_MATMUL input %q of rank %d (needs at least 2)", t.Name, len(t.Shape))
		}
	}
	switch {
	case b.Type == a.Type && b.Type == tflite.Float32:
	case b.Type == tflite.Int8 && (a.Type == tflite.Float32 || a.Type == tflite.Int8):
		if b.Quant == nil || len(b.Quant.Scale) == 0 {
			return "BATCH_MATMUL INT8 second input has no quantization parameters"
		}
		if a.Type == tflite.Int8 && len(b.Quant.ZeroPoint) > 0 && b.Quant.ZeroPoint[0] != 0 {
			return "BATCH_MATMUL second input with a non-zero zero point"
		}
	case b.Type == a.Type && b.Type == tflite.UInt8:
		return perTensor(b, "input", 0, 255)
	default:
		return fmt.Sprintf("BATCH_MATMUL mixed input types %s, %s", a.Type, b.Type)
	}
	return ""
}

func xnnConcat(n *node) string {
	if r := xnnNumIO(2, 5, 1)(n); r != "" {
		return r
	}
	if o, ok := n.op.Options.(*schema.ConcatenationOptionsT); ok {
		for k := range n.op.Inputs {
			if t := n.in(k); t != nil && int(o.Axis) >= len(t.Shape) {
				return fmt.Sprintf("CONCATENATION along new axis %d", o.Axis)
			}
		}
	}
	return ""
}

func xnnSplit(n *node) string {
	if len(n.op.Inputs) != 2 {
		return "SPLIT needs 2 inputs"
	}
	if k := len(n.op.Outputs); k < 2 || k > 4 {
		return fmt.Sprintf("SPLIT into %d outputs (needs 2 to 4)", k)
	}
	return xnnStaticInt32(0, "split dimension")(n)
}

func xnnPaddings(n *node) string {
	if r := xnnStaticInt32(1, "paddings")(n); r != "" {
		return r
	}
	for _, p := range n.int32s(1) {
		if p < 0 {
			return "PAD with negative padding"
		}
	}
	return ""
}

func xnnReshape(n *node) string {
	if r := xnnNumIO(1, 2, 1)(n); r != "" {
		return r
	}
	if n.in(1) != nil {
		if r := xnnStaticInt32(1, "new shape")(n); r != "" {
			return r
		}
	}
	in, out := n.in(0), n.out(0)
	if in.Type == tflite.Int8 || in.Type == tflite.UInt8 {
		if in.Quant.Scale[0] != out.Quant.Scale[0] || zp(in) != zp(out) {
			return "RESHAPE changes the quantization parameters"
		}
	}
	return ""
}

func zp(t *tflite.Tensor) int64 {
	if t.Quant == nil || len(t.Quant.ZeroPoint) == 0 {
		return 0
	}
	return t.Quant.ZeroPoint[0]
}

func xnnStridedSlice(n *node) string {
	if r := xnnNumIO(4, 4, 1)(n); r != "" {
		return r
	}
	for k, what := range []string{1: "begin", 2: "end", 3: "strides"} {
		if k > 0 {
			if r := xnnStatic(k, what)(n); r != "" {
				return r
			}
		}
	}
	if o, ok := n.op.Options.(*schema.StridedSliceOptionsT); ok && (o.EllipsisMask != 0 || o.NewAxisMask != 0) {
		return "STRIDED_SLICE with ellipsis_mask or new_axis_mask"
	}
	return ""
}

func xnnPool(n *node) string {
	o, ok := n.op.Options.(*schema.Pool2DOptionsT)
	if !ok {
		return n.name() + " without options"
	}
	switch {
	case o.FilterHeight <= 0 || o.FilterWidth <= 0:
		return fmt.Sprintf("invalid filter %dx%d", o.FilterHeight, o.FilterWidth)
	case o.StrideH <= 0 || o.StrideW <= 0:
		return fmt.Sprintf("invalid strides %dx%d", o.StrideH, o.StrideW)
	case o.StrideH > o.FilterHeight || o.StrideW > o.FilterWidth:
		return fmt.Sprintf("%s strides %dx%d exceed the filter %dx%d", n.name(), o.StrideH, o.StrideW, o.FilterHeight, o.FilterWidth)
	case o.FilterHeight == 1 && o.FilterWidth == 1 && max(o.StrideH, o.StrideW) > 1:
		return fmt.Sprintf("%s with a 1x1 filter and strides %dx%d", n.name(), o.StrideH, o.StrideW)
	}
	return ""
}

func xnnLeakyRelu(n *node) string {
	if o, ok := n.op.Options.(*schema.LeakyReluOptionsT); ok {
		a := float64(o.Alpha)
		if a == 0 || math.IsNaN(a) || math.IsInf(a, 0) || math.Abs(a) < math.SmallestNonzeroFloat32*(1<<23) {
			return fmt.Sprintf("LEAKY_RELU alpha %g", o.Alpha)
		}
	}
	return ""
}

// xnnDequantize: FLOAT16 constants (float16-quantized weights, unpacked
// before inference) or per-tensor quantized INT8/UINT8 to FLOAT32.
func xnnDequantize(n *node) string {
	if r := xnnNumIO(1, 1, 1)(n); r != "" {
		return r
	}
	in, out := n.in(0), n.out(0)
	switch in.Type {
	case tflite.Float16:
		if !n.static(0) {
			return "DEQUANTIZE of a run-time FLOAT16 tensor (only FLOAT16 constants)"
		}
		return ""
	case tflite.Int8:
		if r := perTensor(in, "input", -128, 127); r != "" {
			return r
		}
	case tflite.UInt8:
		if r := perTensor(in, "input", 0, 255); r != "" {
			return r
		}
	default:
		return fmt.Sprintf("DEQUANTIZE of %s", in.Type)
	}
	if out.Type != tflite.Float32 {
		return fmt.Sprintf("DEQUANTIZE to %s", out.Type)
	}
	return ""
}

func xnnDensify(n *node) string {
	if !n.static(0) {
		return "DENSIFY of a run-time tensor"
	}
	return ""
}

// xnnQuantize: FLOAT32 to QS8/QU8, or requantization within one type with a
// scale ratio in [1/256, 128].
func xnnQuantize(n *node) string {
	if r := xnnNumIO(1, 1, 1)(n); r != "" {
		return r
	}
	in, out := n.in(0), n.out(0)
	if r := xnnType(xF32Q8, in, "input"); r != "" {
		return r
	}
	if r := xnnType(xF32Q8, out, "output"); r != "" {
		return r
	}
	switch {
	case in.Type == tflite.Float32 && out.Type != tflite.Float32:
		return ""
	case in.Type == out.Type && in.Type != tflite.Float32:
		ratio := float64(in.Quant.Scale[0]) / float64(out.Quant.Scale[0])
		if ratio < 1.0/256 || ratio > 128 {
			return fmt.Sprintf("QUANTIZE input-to-output scale ratio %g outside [1/256, 128]", ratio)
		}
		return ""
	}
	return fmt.Sprintf("QUANTIZE from %s to %s", in.Type, out.Type)
}
