//go:build amd64 && !noasm

#include "textflag.h"

// func transpose8x8F32(dst *uint32, dstStride int, src *uint32, srcStride int)
// dst[i*dstStride + j] = src[j*srcStride + i] for i, j < 8 (strides in
// bytes): eight rows loaded, transposed in registers (unpack lo/hi pairs,
// shuffle quads, swap 128-bit halves), eight rows stored.
TEXT ·transpose8x8F32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ dstStride+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ srcStride+24(FP), R9
	LEAQ (R9)(R9*2), R10 // 3·stride
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R9*1), Y1
	VMOVUPS (SI)(R9*2), Y2
	VMOVUPS (SI)(R10*1), Y3
	LEAQ (SI)(R9*4), SI
	VMOVUPS (SI), Y4
	VMOVUPS (SI)(R9*1), Y5
	VMOVUPS (SI)(R9*2), Y6
	VMOVUPS (SI)(R10*1), Y7
	// rows r0..r7 = [a0..a7] ... : pairs
	VUNPCKLPS Y1, Y0, Y8   // a0 b0 a1 b1 | a4 b4 a5 b5
	VUNPCKHPS Y1, Y0, Y9   // a2 b2 a3 b3 | a6 b6 a7 b7
	VUNPCKLPS Y3, Y2, Y10  // c0 d0 c1 d1 | c4 d4 c5 d5
	VUNPCKHPS Y3, Y2, Y11  // c2 d2 c3 d3 | c6 d6 c7 d7
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	// quads
	VSHUFPS $0x44, Y10, Y8, Y0  // a0 b0 c0 d0 | a4 b4 c4 d4
	VSHUFPS $0xEE, Y10, Y8, Y1  // a1 b1 c1 d1 | a5 b5 c5 d5
	VSHUFPS $0x44, Y11, Y9, Y2  // a2 b2 c2 d2 | a6 ...
	VSHUFPS $0xEE, Y11, Y9, Y3  // a3 ... | a7 ...
	VSHUFPS $0x44, Y14, Y12, Y4 // e0 f0 g0 h0 | e4 ...
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	// halves
	VPERM2F128 $0x20, Y4, Y0, Y8  // column 0
	VPERM2F128 $0x20, Y5, Y1, Y9  // column 1
	VPERM2F128 $0x20, Y6, Y2, Y10 // column 2
	VPERM2F128 $0x20, Y7, Y3, Y11 // column 3
	VPERM2F128 $0x31, Y4, Y0, Y12 // column 4
	VPERM2F128 $0x31, Y5, Y1, Y13 // column 5
	VPERM2F128 $0x31, Y6, Y2, Y14 // column 6
	VPERM2F128 $0x31, Y7, Y3, Y15 // column 7
	LEAQ (R8)(R8*2), R10
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R8*1)
	VMOVUPS Y10, (DI)(R8*2)
	VMOVUPS Y11, (DI)(R10*1)
	LEAQ (DI)(R8*4), DI
	VMOVUPS Y12, (DI)
	VMOVUPS Y13, (DI)(R8*1)
	VMOVUPS Y14, (DI)(R8*2)
	VMOVUPS Y15, (DI)(R10*1)
	VZEROUPPER
	RET
