//go:build noasm || !amd64

package kernels

// transposeBlocks32 does nothing without the vector kernel.
func transposeBlocks32(k *transpose, src, dst []uint32, ib, ob, i0, i1, j0, j1 int) (ie, je int) {
	return i0, j0
}
