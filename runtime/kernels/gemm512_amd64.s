//go:build amd64 && !noasm

#include "textflag.h"
#include "gemm_loops_amd64.h"

// float32 GEMM micro-kernels on zmm registers (AVX512F + AVX512DQ), for
// CPUs whose 512-bit FMA runs at twice the 256-bit rate (Zen 5 measured
// here: 256 vs 128 GFLOP/s per core). The B panels keep their 8-column
// layout: a zmm holds two panels at the same k (the low half from panel
// 2j, the high half inserted from panel 2j+1), so every output lane sums
// its k in the same order with the same FMAs as the ymm kernels, and the
// results are bit for bit theirs. gemm_amd64.go documents the Go loop.
//
// AX: a, R9: rs, R12: 3·rs, R11: ks, BX: b, R8: bs, R13: 3·bs, R10: 5·bs,
// CX: k. Accumulators Z0..Z11 (row i, zmm j in Z(3i+j) for 48 columns,
// Z(2i+j) for 32); Z12..Z14 hold B, Z15..Z18 the broadcasts of A, Z19 the
// int8 kernels' 0x80 bytes.

#define Z_PROLOGUE \
	MOVQ k+0(FP), CX; \
	MOVQ a+8(FP), AX; \
	MOVQ rs+16(FP), R9; \
	LEAQ (R9)(R9*2), R12; \
	MOVQ ks+24(FP), R11; \
	MOVQ b+32(FP), BX; \
	MOVQ bs+40(FP), R8; \
	LEAQ (R8)(R8*2), R13; \
	LEAQ (R8)(R8*4), R10

// B at byte offset bo: panels 0–3 into Z12, Z13 (Z_B32), 4–5 into Z14 too
// (Z_B48); each zmm is a panel with the next one inserted above it (a
// plain data move, for float32 and int8 alike).
#define Z_B32(bo) \
	VMOVUPS bo(BX), Y12; \
	VINSERTF32X8 $1, bo(BX)(R8*1), Z12, Z12; \
	VMOVUPS bo(BX)(R8*2), Y13; \
	VINSERTF32X8 $1, bo(BX)(R13*1), Z13, Z13

#define Z_B48(bo) \
	Z_B32(bo); \
	VMOVUPS bo(BX)(R8*4), Y14; \
	VINSERTF32X8 $1, bo(BX)(R10*1), Z14, Z14

// The four rows' A at (AX): broadcast floats (Z_AF) or int8 quads made
// uint8 (Z_AI, XOR the 0x80 bytes in Z19) into Z15..Z18.
#define Z_AF \
	VBROADCASTSS (AX), Z15; \
	VBROADCASTSS (AX)(R9*1), Z16; \
	VBROADCASTSS (AX)(R9*2), Z17; \
	VBROADCASTSS (AX)(R12*1), Z18

#define Z_AI \
	VPBROADCASTD (AX), Z15; \
	VPBROADCASTD (AX)(R9*1), Z16; \
	VPBROADCASTD (AX)(R9*2), Z17; \
	VPBROADCASTD (AX)(R12*1), Z18; \
	VPXORD Z19, Z15, Z15; \
	VPXORD Z19, Z16, Z16; \
	VPXORD Z19, Z17, Z17; \
	VPXORD Z19, Z18, Z18

// Row i (A in Z15+i) times the B registers into its accumulators: OP is
// VFMADD231PS or VPDPBUSD.
#define Z_MAC48(OP) \
	OP Z12, Z15, Z0; \
	OP Z13, Z15, Z1; \
	OP Z14, Z15, Z2; \
	OP Z12, Z16, Z3; \
	OP Z13, Z16, Z4; \
	OP Z14, Z16, Z5; \
	OP Z12, Z17, Z6; \
	OP Z13, Z17, Z7; \
	OP Z14, Z17, Z8; \
	OP Z12, Z18, Z9; \
	OP Z13, Z18, Z10; \
	OP Z14, Z18, Z11

#define Z_MAC32(OP) \
	OP Z12, Z15, Z0; \
	OP Z13, Z15, Z1; \
	OP Z12, Z16, Z2; \
	OP Z13, Z16, Z3; \
	OP Z12, Z17, Z4; \
	OP Z13, Z17, Z5; \
	OP Z12, Z18, Z6; \
	OP Z13, Z18, Z7

#define Z_STEP48(bo) Z_B48(bo); Z_AF; Z_MAC48(VFMADD231PS); ADDQ R11, AX
#define Z_STEP32(bo) Z_B32(bo); Z_AF; Z_MAC32(VFMADD231PS); ADDQ R11, AX
#define ZI8_STEP48(bo) Z_B48(bo); Z_AI; Z_MAC48(VPDPBUSD); ADDQ R11, AX
#define ZI8_STEP32(bo) Z_B32(bo); Z_AI; Z_MAC32(VPDPBUSD); ADDQ R11, AX

