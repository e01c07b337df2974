// Package quant is post-training quantization of float32 TFLite models.
//
// Three modes rewrite a float model (tflite.Model) into a smaller one:
//
//   - Int8: full-integer quantization per the TFLite quantization
//     specification. Weights of CONV_2D and FULLY_CONNECTED are int8
//     symmetric per axis along dimension 0, DEPTHWISE_CONV_2D along
//     dimension 3; biases are int32 with scale input scale × weight scale
//     and zero point 0; activations are int8 asymmetric per tensor, their
//     ranges taken from a calibration run over sample inputs (Calibrate)
//     with a min/max, percentile or MSE-optimal estimator. SOFTMAX and
//     LOGISTIC outputs have the fixed parameters (1/256, −128), TANH
//     (1/128, 0); data-movement ops (RESHAPE, TRANSPOSE, RESIZE_BILINEAR,
//     PAD, GATHER, ...) keep their input's parameters and CONCATENATION
//     inputs are requantized to the output's, as TFLite's int8 kernels
//     require; ADD, SUB and SQUARED_DIFFERENCE outputs are widened where
//     TFLite's kernels need a rescaling multiplier below one. Ops without
//     an int8 kernel in TFLite (DIV, SQRT) and the ops computing a DIV's
//     denominator (int8 would round small denominators to zero), ops named
//     in Options.FloatOps and the Options.AutoFloat most sensitive ops (a
//     one-op-at-a-time search, Sensitivity) stay float32 between
//     DEQUANTIZE and QUANTIZE; data-movement ops follow their input. Model
//     inputs and outputs stay float32 (QUANTIZE after a float input,
//     DEQUANTIZE before a float output, as TensorFlow's converter does
//     with float I/O); int32 inputs such as token ids stay int32. An op the
//     rewrite does not know is an error (ErrUnsupportedOp) naming it,
//     unless FloatOps keeps it float.
//   - Float16: float32 constants become float16 constants, each read
//     through a DEQUANTIZE at the start of the graph (what the TFLite GPU
//     delegate prefers). Constants that float16 cannot hold (values that
//     would overflow, or change by more than 2^-10 of the tensor's largest
//     magnitude, such as a LayerNorm epsilon of 1e-12 that underflows)
//     stay float32.
//   - Dynamic: weights int8 and activations float. Our runtime has no
//     hybrid kernels, so this is int8 weight constants (per axis, as in
//     Int8; other constants of at least DynamicMinElements values per row)
//     each read through a DEQUANTIZE to float32: the size of int8 weights,
//     float arithmetic, runnable by any TFLite runtime. Our interpreter
//     dequantizes (and repacks) those weights on every invoke.
//
// Calibration runs the float model with our interpreter (runtime/interp,
// linear planner, so every intermediate tensor can be read) and keeps each
// float32 tensor's extremes and, for the percentile and MSE estimators, a
// histogram that grows as values arrive (one pass). Inputs on which the
// float model's outputs are not finite are left out; Options.DropOutliers
// also leaves out the given fraction of inputs on which the activations are
// furthest above the typical input's (a second pass), for models that blow
// up on some inputs. A SOFTMAX input's range ends SoftmaxSpan below the
// smallest row maximum seen, so that masked logits (a −10⁴ bias) saturate
// instead of taking the resolution.
//
// Compare runs a float and a quantized model on the same inputs and reports
// the signal-to-quantization-noise ratio of every tensor both have (by
// name), the output SQNR per input, the worst layers and the model sizes
// (Report, with JSON tags and a Markdown renderer). Convert chains
// calibration, the sensitivity search, quantization and the comparison.
//
// Tensor names are kept: an int8 tensor has the name of the float tensor it
// replaces, so reports and debuggers can match them; tensors the rewrite
// adds carry a suffix ("/quant", "/dequant", "/requant", "/int8", "/fp16").
//
// The package knows nothing of any particular model.
package quant
