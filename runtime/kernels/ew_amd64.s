//go:build amd64 && !noasm

#include "textflag.h"

// float32 ADD, SUB, MUL and DIV rows with the clamp of a fused
// activation, 8 lanes per step (AVX): dst[i] = clamp(a[i] op b[i], lo,
// hi), where a or b may be one value broadcast (the SV / VS forms) or one
// row repeated (VR). The clamp is
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

// One float32 row kernel per op (INS: VADDPS, VSUBPS, VMULPS, VDIVPS) and
// operand shape; lbl, lbl2 are the kernel's loop labels.
//
// VV: both operands vectors.
#define EW_VV(name, INS, lbl) \
TEXT name(SB), NOSPLIT, $0-40; \
	EW_PROLOGUE; \
lbl: \
	VMOVUPS (SI), Y0; \
	INS (DX), Y0, Y0; \
	EW_CLAMP_STORE; \
	ADDQ $32, SI; \
	ADDQ $32, DX; \
	SUBQ $8, CX; \
	JNZ lbl; \
	VZEROUPPER; \
	RET

// SV: a one value (*a broadcast), b a vector: Y0 = a OP b.
#define EW_SV(name, INS, lbl) \
TEXT name(SB), NOSPLIT, $0-40; \
	EW_PROLOGUE; \
	VBROADCASTSS (SI), Y13; \
lbl: \
	INS (DX), Y13, Y0; \
	EW_CLAMP_STORE; \
	ADDQ $32, DX; \
	SUBQ $8, CX; \
	JNZ lbl; \
	VZEROUPPER; \
	RET

// VS: a a vector, b one value (*b broadcast): Y0 = a OP b.
#define EW_VS(name, INS, lbl) \
TEXT name(SB), NOSPLIT, $0-40; \
	EW_PROLOGUE; \
	VBROADCASTSS (DX), Y13; \
lbl: \
	VMOVUPS (SI), Y0; \
	INS Y13, Y0, Y0; \
	EW_CLAMP_STORE; \
	ADDQ $32, SI; \
	SUBQ $8, CX; \
	JNZ lbl; \
	VZEROUPPER; \
	RET

// VR: rows × inner (a positive multiple of 8) elements, a and dst
// contiguous, b one row of inner values repeated for every row:
// dst[r*inner+j] = clamp(a[r*inner+j] OP b[j], lo, hi).
// func(dst, a, b *float32, rows, inner int, lo, hi float32)
#define EW_VR(name, INS, lbl, lbl2) \
TEXT name(SB), NOSPLIT, $0-48; \
	MOVQ dst+0(FP), DI; \
	MOVQ a+8(FP), SI; \
	MOVQ rows+24(FP), R8; \
	VBROADCASTSS lo+40(FP), Y14; \
	VBROADCASTSS hi+44(FP), Y15; \
lbl: \
	MOVQ b+16(FP), DX; \
	MOVQ inner+32(FP), CX; \
lbl2: \
	VMOVUPS (SI), Y0; \
	INS (DX), Y0, Y0; \
	EW_CLAMP_STORE; \
	ADDQ $32, SI; \
	ADDQ $32, DX; \
	SUBQ $8, CX; \
	JNZ lbl2; \
	DECQ R8; \
	JNZ lbl; \
	VZEROUPPER; \
	RET

// func ewAddF32VV(dst, a, b *float32, n int, lo, hi float32), and so on.
EW_VV(·ewAddF32VV, VADDPS, avv)
EW_VV(·ewSubF32VV, VSUBPS, svv)
EW_VV(·ewMulF32VV, VMULPS, mvv)
EW_VV(·ewDivF32VV, VDIVPS, dvv)
EW_SV(·ewAddF32SV, VADDPS, asv)
EW_SV(·ewSubF32SV, VSUBPS, ssv)
EW_SV(·ewMulF32SV, VMULPS, msv)
EW_SV(·ewDivF32SV, VDIVPS, dsv)
EW_VS(·ewAddF32VS, VADDPS, avs)
EW_VS(·ewSubF32VS, VSUBPS, svs)
EW_VS(·ewMulF32VS, VMULPS, mvs)
EW_VS(·ewDivF32VS, VDIVPS, dvs)
EW_VR(·ewAddF32VR, VADDPS, avr, avr2)
EW_VR(·ewSubF32VR, VSUBPS, svr, svr2)
EW_VR(·ewMulF32VR, VMULPS, mvr, mvr2)
EW_VR(·ewDivF32VR, VDIVPS, dvr, dvr2)

