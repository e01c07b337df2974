//go:build noasm || !amd64

package kernels

// geluF32 is geluF32Go.
func geluF32(dst, src []float32) { geluF32Go(dst, src) }
