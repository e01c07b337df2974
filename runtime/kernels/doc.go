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
// Quantized arithmetic follows the TFLite quantization specification and
// TFLite's reference kernels: int8 activations are asymmetric per tensor,
// weights symmetric per axis, biases int32 with scale input×weight, and
// rescaling uses TFLite's fixed-point multiplier (QuantizeMultiplier,
// MultiplyByQuantizedMultiplier) so results match TFLite bit for bit.
package kernels
