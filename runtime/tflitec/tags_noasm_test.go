//go:build noasm

package tflitec

// buildTags are the tags the c-shared test library is built with: those
// of this test binary, so that both sides run the same kernels.
const buildTags = "noasm"
