//go:build (amd64 || arm64) && !noasm

package kernels

// dwCheckTaps panics (index out of range) unless p holds every tap of nblk
// blocks of dwSB outputs (offs in bytes of 4-byte elements, step in
// elements) and w the dwCB weights of every tap: the assembly reads both
// unchecked.
func dwCheckTaps[E any](p []E, offs []int, w []E, step, nblk int) {
	nt := len(offs)
	_ = p[offs[nt-1]/4+(nblk*dwSB-1)*step+dwCB-1]
	_ = w[nt*dwCB-1]
}

// dwCheckOut panics unless out holds the nblk·dwSB output rows of dwCB
// channels, ostride elements apart.
func dwCheckOut[O any](out []O, ostride, nblk int) {
	_ = out[(nblk*dwSB-1)*ostride+dwCB-1]
}