// Epilogue: DI: c, SI: ldc, DX: bias (nil: none), K1: the lanes of the
// last zmm of a row to load and store; Z14 = lo, Z15 = hi.
#define Z_EPI_INIT \
	MOVQ c+48(FP), DI; \
	MOVQ ldc+56(FP), SI; \
	MOVQ bias+64(FP), DX; \
	MOVQ mask+72(FP), R10; \
	KMOVW R10, K1

#define Z_CLAMP_INIT \
	VBROADCASTSS lo+80(FP), Z14; \
	VBROADCASTSS hi+84(FP), Z15

// max(lo, v) then min(hi, v), keeping v when it is NaN (as ClampF32), then
// store (Z_CSM: under K1).
#define Z_CS(r, off) \
	VMAXPS r, Z14, r; \
	VMINPS r, Z15, r; \
	VMOVUPS r, off(DI)

#define Z_CSM(r, off) \
	VMAXPS r, Z14, r; \
	VMINPS r, Z15, r; \
	VMOVUPS r, K1, off(DI)

// ---- int8, AVX512-VNNI on zmm ------------------------------------------
//
// As the ymm VNNI kernels (gemm_amd64.s), a zmm holding two quad panels at
// the same group of four k. Integer sums: the same values as the ymm
// kernels in any order. AX: a, R9: rs, R12: 3·rs, R11: ks, BX: b, R8: panel
// stride, R13: 3·stride, R10: 5·stride, CX: groups of four k; Z19 = 0x80
// bytes. The tile is written as 4×24 halves (row stride 24 int32, the
// second half 384 bytes on) for the ymm output stages: columns 0–23 in
// the first, 24–47 in the second.

#define ZI8_PROLOGUE \
	MOVQ kq+0(FP), CX; \
	MOVQ a+8(FP), AX; \
	MOVQ rs+16(FP), R9; \
	LEAQ (R9)(R9*2), R12; \
	MOVQ ks+24(FP), R11; \
	MOVQ b+32(FP), BX; \
	MOVQ bs+40(FP), R8; \
	LEAQ (R8)(R8*2), R13; \
	LEAQ (R8)(R8*4), R10; \
	MOVL $0x80808080, DX; \
	VPBROADCASTD DX, Z19

// Store zmm r (columns c..c+15 of a row) as two ymm halves at lo(DI) and
// hi(DI).
#define ZI8_ST(r, y, lo, hi) \
	VMOVDQU y, lo(DI); \
	VEXTRACTI32X8 $1, r, hi(DI)

// func gemmF32Z48(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask uint64, lo, hi float32)
TEXT ·gemmF32Z48(SB), NOSPLIT, $0-88
	Z_PROLOGUE
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	F32_LOOP(Z_STEP48, z48loop4, z48tail, z48loop1, z48done)
	Z_EPI_INIT
	TESTQ DX, DX
	JZ z48nobias
	VMOVUPS (DX), Z12
	VMOVUPS 64(DX), Z13
	VMOVUPS.Z 128(DX), K1, Z14
	VADDPS Z12, Z0, Z0
	VADDPS Z13, Z1, Z1
	VADDPS Z14, Z2, Z2
	VADDPS Z12, Z3, Z3
	VADDPS Z13, Z4, Z4
	VADDPS Z14, Z5, Z5
	VADDPS Z12, Z6, Z6
	VADDPS Z13, Z7, Z7
	VADDPS Z14, Z8, Z8
	VADDPS Z12, Z9, Z9
	VADDPS Z13, Z10, Z10
	VADDPS Z14, Z11, Z11

z48nobias:
	Z_CLAMP_INIT
	Z_CS(Z0, 0)
	Z_CS(Z1, 64)
	Z_CSM(Z2, 128)
	ADDQ SI, DI
	Z_CS(Z3, 0)
	Z_CS(Z4, 64)
	Z_CSM(Z5, 128)
	ADDQ SI, DI
	Z_CS(Z6, 0)
	Z_CS(Z7, 64)
	Z_CSM(Z8, 128)
	ADDQ SI, DI
	Z_CS(Z9, 0)
	Z_CS(Z10, 64)
	Z_CSM(Z11, 128)
	VZEROUPPER
	RET

