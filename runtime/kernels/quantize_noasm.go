//go:build noasm || !amd64

package kernels

func quantizeF32(dst []int8, src []float32, scale float32, zp int32) {
	quantizeF32Go(dst, src, scale, zp)
}

func dequantizeI8(dst []float32, src []int8, scale float32, zp int32) {
	dequantizeI8Go(dst, src, scale, zp)
}

func requantizeXNNI8(dst, src []int8, inZP, mult, outZP int32) {
	requantizeXNNGo(dst, src, inZP, mult, outZP)
}
