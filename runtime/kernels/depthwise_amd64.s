//go:build amd64 && !noasm

#include "textflag.h"

// DEPTHWISE_CONV_2D kernels; depthwise_amd64.go documents each with the Go
// loop it implements. One ymm holds the 8 channels of a buffer column.
//
// Tap loop registers: AX p (the block's first window), BX offs, CX taps
// left, R10 weights, DX step, R8 3·step; per tap SI = p + offs[t]
// (outputs 0-3 at SI + j·step) and DI = SI + 4·step (outputs 4-7).
// Accumulators Y0..Y7, weight Y8. The row kernels loop over nblk blocks
// of 8 outputs: R12 blocks left, R13 the block's output, R14 ostride.

// The float32 row kernels' frame: AX p, R13 out, R14 ostride, R12 nblk,
// Y13 bias, Y14 lo, Y15 hi.
#define F32_ROW_INIT \
	MOVQ p+0(FP), AX; \
	MOVQ out+48(FP), R13; \
	MOVQ ostride+56(FP), R14; \
	MOVQ nblk+72(FP), R12; \
	MOVQ bias+32(FP), R9; \
	VMOVUPS (R9), Y13; \
	VBROADCASTSS lo+64(FP), Y14; \
	VBROADCASTSS hi+68(FP), Y15

// acc + bias, then max(lo, v) and min(hi, v), keeping v when it is NaN
// (as ClampF32), stored.
#define F32_OUT(r, addr) \
	VADDPS Y13, r, r; \
	VMAXPS r, Y14, r; \
	VMINPS r, Y15, r; \
	VMOVUPS r, addr

// Y0..Y7 to the block's 8 outputs (R9 and SI clobbered).
#define F32_OUT8 \
	LEAQ (R14)(R14*2), R9; \
	LEAQ (R13)(R14*4), SI; \
	F32_OUT(Y0, (R13)); \
	F32_OUT(Y1, (R13)(R14*1)); \
	F32_OUT(Y2, (R13)(R14*2)); \
	F32_OUT(Y3, (R13)(R9*1)); \
	F32_OUT(Y4, (SI)); \
	F32_OUT(Y5, (SI)(R14*1)); \
	F32_OUT(Y6, (SI)(R14*2)); \
	F32_OUT(Y7, (SI)(R9*1))

#define TAP_ADDR \
	MOVQ (BX), SI; \
	ADDQ AX, SI; \
	LEAQ (SI)(DX*4), DI; \
	ADDQ $8, BX

// offs, nt, w from the frame, DX = step (loaded by the caller).
#define TAP_INIT \
	MOVQ offs+8(FP), BX; \
	MOVQ nt+16(FP), CX; \
	MOVQ w+24(FP), R10; \
	LEAQ (DX)(DX*2), R8; \
	VPXOR Y0, Y0, Y0; \
	VPXOR Y1, Y1, Y1; \
	VPXOR Y2, Y2, Y2; \
	VPXOR Y3, Y3, Y3; \
	VPXOR Y4, Y4, Y4; \
	VPXOR Y5, Y5, Y5; \
	VPXOR Y6, Y6, Y6; \
	VPXOR Y7, Y7, Y7

// zmm tap loops, for step = 32 bytes (stride 1: a block's 8 outputs are
// 256 contiguous bytes): Zj holds outputs 2j and 2j+1, the 8 weights are
// broadcast to both halves of Z8, so each output gets the ymm kernels'
// products in the same order (the same bits) at half the instructions.
#define TAP_INIT_Z \
	MOVQ offs+8(FP), BX; \
	MOVQ nt+16(FP), CX; \
	MOVQ w+24(FP), R10; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3

// bcast: VBROADCASTF32X8 or VBROADCASTI32X8; op: VFMADD231PS or VPDPWSSD.
#define TAPS_Z(loop, bcast, op) \
loop: \
	MOVQ (BX), SI; \
	ADDQ AX, SI; \
	ADDQ $8, BX; \
	bcast (R10), Z8; \
	ADDQ $32, R10; \
	op (SI), Z8, Z0; \
	op 64(SI), Z8, Z1; \
	op 128(SI), Z8, Z2; \
	op 192(SI), Z8, Z3; \
	DECQ CX; \
	JNZ loop

