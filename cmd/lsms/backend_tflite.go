//go:build !notflite

package main

// The TFLite C library backends ("tflite", "tflite+xnnpack", "tflite+gpu"),
// loaded at run time with purego, so the binary runs where the library is
// missing. purego links the binary dynamically against the C library
// (libc.so.6 through /lib/ld-linux-*.so): `-tags notflite` leaves the
// backend out for a fully static binary.
import _ "github.com/lsms-edge/lsms/runtime/tflitec"
