// Package conformance runs generated test graphs through the pure-Go
// interpreter and through LiteRT (TFLite in WebAssembly, driven by
// internal/litert) and compares the outputs. Tests of kernels build their
// cases with tflite.Builder and hand them to Run in one batch, so that one
// Node process serves all cases of a test.
//
// Float outputs must satisfy max|ours−LiteRT| ≤ RelTol × max|LiteRT|.
// Quantized graphs take float32 in through QUANTIZE and give float32 out
// through DEQUANTIZE (LiteRT.js tensors accept only float32, int32 and
// uint8); their outputs are compared in units of the output scale: never
// more than one unit apart, and one unit apart on at most MaxOffFrac of the
// elements over all cases of the batch (LiteRT runs int8 through XNNPACK,
// whose requantization rounds in float and may differ from TFLite's
// fixed-point reference by one).
package conformance
