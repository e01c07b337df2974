//go:build amd64 && !noasm

#include "textflag.h"

// QUANTIZE / DEQUANTIZE loops; quantize_amd64.go documents each.

// Y14 = 1/s, Y12 = lo = −128 − zp, Y13 = hi = 127 − zp (float32), Y9 =
// zp. From x in r: NaN lanes set to 0, x·(1/s), clamped to [lo, hi],
// converted with rounding to nearest even, zp added (the result is in
// [−128, 127]). t1, t2 are temporaries.
#define QROUND(r, t1, t2) \
	VCMPPS $3, r, r, t2; \
	VANDNPS r, t2, r; \
	VMULPS Y14, r, r; \
	VMAXPS Y12, r, r; \
	VMINPS Y13, r, r; \
	VCVTPS2DQ r, r; \
	VPADDD Y9, r, r

// func quantF32I8AVX2(dst *int8, src *float32, n int, inv, lo, hi float32, zp int32)
TEXT ·quantF32I8AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y14
	VBROADCASTSS lo+28(FP), Y12
	VBROADCASTSS hi+32(FP), Y13
	MOVL zp+36(FP), AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9

qloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	QROUND(Y0, Y2, Y3)
	QROUND(Y1, Y4, Y5)
	// int32 a0-7 (Y0), b0-7 (Y1) → int16 [a0-3 b0-3 | a4-7 b4-7]
	// → qwords 0,2,1,3 → [a0-7 | b0-7] → int8 a0-7 b0-7.
	VPACKSSDW Y1, Y0, Y0
	VPERMQ $0xd8, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSWB X1, X0, X0
	VMOVDQU X0, (DI)
	ADDQ $64, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JNZ qloop
	VZEROUPPER
	RET

// The same on 16 lanes (AVX-512F): Z14 = 1/s, Z12 = lo, Z13 = hi, Z9 =
// zp; NaN lanes zeroed by the multiply under the ordered-lanes mask K1,
// and VPMOVSDB stores the int8 values.
#define QROUND512(r, dst) \
	VCMPPS $7, r, r, K1; \
	VMULPS.Z Z14, r, K1, r; \
	VMAXPS Z12, r, r; \
	VMINPS Z13, r, r; \
	VCVTPS2DQ r, r; \
	VPADDD Z9, r, r; \
	VPMOVSDB r, dst

// func quantF32I8AVX512(dst *int8, src *float32, n int, inv, lo, hi float32, zp int32)
TEXT ·quantF32I8AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Z14
	VBROADCASTSS lo+28(FP), Z12
	VBROADCASTSS hi+32(FP), Z13
	MOVL zp+36(FP), AX
	VPBROADCASTD AX, Z9
	CMPQ CX, $32
	JLT q512one

q512loop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	QROUND512(Z0, (DI))
	QROUND512(Z1, 16(DI))
	ADDQ $128, SI
	ADDQ $32, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE q512loop

q512one:
	TESTQ CX, CX
	JZ q512done
	VMOVUPS (SI), Z0
	QROUND512(Z0, (DI))

q512done:
	VZEROUPPER
	RET

// func dequantI8F32AVX2(dst *float32, src *int8, n int, scale float32, zp int32)
TEXT ·dequantI8F32AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y15
	MOVL zp+28(FP), AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14

#define DQ(off, r) \
	VPMOVSXBD off(SI), r; \
	VPSUBD Y14, r, r; \
	VCVTDQ2PS r, r; \
	VMULPS Y15, r, r; \
	VMOVUPS r, (off*4)(DI)

dqloop:
	DQ(0, Y0)
	DQ(8, Y1)
	DQ(16, Y2)
	DQ(24, Y3)
	ADDQ $32, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JNZ dqloop
	VZEROUPPER
	RET

// func requantXNNAVX2(dst, src *int8, n int, inZP, mult, outZP int32)
TEXT ·requantXNNAVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL inZP+24(FP), AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL mult+28(FP), AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL outZP+32(FP), AX
	SHLL $8, AX
	ADDL $0x80, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13

rqloop:
	VPMOVSXBD (SI), Y0
	VPMOVSXBD 8(SI), Y1
	VPSUBD Y15, Y0, Y0
	VPSUBD Y15, Y1, Y1
	VPMULLD Y14, Y0, Y0
	VPMULLD Y14, Y1, Y1
	VPADDD Y13, Y0, Y0
	VPADDD Y13, Y1, Y1
	VPSRAD $8, Y0, Y0
	VPSRAD $8, Y1, Y1
	VPACKSSDW Y1, Y0, Y0
	VPERMQ $0xd8, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSWB X1, X0, X0
	VMOVDQU X0, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JNZ rqloop
	VZEROUPPER
	RET
