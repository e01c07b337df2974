//go:build amd64 && !noasm

#include "textflag.h"

// XNNPACK's f32-vgelu rational interpolation (geluXNN), 8 lanes: the same
// float32 operations in the same order, no FMA, VDIVPS correctly rounded,
// so each lane equals geluXNN bit for bit.
DATA gelucst<>+0(SB)/4, $5.1158981323      // max |x|
DATA gelucst<>+4(SB)/4, $4.5835321316e-08   // p6
DATA gelucst<>+8(SB)/4, $1.2609783880e-05   // p5
DATA gelucst<>+12(SB)/4, $3.2973114867e-04  // p4
DATA gelucst<>+16(SB)/4, $9.3065137044e-03  // p3
DATA gelucst<>+20(SB)/4, $6.6972173750e-02  // p2
DATA gelucst<>+24(SB)/4, $7.9788452387e-01  // p1
DATA gelucst<>+28(SB)/4, $1.1988805682e-06  // q5
DATA gelucst<>+32(SB)/4, $7.2267655923e-05  // q4
DATA gelucst<>+36(SB)/4, $1.8622842617e-03  // q3
DATA gelucst<>+40(SB)/4, $2.8431978077e-02  // q2
DATA gelucst<>+44(SB)/4, $2.5060352683e-01  // q1
DATA gelucst<>+48(SB)/4, $1.0               // q0, and 1 of erf+1
DATA gelucst<>+52(SB)/4, $0.5
GLOBL gelucst<>(SB), RODATA|NOPTR, $56

// func geluXNNAVX2(dst, src *float32, n int)
TEXT ·geluXNNAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS gelucst<>+0(SB), Y15 // max
	VXORPS Y14, Y14, Y14
	VSUBPS Y15, Y14, Y14              // −max
	VBROADCASTSS gelucst<>+48(SB), Y13 // 1
	VBROADCASTSS gelucst<>+52(SB), Y12 // 0.5

gloop:
	VMOVUPS (SI), Y0                   // x
	VMAXPS Y14, Y0, Y1
	VMINPS Y15, Y1, Y1                 // v
	VMULPS Y1, Y1, Y2                  // x2
	VBROADCASTSS gelucst<>+4(SB), Y3
	VMULPS Y2, Y3, Y3
	VBROADCASTSS gelucst<>+8(SB), Y4
	VADDPS Y4, Y3, Y3
	VMULPS Y2, Y3, Y3
	VBROADCASTSS gelucst<>+12(SB), Y4
	VADDPS Y4, Y3, Y3
	VMULPS Y2, Y3, Y3
	VBROADCASTSS gelucst<>+16(SB), Y4
	VADDPS Y4, Y3, Y3
	VMULPS Y2, Y3, Y3
	VBROADCASTSS gelucst<>+20(SB), Y4
	VADDPS Y4, Y3, Y3
	VMULPS Y2, Y3, Y3
	VBROADCASTSS gelucst<>+24(SB), Y4
	VADDPS Y4, Y3, Y3
	VMULPS Y1, Y3, Y3                  // p
	VBROADCASTSS gelucst<>+28(SB), Y5
	VMULPS Y2, Y5, Y5
	VBROADCASTSS gelucst<>+32(SB), Y4
	VADDPS Y4, Y5, Y5
	VMULPS Y2, Y5, Y5
	VBROADCASTSS gelucst<>+36(SB), Y4
	VADDPS Y4, Y5, Y5
	VMULPS Y2, Y5, Y5
	VBROADCASTSS gelucst<>+40(SB), Y4
	VADDPS Y4, Y5, Y5
	VMULPS Y2, Y5, Y5
	VBROADCASTSS gelucst<>+44(SB), Y4
	VADDPS Y4, Y5, Y5
	VMULPS Y2, Y5, Y5
	VADDPS Y13, Y5, Y5                 // q
	VDIVPS Y5, Y3, Y3                  // erf = p/q
	VADDPS Y13, Y3, Y3                 // erf + 1
	VMULPS Y12, Y0, Y0                 // x·0.5
	VMULPS Y3, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ gloop
	VZEROUPPER
	RET
