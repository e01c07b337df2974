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
//
// Assembly beside pure-Go twins, chosen at start-up by CPU features, the
// noasm build tag forcing the Go forms everywhere: on amd64 the GEMM
// (AVX2/FMA, AVX-512 zmm tiles, AVX512-VNNI int8), depthwise, element-wise,
// softmax, reduction, quantize and resize kernels (gemm_amd64.go says how
// they are chosen; LSMS_GEMM caps the level); on arm64 the GEMM
// micro-kernels (NEON float32 FMLA, int8 SDOT where the core has the
// dot-product extension; gemm_arm64.go) and the depthwise blocks (NEON
// FMLA and MLA; depthwise_arm64.go). Each assembly kernel's doc
// comment gives the Go loop it computes, and the tests compare the two
// (arm64 under qemu-aarch64, scripts/qemu-test.sh).
//
// Optional capabilities are found by type assertion: InPlacer (an output
// that is its input's bytes: the interpreter shares the buffer) and
// InputFuser (a kernel that absorbs the nodes producing its inputs).
package kernels
