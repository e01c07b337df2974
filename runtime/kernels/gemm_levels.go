//go:build (amd64 || arm64) && !noasm

package kernels

// gemmLevels lists the kernel levels this machine runs (tests).
func gemmLevels() []int {
	var ls []int
	for l := gemmLevelGo; l <= gemmCPULevel(); l++ {
		ls = append(ls, l)
	}
	return ls
}
