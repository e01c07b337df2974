// Package profile reads board profiles: what a board runs the model with
// (backend, delegate and its options, threads, CPU fallback), which GPIO
// lines connect it to the scanner, its thermal limits, where its model
// bundle is, and where it listens for DICOM.
//
// Profiles are data (JSON, firmware/profiles/*.json). Parse and Load
// decode strictly (unknown fields, trailing data and wrong types are
// errors) and Validate every field; every problem is a *FieldError naming
// the field ("delegate.path", "thermal.throttle_threads") and wrapping
// ErrInvalid, and all of them are reported at once.
//
// A profile asks for a backend; the binary may not include it. Resolve
// picks the backend to run against the backends a build registers: the one
// asked for, "native" when it is missing and fallback_to_native is set, or
// an error. Args turns a profile into the flags of `lsms scp`.
package profile
