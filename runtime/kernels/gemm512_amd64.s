//go:build amd64 && !noasm

#include "textflag.h"

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
// Z(2i+j) for 32); Z12..Z14 hold B, Z15..Z18 the broadcasts of A.

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

#define Z_STEP48(bo) \
	VMOVUPS bo(BX), Y12; \
	VINSERTF32X8 $1, bo(BX)(R8*1), Z12, Z12; \
	VMOVUPS bo(BX)(R8*2), Y13; \
	VINSERTF32X8 $1, bo(BX)(R13*1), Z13, Z13; \
	VMOVUPS bo(BX)(R8*4), Y14; \
	VINSERTF32X8 $1, bo(BX)(R10*1), Z14, Z14; \
	VBROADCASTSS (AX), Z15; \
	VBROADCASTSS (AX)(R9*1), Z16; \
	VBROADCASTSS (AX)(R9*2), Z17; \
	VBROADCASTSS (AX)(R12*1), Z18; \
	VFMADD231PS Z12, Z15, Z0; \
	VFMADD231PS Z13, Z15, Z1; \
	VFMADD231PS Z14, Z15, Z2; \
	VFMADD231PS Z12, Z16, Z3; \
	VFMADD231PS Z13, Z16, Z4; \
	VFMADD231PS Z14, Z16, Z5; \
	VFMADD231PS Z12, Z17, Z6; \
	VFMADD231PS Z13, Z17, Z7; \
	VFMADD231PS Z14, Z17, Z8; \
	VFMADD231PS Z12, Z18, Z9; \
	VFMADD231PS Z13, Z18, Z10; \
	VFMADD231PS Z14, Z18, Z11; \
	ADDQ R11, AX

#define Z_STEP32(bo) \
	VMOVUPS bo(BX), Y12; \
	VINSERTF32X8 $1, bo(BX)(R8*1), Z12, Z12; \
	VMOVUPS bo(BX)(R8*2), Y13; \
	VINSERTF32X8 $1, bo(BX)(R13*1), Z13, Z13; \
	VBROADCASTSS (AX), Z15; \
	VBROADCASTSS (AX)(R9*1), Z16; \
	VBROADCASTSS (AX)(R9*2), Z17; \
	VBROADCASTSS (AX)(R12*1), Z18; \
	VFMADD231PS Z12, Z15, Z0; \
	VFMADD231PS Z13, Z15, Z1; \
	VFMADD231PS Z12, Z16, Z2; \
	VFMADD231PS Z13, Z16, Z3; \
	VFMADD231PS Z12, Z17, Z4; \
	VFMADD231PS Z13, Z17, Z5; \
	VFMADD231PS Z12, Z18, Z6; \
	VFMADD231PS Z13, Z18, Z7; \
	ADDQ R11, AX

// The k loop: STEP over 4 k at a time, then one at a time (a panel's k
// are 32 bytes apart).
#define Z_LOOP(STEP, loop4, tail, loop1, done) \
	CMPQ CX, $4; \
	JLT tail; \
loop4: \
	STEP(0); \
	STEP(32); \
	STEP(64); \
	STEP(96); \
	ADDQ $128, BX; \
	SUBQ $4, CX; \
	CMPQ CX, $4; \
	JGE loop4; \
tail: \
	TESTQ CX, CX; \
	JZ done; \
loop1: \
	STEP(0); \
	ADDQ $32, BX; \
	DECQ CX; \
	JNZ loop1; \
done:

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
	Z_LOOP(Z_STEP48, z48loop4, z48tail, z48loop1, z48done)
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
	Z_LOOP(Z_STEP32, z32loop4, z32tail, z32loop1, z32done)
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