// The eight int32 lanes of Y0 saturated to int8 and stored as 8 bytes at
// dst (X1 clobbered).
#define I32X8_TO_I8(dst) \
	VEXTRACTI128 $1, Y0, X1; \
	VPACKSSDW X1, X0, X0; \
	VPACKSSWB X0, X0, X0; \
	MOVQ X0, dst

// int8 ADD/SUB and MUL in XNNPACK's forms, 8 lanes per step (AVX2), n a
// positive multiple of 8; a broadcast input is folded into the constants
// by the caller (its pointer then aliases the other input, times 0).
//
// The b operand of the int8 XNN rows: DX steps on by 8 and wraps to the
// start R10 every R9 = bn elements (R8 counts down), so a row of bn values
// repeats along a (per-channel operands of NHWC tensors; bn = n: no wrap).
// dst, a, b, n and bn of the int8 XNN rows into DI, SI, DX, CX and R8/R9
// (R10: b's start).
#define XNN_ROWS_PROLOGUE \
	MOVQ dst+0(FP), DI; \
	MOVQ a+8(FP), SI; \
	MOVQ b+16(FP), DX; \
	MOVQ n+24(FP), CX; \
	MOVQ bn+64(FP), R8; \
	MOVQ R8, R9; \
	MOVQ DX, R10

#define B_NEXT(next) \
	ADDQ $8, DX; \
	SUBQ $8, R8; \
	JNZ next; \
	MOVQ R10, DX; \
	MOVQ R9, R8; \
next:

// func ewAddI8XNN(dst, a, b *int8, n int, xa, xb, bias, shift, lo, hi, zp int32, bn int)
//	v := (bias + int32(a[i])*xa + int32(b[i])*xb) >> shift
//	dst[i] = int8(min(max(v, lo), hi) + zp)
TEXT ·ewAddI8XNN(SB), NOSPLIT, $0-72
	XNN_ROWS_PROLOGUE
	VBROADCASTSS xa+32(FP), Y10
	VBROADCASTSS xb+36(FP), Y11
	VBROADCASTSS bias+40(FP), Y12
	MOVL shift+44(FP), AX
	VMOVD AX, X13
	VBROADCASTSS lo+48(FP), Y14
	VBROADCASTSS hi+52(FP), Y15
	VBROADCASTSS zp+56(FP), Y9

ailoop:
	VPMOVSXBD (SI), Y0
	VPMOVSXBD (DX), Y1
	VPMULLD Y10, Y0, Y0
	VPMULLD Y11, Y1, Y1
	VPADDD Y1, Y0, Y0
	VPADDD Y12, Y0, Y0
	VPSRAD X13, Y0, Y0
	VPMAXSD Y14, Y0, Y0
	VPMINSD Y15, Y0, Y0
	VPADDD Y9, Y0, Y0
	I32X8_TO_I8((DI))
	ADDQ $8, SI
	B_NEXT(ainext)
	ADDQ $8, DI
	SUBQ $8, CX
	JNZ ailoop
	VZEROUPPER
	RET

// func ewMulI8XNN(dst, a, b *int8, n int, ka, ca, kb, cb int32, scale, lo, hi float32, zp int32, bn int)
//	v := (int32(a[i])*ka + ca) * (int32(b[i])*kb + cb)
//	f := min(max(float32(v)*scale, lo), hi) // lo, hi: the clamp − zp
//	dst[i] = int8(int32(math.RoundToEven(f)) + zp)
TEXT ·ewMulI8XNN(SB), NOSPLIT, $0-72
	XNN_ROWS_PROLOGUE
	VBROADCASTSS ka+32(FP), Y10
	VBROADCASTSS ca+36(FP), Y11
	VBROADCASTSS kb+40(FP), Y12
	VBROADCASTSS cb+44(FP), Y13
	VBROADCASTSS scale+48(FP), Y14
	VBROADCASTSS lo+52(FP), Y15
	VBROADCASTSS hi+56(FP), Y8
	VBROADCASTSS zp+60(FP), Y9

