//go:build amd64 && !noasm

#include "textflag.h"

// QUANTIZE / DEQUANTIZE loops; quantize_amd64.go documents each.

DATA qconst<>+0(SB)/4, $0x80000000   // sign mask
DATA qconst<>+4(SB)/4, $0x3effffff   // 0.49999997, the float32 below 1/2
GLOBL qconst<>(SB), RODATA|NOPTR, $8

// Y15 = scale s, Y14 = y = 1/s (correctly rounded), Y13 = C = 512·s,
// Y12 = −C, Y11 = sign mask, Y10 = 0.49999997, Y9 = zp. From x in r:
// x clamped to [−C, C] (NaN kept; beyond C the result saturates anyway),
// q = x·y, e = x − q·s (exact, FMA), q += e·y: Markstein's correction,
// which makes q the correctly rounded x/s (|x/s| ≤ 512, no overflow, and
// quotients small enough to underflow are far from any rounding
// boundary); then q + copysign(0.49999997, q) truncated is q rounded half
// away from zero (|q| < 2²³), NaN lanes are set to 0 before the
// conversion, and zp is added. t1, t2 are temporaries.
#define QROUND(r, t1, t2) \
	VMAXPS r, Y12, r; \
	VMINPS r, Y13, r; \
	VMULPS Y14, r, t1; \
	VFNMADD231PS Y15, t1, r; \
	VFMADD231PS Y14, r, t1; \
	VANDPS Y11, t1, t2; \
	VORPS Y10, t2, t2; \
	VADDPS t2, t1, t1; \
	VCMPPS $3, t1, t1, t2; \
	VANDNPS t1, t2, t1; \
	VCVTTPS2DQ t1, r; \
	VPADDD Y9, r, r

// func quantF32I8AVX2(dst *int8, src *float32, n int, scale, inv float32, zp int32)
TEXT ·quantF32I8AVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y15
	VBROADCASTSS inv+28(FP), Y14
	MOVL $0x44000000, AX // 512
	VMOVD AX, X13
	VBROADCASTSS X13, Y13
	VMULPS Y15, Y13, Y13
	VXORPS Y12, Y12, Y12
	VSUBPS Y13, Y12, Y12
	VBROADCASTSS qconst<>+0(SB), Y11
	VBROADCASTSS qconst<>+4(SB), Y10
	MOVL zp+32(FP), AX
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

// The same on 16 lanes (AVX-512F): Z15 = s, Z14 = y, Z13 = C, Z12 = −C,
// Z11 = sign mask, Z10 = 0.49999997, Z9 = zp; NaN lanes zeroed by the
// conversion under the ordered-lanes mask K1, and VPMOVSDB saturates to
// int8 as it stores.
#define QROUND512(r, t1, t2, dst) \
	VMAXPS r, Z12, r; \
	VMINPS r, Z13, r; \
	VMULPS Z14, r, t1; \
	VFNMADD231PS Z15, t1, r; \
	VFMADD231PS Z14, r, t1; \
	VANDPS Z11, t1, t2; \
	VORPS Z10, t2, t2; \
	VADDPS t2, t1, t1; \
	VCMPPS $7, t1, t1, K1; \
	VCVTTPS2DQ.Z t1, K1, r; \
	VPADDD Z9, r, r; \
	VPMOVSDB r, dst

// func quantF32I8AVX512(dst *int8, src *float32, n int, scale, inv float32, zp int32)
TEXT ·quantF32I8AVX512(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Z15
	VBROADCASTSS inv+28(FP), Z14
	MOVL $0x44000000, AX // 512
	VPBROADCASTD AX, Z13
	VMULPS Z15, Z13, Z13
	VPXORD Z12, Z12, Z12
	VSUBPS Z13, Z12, Z12
	VBROADCASTSS qconst<>+0(SB), Z11
	VBROADCASTSS qconst<>+4(SB), Z10
	MOVL zp+32(FP), AX
	VPBROADCASTD AX, Z9
	CMPQ CX, $32
	JLT q512one

q512loop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	QROUND512(Z0, Z2, Z3, (DI))
	QROUND512(Z1, Z4, Z5, 16(DI))
	ADDQ $128, SI
	ADDQ $32, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE q512loop

q512one:
	TESTQ CX, CX
	JZ q512done
	VMOVUPS (SI), Z0
	QROUND512(Z0, Z2, Z3, (DI))

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
