// Package tflitec is the "tflite" backend: TensorFlow Lite's C library
// (libtensorflowlite_c), loaded at run time with dlopen through
// github.com/ebitengine/purego — no cgo — so that one static binary runs on
// a board with or without the library.
//
// Load finds and binds the library (Candidates lists where it looks;
// $LSMS_TFLITE_LIB overrides). Open prepares a Session for a model: the
// flatbuffer (backend.Options.Flatbuffer, such as a memory-mapped
// tflite.File's bytes, or else the model serialised again) is handed to
// TfLiteModelCreate without a copy and kept, pinned, until the session is
// closed, as the C API requires; the interpreter gets the thread count, an
// error reporter, optional cancellation and delegate fallback, and a
// delegate:
//
//   - XNNPACK (thread count, QS8/QU8, weight cache file);
//   - GPU V2 (from TfLiteGpuDelegateOptionsV2Default: inference preference,
//     priorities, quantized models, OpenCL or OpenGL only, serialization
//     directory and model token), whose sessions make every C call on one
//     goroutine locked to its OS thread, as the delegate requires;
//   - NNAPI (accelerator, CPU disallowed, fp16, cache), only in Android
//     builds of TFLite and deprecated upstream;
//   - External: a vendor's delegate plugin by path with key/value options.
//
// ParseDelegate builds one from a board profile's strings.
//
// Errors name what failed: the paths tried for a missing library, the
// symbol and library for a missing function, the C call, its TfLiteStatus
// and every message the library gave its error reporter meanwhile (the
// reporter is a C callback taking a va_list, formatted with the C
// library's vsnprintf). A missing library or delegate wraps ErrUnavailable;
// with Config.FallbackToNative, OpenWithFallback (and Backend.Open) then
// run the native backend instead and log a warning saying so.
//
// The package registers "tflite" (no delegate), "tflite+xnnpack" and
// "tflite+gpu" (and "tflite+nnapi" on Android) with runtime/backend;
// Register adds other configurations.
//
// The tests run against a shared library built from our own runtime with
// the same C API (internal/capi, go build -buildmode=c-shared), or, with
// $LSMS_TFLITE_LIB set, against a real libtensorflowlite_c.
package tflitec
