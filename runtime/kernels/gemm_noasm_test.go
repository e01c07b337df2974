//go:build noasm || !(amd64 || arm64)

package kernels

// gemmTRawI8 returns the 4×n int32 products of the int8 kernel in use.
func gemmTRawI8(kp int, ap []int8, bp []int64, n int) []int32 {
	return gemmTRawI8Go(kp, ap, bp, n)
}
