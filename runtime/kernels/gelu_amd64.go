//go:build amd64 && !noasm

package kernels

// geluXNNAVX2 is geluXNN on n, a positive multiple of 8, elements (AVX2,
// no FMA: the Go twin's float32 operations in its order):
//
//	for i := range n {
//		dst[i] = geluXNN(src[i])
//	}
//
//go:noescape
func geluXNNAVX2(dst, src *float32, n int)

// geluF32 is geluF32Go with the AVX2 loop where the machine has it.
func geluF32(dst, src []float32) {
	n := len(src)
	dst = dst[:n]
	m := n &^ 7
	if cpuAVX2FMA && m > 0 {
		geluXNNAVX2(&dst[0], &src[0], m)
	} else {
		m = 0
	}
	geluF32Go(dst[m:], src[m:])
}