miloop:
	VPMOVSXBD (SI), Y0
	VPMOVSXBD (DX), Y1
	VPMULLD Y10, Y0, Y0
	VPADDD Y11, Y0, Y0
	VPMULLD Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	VPMULLD Y1, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS Y14, Y0, Y0
	VMAXPS Y0, Y15, Y0
	VMINPS Y0, Y8, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y9, Y0, Y0
	I32X8_TO_I8((DI))
	ADDQ $8, SI
	B_NEXT(minext)
	ADDQ $8, DI
	SUBQ $8, CX
	JNZ miloop
	VZEROUPPER
	RET

// func reduceAddI8AVX2(acc *int32, src *int8, n int)
// acc[j] += int32(src[j]) for n, a positive multiple of 8.
TEXT ·reduceAddI8AVX2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

raloop:
	VPMOVSXBD (SI), Y0
	VPADDD (DI), Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ $8, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ raloop
	VZEROUPPER
	RET

// func resizeXNNI8AVX2(o, tl, tr, bl, br *int8, n int, ah, av int32)
// One output pixel of XNNPACK's s8 bilinear resize, n channels (a positive
// multiple of 8), Q11 weights ah (horizontal) and av (vertical):
//	vt := tl<<11 + (tr−tl)·ah;  vb := bl<<11 + (br−bl)·ah
//	o = int8((vt<<11 + (vb−vt)·av + 2²¹) >> 22)
TEXT ·resizeXNNI8AVX2(SB), NOSPLIT, $0-56
	MOVQ o+0(FP), DI
	MOVQ tl+8(FP), SI
	MOVQ tr+16(FP), R8
	MOVQ bl+24(FP), R9
	MOVQ br+32(FP), R10
	MOVQ n+40(FP), CX
	VBROADCASTSS ah+48(FP), Y14
	VBROADCASTSS av+52(FP), Y15
	MOVL $0x200000, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	XORQ DX, DX

rzloop:
	VPMOVSXBD (SI)(DX*1), Y0 // tl
	VPMOVSXBD (R8)(DX*1), Y1 // tr
	VPMOVSXBD (R9)(DX*1), Y2 // bl
	VPMOVSXBD (R10)(DX*1), Y3 // br
	VPSUBD Y0, Y1, Y1
	VPMULLD Y14, Y1, Y1
	VPSLLD $11, Y0, Y0
	VPADDD Y1, Y0, Y0        // vt
	VPSUBD Y2, Y3, Y3
	VPMULLD Y14, Y3, Y3
	VPSLLD $11, Y2, Y2
	VPADDD Y3, Y2, Y2        // vb
	VPSUBD Y0, Y2, Y2
	VPMULLD Y15, Y2, Y2
	VPSLLD $11, Y0, Y0
	VPADDD Y2, Y0, Y0
	VPADDD Y13, Y0, Y0
	VPSRAD $22, Y0, Y0
	I32X8_TO_I8((DI)(DX*1))
	ADDQ $8, DX
	CMPQ DX, CX
	JLT rzloop
	VZEROUPPER
	RET

// Cephes' expf on 8 lanes for softmax (softmaxExpF32, no FMA, bit for bit
// with it): e = exp((src[i] − m)·beta) stored in dst, and the lane sums
// of e added into sums[0:8]. n is a positive multiple of 8.
DATA expcst<>+0(SB)/4, $-87.33654       // below: 0
DATA expcst<>+4(SB)/4, $1.44269504088896341
DATA expcst<>+8(SB)/4, $0.5
DATA expcst<>+12(SB)/4, $0.693359375
DATA expcst<>+16(SB)/4, $-2.12194440e-4
DATA expcst<>+20(SB)/4, $1.9875691500e-4
DATA expcst<>+24(SB)/4, $1.3981999507e-3
DATA expcst<>+28(SB)/4, $8.3334519073e-3
DATA expcst<>+32(SB)/4, $4.1665795894e-2
DATA expcst<>+36(SB)/4, $1.6666665459e-1
DATA expcst<>+40(SB)/4, $5.0000001201e-1
DATA expcst<>+44(SB)/4, $1.0
DATA expcst<>+48(SB)/4, $127
GLOBL expcst<>(SB), RODATA|NOPTR, $52

// func softmaxExpAVX2(dst, src *float32, n int, m, beta float32, sums *[8]float32)
TEXT ·softmaxExpAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS m+24(FP), Y15
	VBROADCASTSS beta+28(FP), Y14
	MOVQ sums+32(FP), R8
	VMOVUPS (R8), Y7
	VBROADCASTSS expcst<>+0(SB), Y13   // min
	VBROADCASTSS expcst<>+44(SB), Y12  // 1
	MOVL $127, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11              // 127 (int)

