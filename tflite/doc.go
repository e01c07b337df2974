// Package tflite reads, validates and writes TensorFlow Lite flatbuffer
// models (.tflite).
//
// A Model is an in-memory, validated copy of the flatbuffer: subgraphs of
// tensors and operators, constant buffers, signature defs and metadata.
// Read and Open (memory-mapped) check every index, size and shape before
// handing a Model out, so code that consumes a Model can index it without
// further bounds checks. A Model built in Go (see Builder) is serialised
// with Marshal or WriteFile, which validate it first.
//
// Builtin operator options are the flatc object-API types of package
// tflite/schema (for example *schema.Conv2DOptionsT); the union tag is
// derived from the Go type.
//
// The package knows nothing of any particular model.
package tflite
