//go:build amd64 && !noasm

#include "textflag.h"

// float32 ADD, SUB and MUL rows with the clamp of a fused activation,
// 8 lanes per step (AVX): dst[i] = clamp(a[i] op b[i], lo, hi), where a
// or b may be one value broadcast (the ...S1 / ...S2 forms). The clamp is
// VMAXPS lo then VMINPS hi with the operands ordered so that a NaN passes
// through, as ClampF32 does. n is a positive multiple of 8.
//
// Registers: DI dst, SI a, DX b, CX n, Y14 lo, Y15 hi, Y13 the broadcast
// operand.

#define EW_PROLOGUE \
	MOVQ dst+0(FP), DI; \
	MOVQ a+8(FP), SI; \
	MOVQ b+16(FP), DX; \
	MOVQ n+24(FP), CX; \
	VBROADCASTSS lo+32(FP), Y14; \
	VBROADCASTSS hi+36(FP), Y15

#define EW_CLAMP_STORE \
	VMAXPS Y0, Y14, Y0; \
	VMINPS Y0, Y15, Y0; \
	VMOVUPS Y0, (DI); \
	ADDQ $32, DI

// Both operands vectors.
// func ewAddF32VV(dst, a, b *float32, n int, lo, hi float32)
TEXT ·ewAddF32VV(SB), NOSPLIT, $0-40
	EW_PROLOGUE
avvloop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	EW_CLAMP_STORE
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ avvloop
	VZEROUPPER
	RET

// func ewSubF32VV(dst, a, b *float32, n int, lo, hi float32)
TEXT ·ewSubF32VV(SB), NOSPLIT, $0-40
	EW_PROLOGUE
svvloop:
	VMOVUPS (SI), Y0
	VSUBPS (DX), Y0, Y0
	EW_CLAMP_STORE
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ svvloop
	VZEROUPPER
	RET

// func ewMulF32VV(dst, a, b *float32, n int, lo, hi float32)
TEXT ·ewMulF32VV(SB), NOSPLIT, $0-40
	EW_PROLOGUE
mvvloop:
	VMOVUPS (SI), Y0
	VMULPS (DX), Y0, Y0
	EW_CLAMP_STORE
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ mvvloop
	VZEROUPPER
	RET

// a is one value (*a broadcast), b a vector: Y0 = a OP b.
// func ewAddF32SV(dst, a, b *float32, n int, lo, hi float32)
TEXT ·ewAddF32SV(SB), NOSPLIT, $0-40
	EW_PROLOGUE
	VBROADCASTSS (SI), Y13
asvloop:
	VADDPS (DX), Y13, Y0
	EW_CLAMP_STORE
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ asvloop
	VZEROUPPER
	RET

// func ewSubF32SV(dst, a, b *float32, n int, lo, hi float32)
TEXT ·ewSubF32SV(SB), NOSPLIT, $0-40
	EW_PROLOGUE
	VBROADCASTSS (SI), Y13
ssvloop:
	VSUBPS (DX), Y13, Y0
	EW_CLAMP_STORE
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ ssvloop
	VZEROUPPER
	RET

// func ewMulF32SV(dst, a, b *float32, n int, lo, hi float32)
TEXT ·ewMulF32SV(SB), NOSPLIT, $0-40
	EW_PROLOGUE
	VBROADCASTSS (SI), Y13
msvloop:
	VMULPS (DX), Y13, Y0
	EW_CLAMP_STORE
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ msvloop
	VZEROUPPER
	RET

// a a vector, b one value (*b broadcast): Y0 = a OP b.
// func ewAddF32VS(dst, a, b *float32, n int, lo, hi float32)
TEXT ·ewAddF32VS(SB), NOSPLIT, $0-40
	EW_PROLOGUE
	VBROADCASTSS (DX), Y13
avsloop:
	VMOVUPS (SI), Y0
	VADDPS Y13, Y0, Y0
	EW_CLAMP_STORE
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ avsloop
	VZEROUPPER
	RET

// func ewSubF32VS(dst, a, b *float32, n int, lo, hi float32)
TEXT ·ewSubF32VS(SB), NOSPLIT, $0-40
	EW_PROLOGUE
	VBROADCASTSS (DX), Y13
svsloop:
	VMOVUPS (SI), Y0
	VSUBPS Y13, Y0, Y0
	EW_CLAMP_STORE
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ svsloop
	VZEROUPPER
	RET

// func ewMulF32VS(dst, a, b *float32, n int, lo, hi float32)
TEXT ·ewMulF32VS(SB), NOSPLIT, $0-40
	EW_PROLOGUE
	VBROADCASTSS (DX), Y13
mvsloop:
	VMOVUPS (SI), Y0
	VMULPS Y13, Y0, Y0
	EW_CLAMP_STORE
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ mvsloop
	VZEROUPPER
	RET