exploop:
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0
	VMULPS Y14, Y0, Y0                 // x
	VCMPPS $1, Y13, Y0, Y10            // x < min: mask (result 0)
	VMAXPS Y13, Y0, Y0
	VBROADCASTSS expcst<>+4(SB), Y1
	VMULPS Y1, Y0, Y1
	VBROADCASTSS expcst<>+8(SB), Y2
	VADDPS Y2, Y1, Y1
	VROUNDPS $1, Y1, Y1                // fx = floor(x·log2e + ½)
	VBROADCASTSS expcst<>+12(SB), Y2
	VMULPS Y1, Y2, Y2
	VSUBPS Y2, Y0, Y0
	VBROADCASTSS expcst<>+16(SB), Y2
	VMULPS Y1, Y2, Y2
	VSUBPS Y2, Y0, Y0                  // r
	VMULPS Y0, Y0, Y3                  // z = r²
	VBROADCASTSS expcst<>+20(SB), Y4
	VMULPS Y0, Y4, Y4
	VBROADCASTSS expcst<>+24(SB), Y5
	VADDPS Y5, Y4, Y4
	VMULPS Y0, Y4, Y4
	VBROADCASTSS expcst<>+28(SB), Y5
	VADDPS Y5, Y4, Y4
	VMULPS Y0, Y4, Y4
	VBROADCASTSS expcst<>+32(SB), Y5
	VADDPS Y5, Y4, Y4
	VMULPS Y0, Y4, Y4
	VBROADCASTSS expcst<>+36(SB), Y5
	VADDPS Y5, Y4, Y4
	VMULPS Y0, Y4, Y4
	VBROADCASTSS expcst<>+40(SB), Y5
	VADDPS Y5, Y4, Y4                  // y
	VMULPS Y3, Y4, Y4
	VADDPS Y0, Y4, Y4
	VADDPS Y12, Y4, Y4                 // y·z + r + 1
	VCVTPS2DQ Y1, Y1                   // n (fx is integral)
	VPADDD Y11, Y1, Y1
	VPSLLD $23, Y1, Y1                 // 2ⁿ
	VMULPS Y1, Y4, Y4
	VANDNPS Y4, Y10, Y4                // 0 below min
	VMOVUPS Y4, (DI)
	VADDPS Y4, Y7, Y7
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ exploop
	VMOVUPS Y7, (R8)
	VZEROUPPER
	RET


// func softmaxMaxAVX(src *float32, n int, out *float32) bool
TEXT ·softmaxMaxAVX(SB), NOSPLIT, $0-25
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ out+16(FP), DI
	VMOVUPS (SI), Y0                   // running max
	VCMPPS $3, Y0, Y0, Y1              // unordered: NaN lanes
	ADDQ $32, SI
	SUBQ $8, CX
	JZ maxdone

maxloop:
	VMOVUPS (SI), Y2
	VCMPPS $3, Y2, Y2, Y3
	VORPS Y3, Y1, Y1
	VMAXPS Y2, Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ maxloop

maxdone:
	VEXTRACTF128 $1, Y0, X2
	VMAXPS X2, X0, X0
	VPERMILPS $0x4e, X0, X2
	VMAXPS X2, X0, X0
	VPERMILPS $0xb1, X0, X2
	VMAXPS X2, X0, X0
	VMOVSS X0, (DI)
	VMOVMSKPS Y1, AX
	TESTL AX, AX
	SETEQ ret+24(FP)
	VZEROUPPER
	RET

// func scaleF32AVX(dst *float32, n int, s float32)
TEXT ·scaleF32AVX(SB), NOSPLIT, $0-20
	MOVQ dst+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1

scaleloop:
	VMULPS (DI), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ scaleloop
	VZEROUPPER
	RET

// func divMulAddAVX(dst, a, b, d *float32, n int, c float32)
TEXT ·divMulAddAVX(SB), NOSPLIT, $0-44
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ d+24(FP), R8
	MOVQ n+32(FP), CX
	VBROADCASTSS c+40(FP), Y3

dmaloop:
	VMOVUPS (SI), Y0
	VMULPS (DX), Y0, Y0
	VADDPS (R8), Y3, Y1
	VDIVPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ dmaloop
	VZEROUPPER
	RET
