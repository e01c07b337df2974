// Package kernels holds the operator implementations of the pure-Go
// interpreter.
//
// Each operator lives in its own file and registers a Kernel factory for
// its builtin code in init. A Kernel is created once per node (Init),
// checks types and shapes and precomputes what Eval needs in Prepare
// (quantized multipliers, output shapes, scratch sizes), and computes in
// Eval, which must not allocate. Reference kernels are pure functions on
// slices and shapes; optimized kernels are tested against them.
//
// Quantized arithmetic follows the TFLite quantization specification:
// int8 activations are asymmetric per tensor, weights symmetric per axis,
// biases int32 with scale input×weight. Rescaling is what LiteRT computes,
// bit for bit (the conformance tests run every kernel against LiteRT):
// where LiteRT hands an op to its XNNPACK delegate, XNNPACK's arithmetic
// (fp32 requantization for CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED
// with a bias, RequantizeFP32; x·(1/scale) for QUANTIZE; XNNPACK's ADD,
// MUL and RESIZE_BILINEAR forms), elsewhere TFLite's fixed-point
// multiplier (QuantizeMultiplier, MultiplyByQuantizedMultiplier), as for
// BATCH_MATMUL. Each kernel's file says which it follows and why.
package kernels