// Z0..Z3 (output pairs) → Y0..Y7 (outputs), highest first so that no
// half is overwritten before it is moved.
#define SPLIT_Z \
	VEXTRACTI32X8 $1, Z3, Y7; \
	VMOVDQU Y3, Y6; \
	VEXTRACTI32X8 $1, Z2, Y5; \
	VMOVDQU Y2, Y4; \
	VEXTRACTI32X8 $1, Z1, Y3; \
	VMOVDQU Y1, Y2; \
	VEXTRACTI32X8 $1, Z0, Y1

#define TAPS_MADDWD(loop) \
loop: \
	TAP_ADDR; \
	VMOVDQU (R10), Y8; \
	ADDQ $32, R10; \
	VPMADDWD (SI), Y8, Y9; \
	VPMADDWD (SI)(DX*1), Y8, Y10; \
	VPMADDWD (SI)(DX*2), Y8, Y11; \
	VPMADDWD (SI)(R8*1), Y8, Y12; \
	VPADDD Y9, Y0, Y0; \
	VPADDD Y10, Y1, Y1; \
	VPADDD Y11, Y2, Y2; \
	VPADDD Y12, Y3, Y3; \
	VPMADDWD (DI), Y8, Y9; \
	VPMADDWD (DI)(DX*1), Y8, Y10; \
	VPMADDWD (DI)(DX*2), Y8, Y11; \
	VPMADDWD (DI)(R8*1), Y8, Y12; \
	VPADDD Y9, Y4, Y4; \
	VPADDD Y10, Y5, Y5; \
	VPADDD Y11, Y6, Y6; \
	VPADDD Y12, Y7, Y7; \
	DECQ CX; \
	JNZ loop

#define TAPS_DPWSSD(loop) \
loop: \
	TAP_ADDR; \
	VMOVDQU (R10), Y8; \
	ADDQ $32, R10; \
	VPDPWSSD (SI), Y8, Y0; \
	VPDPWSSD (SI)(DX*1), Y8, Y1; \
	VPDPWSSD (SI)(DX*2), Y8, Y2; \
	VPDPWSSD (SI)(R8*1), Y8, Y3; \
	VPDPWSSD (DI), Y8, Y4; \
	VPDPWSSD (DI)(DX*1), Y8, Y5; \
	VPDPWSSD (DI)(DX*2), Y8, Y6; \
	VPDPWSSD (DI)(R8*1), Y8, Y7; \
	DECQ CX; \
	JNZ loop

#define I8_TILE_OUT \
	MOVQ tile+40(FP), DI; \
	VMOVDQU Y0, (DI); \
	VMOVDQU Y1, 96(DI); \
	VMOVDQU Y2, 192(DI); \
	VMOVDQU Y3, 288(DI); \
	VMOVDQU Y4, 384(DI); \
	VMOVDQU Y5, 480(DI); \
	VMOVDQU Y6, 576(DI); \
	VMOVDQU Y7, 672(DI); \
	VZEROUPPER

// ---- int8 with the output stage fused --------------------------------
//
// gemmRequantAVX2's arithmetic on the eight accumulators (rows = outputs,
// columns = the 8 channels), whose parameters are the same for all of
// them: R11 points at prm = colAdd, mul, left, right, mask (8 int32
// each); Y9 = mul of the odd lanes moved to the even ones, Y10 = 2³⁰ per
// int64 lane, Y11 = mask>>1.
#define DWREQ(r) \
	VPADDD (R11), r, r; \
	VPSLLVD 64(R11), r, r; \
	VPMULDQ 32(R11), r, Y12; \
	VPSRLQ $32, r, Y13; \
	VPMULDQ Y9, Y13, Y13; \
	VPADDQ Y10, Y12, Y12; \
	VPADDQ Y10, Y13, Y13; \
	VPSRLQ $31, Y12, Y12; \
	VPSLLQ $1, Y13, Y13; \
	VPBLENDD $0xAA, Y13, Y12, r; \
	VPAND 128(R11), r, Y12; \
	VPSRLD $31, r, Y13; \
	VPADDD Y11, Y13, Y13; \
	VPCMPGTD Y13, Y12, Y12; \
	VPSRAVD 96(R11), r, r; \
	VPSUBD Y12, r, r

