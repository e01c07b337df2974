// Package schema holds the Go bindings that flatc generates from the
// TensorFlow Lite flatbuffer schema (TensorFlow v2.18.0,
// tensorflow/compiler/mlir/lite/schema/schema.fbs). Every *_generated.go
// file is generator output: do not edit it, run go generate instead.
//
// Package tflite wraps these bindings in a validated, in-memory model; code
// outside tflite should not need this package.
package schema

//go:generate sh gen.sh