// func gemmF32Z32(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask uint64, lo, hi float32)
TEXT ·gemmF32Z32(SB), NOSPLIT, $0-88
	Z_PROLOGUE
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	F32_LOOP(Z_STEP32, z32loop4, z32tail, z32loop1, z32done)
	Z_EPI_INIT
	TESTQ DX, DX
	JZ z32nobias
	VMOVUPS (DX), Z12
	VMOVUPS.Z 64(DX), K1, Z13
	VADDPS Z12, Z0, Z0
	VADDPS Z13, Z1, Z1
	VADDPS Z12, Z2, Z2
	VADDPS Z13, Z3, Z3
	VADDPS Z12, Z4, Z4
	VADDPS Z13, Z5, Z5
	VADDPS Z12, Z6, Z6
	VADDPS Z13, Z7, Z7

z32nobias:
	Z_CLAMP_INIT
	Z_CS(Z0, 0)
	Z_CSM(Z1, 64)
	ADDQ SI, DI
	Z_CS(Z2, 0)
	Z_CSM(Z3, 64)
	ADDQ SI, DI
	Z_CS(Z4, 0)
	Z_CSM(Z5, 64)
	ADDQ SI, DI
	Z_CS(Z6, 0)
	Z_CSM(Z7, 64)
	VZEROUPPER
	RET

// func gemmI8Z48VNNI(kq int, a *int8, rs, ks int, b *int64, bs int, c *int32)
TEXT ·gemmI8Z48VNNI(SB), NOSPLIT, $0-56
	ZI8_PROLOGUE
	// accumulators start from the column terms (each panel's first 32 bytes)
	VMOVDQU (BX), Y0
	VINSERTI32X8 $1, (BX)(R8*1), Z0, Z0
	VMOVDQU (BX)(R8*2), Y1
	VINSERTI32X8 $1, (BX)(R13*1), Z1, Z1
	VMOVDQU (BX)(R8*4), Y2
	VINSERTI32X8 $1, (BX)(R10*1), Z2, Z2
	VMOVDQA64 Z0, Z3
	VMOVDQA64 Z1, Z4
	VMOVDQA64 Z2, Z5
	VMOVDQA64 Z0, Z6
	VMOVDQA64 Z1, Z7
	VMOVDQA64 Z2, Z8
	VMOVDQA64 Z0, Z9
	VMOVDQA64 Z1, Z10
	VMOVDQA64 Z2, Z11
	ADDQ $32, BX
	I8_LOOP(ZI8_STEP48, zq48loop2, zq48tail, zq48done)
	MOVQ c+48(FP), DI
	// row i: columns 0–15 in Z(3i), 16–31 in Z(3i+1), 32–47 in Z(3i+2);
	// 0–23 go to the first half at 96i, 24–47 to the second at 384+96i
	VMOVDQU32 Z0, 0(DI)
	ZI8_ST(Z1, Y1, 64, 384)
	VMOVDQU32 Z2, 416(DI)
	VMOVDQU32 Z3, 96(DI)
	ZI8_ST(Z4, Y4, 160, 480)
	VMOVDQU32 Z5, 512(DI)
	VMOVDQU32 Z6, 192(DI)
	ZI8_ST(Z7, Y7, 256, 576)
	VMOVDQU32 Z8, 608(DI)
	VMOVDQU32 Z9, 288(DI)
	ZI8_ST(Z10, Y10, 352, 672)
	VMOVDQU32 Z11, 704(DI)
	VZEROUPPER
	RET

// func gemmI8Z32VNNI(kq int, a *int8, rs, ks int, b *int64, bs int, c *int32)
TEXT ·gemmI8Z32VNNI(SB), NOSPLIT, $0-56
	ZI8_PROLOGUE
	VMOVDQU (BX), Y0
	VINSERTI32X8 $1, (BX)(R8*1), Z0, Z0
	VMOVDQU (BX)(R8*2), Y1
	VINSERTI32X8 $1, (BX)(R13*1), Z1, Z1
	VMOVDQA64 Z0, Z2
	VMOVDQA64 Z1, Z3
	VMOVDQA64 Z0, Z4
	VMOVDQA64 Z1, Z5
	VMOVDQA64 Z0, Z6
	VMOVDQA64 Z1, Z7
	ADDQ $32, BX
	I8_LOOP(ZI8_STEP32, zq32loop2, zq32tail, zq32done)
	MOVQ c+48(FP), DI
	// row i: columns 0–15 in Z(2i), 16–31 in Z(2i+1); 0–23 to the first
	// half at 96i, 24–31 to the second at 384+96i
	VMOVDQU32 Z0, 0(DI)
	ZI8_ST(Z1, Y1, 64, 384)
	VMOVDQU32 Z2, 96(DI)
	ZI8_ST(Z3, Y3, 160, 480)
	VMOVDQU32 Z4, 192(DI)
	ZI8_ST(Z5, Y5, 256, 576)
	VMOVDQU32 Z6, 288(DI)
	ZI8_ST(Z7, Y7, 352, 672)
	VZEROUPPER
	RET