// Four outputs' int32 results a, b, c, d → int8 (+ zp Y14 as int16,
// clamp to Y8 = lo, Y9 = hi) stored as 8 bytes each at (ptr),
// (ptr)(R14*1), (ptr)(R14*2), (ptr)(R9*1). VPACKSSDW/VPACKSSWB leave
// dwords of outputs a-d for channels 0-3, then 4-7; Y15 (dwperm) gathers
// each output's 8 bytes into one qword.
#define DWPACK4(a, b, c, d, xa, ptr) \
	VPACKSSDW b, a, a; \
	VPACKSSDW d, c, c; \
	VPADDSW Y14, a, a; \
	VPADDSW Y14, c, c; \
	VPACKSSWB c, a, a; \
	VPMAXSB Y8, a, a; \
	VPMINSB Y9, a, a; \
	VPERMD a, Y15, a; \
	VEXTRACTI128 $1, a, X13; \
	MOVQ xa, (ptr); \
	VPEXTRQ $1, xa, (ptr)(R14*1); \
	MOVQ X13, (ptr)(R14*2); \
	VPEXTRQ $1, X13, (ptr)(R9*1)

// The output stage of one block to R13 (R9 and SI clobbered).
#define DWREQ_OUT \
	MOVQ prm+40(FP), R11; \
	VMOVDQU 32(R11), Y9; \
	VPSRLQ $32, Y9, Y9; \
	VMOVDQU 128(R11), Y11; \
	VPSRLD $1, Y11, Y11; \
	MOVQ $0x40000000, R9; \
	MOVQ R9, X10; \
	VPBROADCASTQ X10, Y10; \
	DWREQ(Y0); \
	DWREQ(Y1); \
	DWREQ(Y2); \
	DWREQ(Y3); \
	DWREQ(Y4); \
	DWREQ(Y5); \
	DWREQ(Y6); \
	DWREQ(Y7); \
	MOVL zp+64(FP), R9; \
	MOVQ R9, X14; \
	VPBROADCASTW X14, Y14; \
	MOVL lo+68(FP), R9; \
	MOVQ R9, X8; \
	VPBROADCASTB X8, Y8; \
	MOVL hi+72(FP), R9; \
	MOVQ R9, X9; \
	VPBROADCASTB X9, Y9; \
	VMOVDQU dwperm<>(SB), Y15; \
	LEAQ (R14)(R14*2), R9; \
	LEAQ (R13)(R14*4), SI; \
	DWPACK4(Y0, Y1, Y2, Y3, X0, R13); \
	DWPACK4(Y4, Y5, Y6, Y7, X4, SI)

// The fp32 output stage (gemmRequantF32AVX2's arithmetic): R11 points at
// prm = colAdd, scale, lo − zp, hi − zp (8 lanes each, the last three
// float32).
#define DWREQF(r) \
	VPADDD (R11), r, r; \
	VCVTDQ2PS r, r; \
	VMULPS 32(R11), r, r; \
	VMAXPS 64(R11), r, r; \
	VMINPS 96(R11), r, r; \
	VCVTPS2DQ r, r

#define DWREQF_OUT \
	MOVQ prm+40(FP), R11; \
	DWREQF(Y0); \
	DWREQF(Y1); \
	DWREQF(Y2); \
	DWREQF(Y3); \
	DWREQF(Y4); \
	DWREQF(Y5); \
	DWREQF(Y6); \
	DWREQF(Y7); \
	MOVL zp+64(FP), R9; \
	MOVQ R9, X14; \
	VPBROADCASTW X14, Y14; \
	MOVL lo+68(FP), R9; \
	MOVQ R9, X8; \
	VPBROADCASTB X8, Y8; \
	MOVL hi+72(FP), R9; \
	MOVQ R9, X9; \
	VPBROADCASTB X9, Y9; \
	VMOVDQU dwperm<>(SB), Y15; \
	LEAQ (R14)(R14*2), R9; \
	LEAQ (R13)(R14*4), SI; \
	DWPACK4(Y0, Y1, Y2, Y3, X0, R13); \
	DWPACK4(Y4, Y5, Y6, Y7, X4, SI)

// Next block: p += 8·step, out += 8·ostride; loop while blocks remain.
#define NEXT_BLOCK(step, blk) \
	MOVQ step, DX; \
	LEAQ (AX)(DX*8), AX; \
	LEAQ (R13)(R14*8), R13; \
	DECQ R12; \
	JNZ blk

DATA dwperm<>+0(SB)/8, $0x0000000400000000
DATA dwperm<>+8(SB)/8, $0x0000000500000001
DATA dwperm<>+16(SB)/8, $0x0000000600000002
DATA dwperm<>+24(SB)/8, $0x0000000700000003
GLOBL dwperm<>(SB), RODATA|NOPTR, $32

// func dwF32Row(p *float32, offs *int, nt int, w *float32, bias *[dwCB]float32, step int, out *float32, ostride int, lo, hi float32, nblk int)
TEXT ·dwF32Row(SB), NOSPLIT, $0-80
	F32_ROW_INIT

f32blk:
	MOVQ step+40(FP), DX
	TAP_INIT

f32loop:
	TAP_ADDR
	VMOVUPS (R10), Y8
	ADDQ $32, R10
	VFMADD231PS (SI), Y8, Y0
	VFMADD231PS (SI)(DX*1), Y8, Y1
	VFMADD231PS (SI)(DX*2), Y8, Y2
	VFMADD231PS (SI)(R8*1), Y8, Y3
	VFMADD231PS (DI), Y8, Y4
	VFMADD231PS (DI)(DX*1), Y8, Y5
	VFMADD231PS (DI)(DX*2), Y8, Y6
	VFMADD231PS (DI)(R8*1), Y8, Y7
	DECQ CX
	JNZ f32loop

	F32_OUT8
	NEXT_BLOCK(step+40(FP), f32blk)
	VZEROUPPER
	RET

// func dwF32RowZ(p *float32, offs *int, nt int, w *float32, bias *[dwCB]float32, step int, out *float32, ostride int, lo, hi float32, nblk int)
TEXT ·dwF32RowZ(SB), NOSPLIT, $0-80
	F32_ROW_INIT

f32zblk:
	TAP_INIT_Z
	TAPS_Z(f32zloop, VBROADCASTF32X8, VFMADD231PS)
	SPLIT_Z
	F32_OUT8
	NEXT_BLOCK(step+40(FP), f32zblk)
	VZEROUPPER
	RET

// func dwI8K8AVX2(p *int32, offs *int, nt int, w *int32, step int, tile *int32)
TEXT ·dwI8K8AVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), AX
	MOVQ step+32(FP), DX
	TAP_INIT
	TAPS_MADDWD(i8loop)
	I8_TILE_OUT
	RET

// func dwI8K8VNNI(p *int32, offs *int, nt int, w *int32, step int, tile *int32)
TEXT ·dwI8K8VNNI(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), AX
	MOVQ step+32(FP), DX
	TAP_INIT
	TAPS_DPWSSD(vnniloop)
	I8_TILE_OUT
	RET

// func dwI8RowAVX2(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)
TEXT ·dwI8RowAVX2(SB), NOSPLIT, $0-88
	MOVQ p+0(FP), AX
	MOVQ out+48(FP), R13
	MOVQ ostride+56(FP), R14
	MOVQ nblk+80(FP), R12

rablk:
	MOVQ step+32(FP), DX
	TAP_INIT
	TAPS_MADDWD(raloop)
	DWREQ_OUT
	NEXT_BLOCK(step+32(FP), rablk)
	VZEROUPPER
	RET

// func dwI8RowVNNI(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)
TEXT ·dwI8RowVNNI(SB), NOSPLIT, $0-88
	MOVQ p+0(FP), AX
	MOVQ out+48(FP), R13
	MOVQ ostride+56(FP), R14
	MOVQ nblk+80(FP), R12

rvblk:
	MOVQ step+32(FP), DX
	TAP_INIT
	TAPS_DPWSSD(rvloop)
	DWREQ_OUT
	NEXT_BLOCK(step+32(FP), rvblk)
	VZEROUPPER
	RET

// func dwI8RowAVX2F(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)
TEXT ·dwI8RowAVX2F(SB), NOSPLIT, $0-88
	MOVQ p+0(FP), AX
	MOVQ out+48(FP), R13
	MOVQ ostride+56(FP), R14
	MOVQ nblk+80(FP), R12

rafblk:
	MOVQ step+32(FP), DX
	TAP_INIT
	TAPS_MADDWD(rafloop)
	DWREQF_OUT
	NEXT_BLOCK(step+32(FP), rafblk)
	VZEROUPPER
	RET

// func dwI8RowVNNIF(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)
TEXT ·dwI8RowVNNIF(SB), NOSPLIT, $0-88
	MOVQ p+0(FP), AX
	MOVQ out+48(FP), R13
	MOVQ ostride+56(FP), R14
	MOVQ nblk+80(FP), R12

rvfblk:
	MOVQ step+32(FP), DX
	TAP_INIT
	TAPS_DPWSSD(rvfloop)
	DWREQF_OUT
	NEXT_BLOCK(step+32(FP), rvfblk)
	VZEROUPPER
	RET

// func dwI8RowVNNIZ(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)
TEXT ·dwI8RowVNNIZ(SB), NOSPLIT, $0-88
	MOVQ p+0(FP), AX
	MOVQ out+48(FP), R13
	MOVQ ostride+56(FP), R14
	MOVQ nblk+80(FP), R12

rvzblk:
	TAP_INIT_Z
	TAPS_Z(rvzloop, VBROADCASTI32X8, VPDPWSSD)
	SPLIT_Z
	DWREQ_OUT
	NEXT_BLOCK(step+32(FP), rvzblk)
	VZEROUPPER
	RET

// func dwI8RowVNNIFZ(p *int32, offs *int, nt int, w *int32, step int, prm *int32, out *int8, ostride int, zp, lo, hi int32, nblk int)
TEXT ·dwI8RowVNNIFZ(SB), NOSPLIT, $0-88
	MOVQ p+0(FP), AX
	MOVQ out+48(FP), R13
	MOVQ ostride+56(FP), R14
	MOVQ nblk+80(FP), R12

rvfzblk:
	TAP_INIT_Z
	TAPS_Z(rvfzloop, VBROADCASTI32X8, VPDPWSSD)
	SPLIT_Z
	DWREQF_OUT
	NEXT_BLOCK(step+32(FP), rvfzblk)
	VZEROUPPER
	RET

// func dwGatherF32AVX(dst, src unsafe.Pointer, n, sstride int)
TEXT ·dwGatherF32AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ sstride+24(FP), DX
	CMPQ CX, $2
	JLT gf1

gf2:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(DX*1), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	LEAQ (SI)(DX*2), SI
	ADDQ $64, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE gf2

gf1:
	TESTQ CX, CX
	JZ gfdone
	VMOVUPS (SI), Y0
	VMOVUPS Y0, (DI)

gfdone:
	VZEROUPPER
	RET

// func dwGatherI8AVX2(dst *int32, src *int8, n, sstride int, zp int32)
TEXT ·dwGatherI8AVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ sstride+24(FP), DX
	MOVL zp+32(FP), R9
	VMOVD R9, X15
	VPBROADCASTD X15, Y15
	CMPQ CX, $2
	JLT gi1

gi2:
	VPMOVSXBD (SI), Y0
	VPMOVSXBD (SI)(DX*1), Y1
	VPSUBD Y15, Y0, Y0
	VPSUBD Y15, Y1, Y1
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	LEAQ (SI)(DX*2), SI
	ADDQ $64, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE gi2

gi1:
	TESTQ CX, CX
	JZ gidone
	VPMOVSXBD (SI), Y0
	VPSUBD Y15, Y0, Y0
	VMOVDQU Y0, (DI)

gidone:
	VZEROUPPER
	RET
