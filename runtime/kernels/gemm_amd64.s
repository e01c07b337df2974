//go:build amd64 && !noasm

#include "textflag.h"
#include "gemm_loops_amd64.h"

// GEMM micro-kernels; gemm_amd64.go documents each with the Go loop it
// implements. Go assembler operand order: sources first, destination last
// (VFMADD231PS b, a, acc is acc += a·b).

// ---- float32, AVX2 + FMA ----------------------------------------------
//
// AX: a, R9: rs, R12: 3·rs, R11: ks, BX: b, R8: bs, CX: k.
// Accumulators Y0..Y11 (row i, panel p in Y(3i+p) for 24 columns,
// Y(2i+p) for 16, Y(i) for 8); Y12..Y14 hold B, Y15 the broadcast of A.

#define F32_PROLOGUE \
	MOVQ k+0(FP), CX; \
	MOVQ a+8(FP), AX; \
	MOVQ rs+16(FP), R9; \
	LEAQ (R9)(R9*2), R12; \
	MOVQ ks+24(FP), R11; \
	MOVQ b+32(FP), BX; \
	MOVQ bs+40(FP), R8

// int8 kernels (see the int8 sections below).
#define I8_PROLOGUE \
	MOVQ kq+0(FP), CX; \
	MOVQ a+8(FP), AX; \
	MOVQ rs+16(FP), R9; \
	LEAQ (R9)(R9*2), R12; \
	MOVQ ks+24(FP), R11; \
	MOVQ b+32(FP), BX; \
	MOVL $0x80808080, R13; \
	VPBROADCASTD R13, Y16

// One k step over 3 panels; bo is the byte offset of the k in the panels.
#define F32_STEP24(bo) \
	VMOVUPS bo(BX), Y12; \
	VMOVUPS bo(BX)(R8*1), Y13; \
	VMOVUPS bo(BX)(R8*2), Y14; \
	VBROADCASTSS (AX), Y15; \
	VFMADD231PS Y12, Y15, Y0; \
	VFMADD231PS Y13, Y15, Y1; \
	VFMADD231PS Y14, Y15, Y2; \
	VBROADCASTSS (AX)(R9*1), Y15; \
	VFMADD231PS Y12, Y15, Y3; \
	VFMADD231PS Y13, Y15, Y4; \
	VFMADD231PS Y14, Y15, Y5; \
	VBROADCASTSS (AX)(R9*2), Y15; \
	VFMADD231PS Y12, Y15, Y6; \
	VFMADD231PS Y13, Y15, Y7; \
	VFMADD231PS Y14, Y15, Y8; \
	VBROADCASTSS (AX)(R12*1), Y15; \
	VFMADD231PS Y12, Y15, Y9; \
	VFMADD231PS Y13, Y15, Y10; \
	VFMADD231PS Y14, Y15, Y11; \
	ADDQ R11, AX

#define F32_STEP16(bo) \
	VMOVUPS bo(BX), Y12; \
	VMOVUPS bo(BX)(R8*1), Y13; \
	VBROADCASTSS (AX), Y15; \
	VFMADD231PS Y12, Y15, Y0; \
	VFMADD231PS Y13, Y15, Y1; \
	VBROADCASTSS (AX)(R9*1), Y14; \
	VFMADD231PS Y12, Y14, Y2; \
	VFMADD231PS Y13, Y14, Y3; \
	VBROADCASTSS (AX)(R9*2), Y15; \
	VFMADD231PS Y12, Y15, Y4; \
	VFMADD231PS Y13, Y15, Y5; \
	VBROADCASTSS (AX)(R12*1), Y14; \
	VFMADD231PS Y12, Y14, Y6; \
	VFMADD231PS Y13, Y14, Y7; \
	ADDQ R11, AX

#define F32_STEP8(bo) \
	VMOVUPS bo(BX), Y12; \
	VBROADCASTSS (AX), Y15; \
	VFMADD231PS Y12, Y15, Y0; \
	VBROADCASTSS (AX)(R9*1), Y14; \
	VFMADD231PS Y12, Y14, Y1; \
	VBROADCASTSS (AX)(R9*2), Y13; \
	VFMADD231PS Y12, Y13, Y2; \
	VBROADCASTSS (AX)(R12*1), Y15; \
	VFMADD231PS Y12, Y15, Y3; \
	ADDQ R11, AX

// Epilogue: DI: c, SI: ldc, DX: bias, R10: mask (nil: all columns).
// With a mask, the last panel's bias is loaded and its columns stored
// under it (VMASKMOVPS neither reads nor writes masked-out lanes).
#define F32_EPI_INIT \
	MOVQ c+48(FP), DI; \
	MOVQ ldc+56(FP), SI; \
	MOVQ bias+64(FP), DX; \
	MOVQ mask+72(FP), R10

// Last-panel bias at off(DX) into r, under the mask when there is one.
#define F32_BIAS_LAST(off, r, nomask, done) \
	TESTQ R10, R10; \
	JZ nomask; \
	VMOVDQU (R10), Y15; \
	VMASKMOVPS off(DX), Y15, r; \
	JMP done; \
nomask: \
	VMOVUPS off(DX), r; \
done:

// Y14 = lo, Y15 = hi, Y13 = mask (when R10 is not nil).
#define F32_CLAMP_INIT \
	VBROADCASTSS lo+80(FP), Y14; \
	VBROADCASTSS hi+84(FP), Y15

// max(lo, v) then min(hi, v), keeping v when it is NaN (as ClampF32).
#define F32_CLAMP(r) \
	VMAXPS r, Y14, r; \
	VMINPS r, Y15, r

#define F32_CS(r, off) \
	F32_CLAMP(r); \
	VMOVUPS r, off(DI)

#define F32_CSM(r, off) \
	F32_CLAMP(r); \
	VMASKMOVPS r, Y13, off(DI)

// func gemmF32K24(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask *int32, lo, hi float32)
TEXT ·gemmF32K24(SB), NOSPLIT, $0-88
	F32_PROLOGUE
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	F32_LOOP(F32_STEP24, f24loop4, f24tail, f24loop1, f24done)
	F32_EPI_INIT
	TESTQ DX, DX
	JZ f24nobias
	VMOVUPS (DX), Y12
	VMOVUPS 32(DX), Y13
	F32_BIAS_LAST(64, Y14, f24bfull, f24bdone)
	VADDPS Y12, Y0, Y0
	VADDPS Y13, Y1, Y1
	VADDPS Y14, Y2, Y2
	VADDPS Y12, Y3, Y3
	VADDPS Y13, Y4, Y4
	VADDPS Y14, Y5, Y5
	VADDPS Y12, Y6, Y6
	VADDPS Y13, Y7, Y7
	VADDPS Y14, Y8, Y8
	VADDPS Y12, Y9, Y9
	VADDPS Y13, Y10, Y10
	VADDPS Y14, Y11, Y11

f24nobias:
	F32_CLAMP_INIT
	TESTQ R10, R10
	JNZ f24masked
	F32_CS(Y0, 0)
	F32_CS(Y1, 32)
	F32_CS(Y2, 64)
	ADDQ SI, DI
	F32_CS(Y3, 0)
	F32_CS(Y4, 32)
	F32_CS(Y5, 64)
	ADDQ SI, DI
	F32_CS(Y6, 0)
	F32_CS(Y7, 32)
	F32_CS(Y8, 64)
	ADDQ SI, DI
	F32_CS(Y9, 0)
	F32_CS(Y10, 32)
	F32_CS(Y11, 64)
	VZEROUPPER
	RET

f24masked:
	VMOVDQU (R10), Y13
	F32_CS(Y0, 0)
	F32_CS(Y1, 32)
	F32_CSM(Y2, 64)
	ADDQ SI, DI
	F32_CS(Y3, 0)
	F32_CS(Y4, 32)
	F32_CSM(Y5, 64)
	ADDQ SI, DI
	F32_CS(Y6, 0)
	F32_CS(Y7, 32)
	F32_CSM(Y8, 64)
	ADDQ SI, DI
	F32_CS(Y9, 0)
	F32_CS(Y10, 32)
	F32_CSM(Y11, 64)
	VZEROUPPER
	RET

// func gemmF32K16(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask *int32, lo, hi float32)
TEXT ·gemmF32K16(SB), NOSPLIT, $0-88
	F32_PROLOGUE
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	F32_LOOP(F32_STEP16, f16loop4, f16tail, f16loop1, f16done)
	F32_EPI_INIT
	TESTQ DX, DX
	JZ f16nobias
	VMOVUPS (DX), Y12
	F32_BIAS_LAST(32, Y13, f16bfull, f16bdone)
	VADDPS Y12, Y0, Y0
	VADDPS Y13, Y1, Y1
	VADDPS Y12, Y2, Y2
	VADDPS Y13, Y3, Y3
	VADDPS Y12, Y4, Y4
	VADDPS Y13, Y5, Y5
	VADDPS Y12, Y6, Y6
	VADDPS Y13, Y7, Y7

f16nobias:
	F32_CLAMP_INIT
	TESTQ R10, R10
	JNZ f16masked
	F32_CS(Y0, 0)
	F32_CS(Y1, 32)
	ADDQ SI, DI
	F32_CS(Y2, 0)
	F32_CS(Y3, 32)
	ADDQ SI, DI
	F32_CS(Y4, 0)
	F32_CS(Y5, 32)
	ADDQ SI, DI
	F32_CS(Y6, 0)
	F32_CS(Y7, 32)
	VZEROUPPER
	RET

f16masked:
	VMOVDQU (R10), Y13
	F32_CS(Y0, 0)
	F32_CSM(Y1, 32)
	ADDQ SI, DI
	F32_CS(Y2, 0)
	F32_CSM(Y3, 32)
	ADDQ SI, DI
	F32_CS(Y4, 0)
	F32_CSM(Y5, 32)
	ADDQ SI, DI
	F32_CS(Y6, 0)
	F32_CSM(Y7, 32)
	VZEROUPPER
	RET

// func gemmF32K8(k int, a *float32, rs, ks int, b *float32, bs int, c *float32, ldc int, bias *float32, mask *int32, lo, hi float32)
TEXT ·gemmF32K8(SB), NOSPLIT, $0-88
	F32_PROLOGUE
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	F32_LOOP(F32_STEP8, f8loop4, f8tail, f8loop1, f8done)
	F32_EPI_INIT
	TESTQ DX, DX
	JZ f8nobias
	F32_BIAS_LAST(0, Y12, f8bfull, f8bdone)
	VADDPS Y12, Y0, Y0
	VADDPS Y12, Y1, Y1
	VADDPS Y12, Y2, Y2
	VADDPS Y12, Y3, Y3

f8nobias:
	F32_CLAMP_INIT
	TESTQ R10, R10
	JNZ f8masked
	F32_CS(Y0, 0)
	ADDQ SI, DI
	F32_CS(Y1, 0)
	ADDQ SI, DI
	F32_CS(Y2, 0)
	ADDQ SI, DI
	F32_CS(Y3, 0)
	VZEROUPPER
	RET

f8masked:
	VMOVDQU (R10), Y13
	F32_CSM(Y0, 0)
	ADDQ SI, DI
	F32_CSM(Y1, 0)
	ADDQ SI, DI
	F32_CSM(Y2, 0)
	ADDQ SI, DI
	F32_CSM(Y3, 0)
	VZEROUPPER
	RET

// ---- int8, AVX512-VNNI (EVEX VPDPBUSD on ymm) --------------------------
//
// AX: a (group of four k of row i at AX + i·rs, next group at + ks),
// R9: rs, R12: 3·rs, R11: ks, BX: b after the panel's 32-byte column
// terms, R8: panel stride, CX: groups of four k. Accumulators as for
// float32, starting from the column terms; Y12..Y14 hold B, Y15 the
// broadcast of A XOR Y16 = 0x80 bytes (int8 a → uint8 a+128).

#define I8_A(src, r) \
	VPBROADCASTD src, r; \
	VPXORD Y16, r, r

#define I8_STEP24(bo) \
	VMOVDQU bo(BX), Y12; \
	VMOVDQU bo(BX)(R8*1), Y13; \
	VMOVDQU bo(BX)(R8*2), Y14; \
	I8_A((AX), Y15); \
	VPDPBUSD Y12, Y15, Y0; \
	VPDPBUSD Y13, Y15, Y1; \
	VPDPBUSD Y14, Y15, Y2; \
	I8_A((AX)(R9*1), Y15); \
	VPDPBUSD Y12, Y15, Y3; \
	VPDPBUSD Y13, Y15, Y4; \
	VPDPBUSD Y14, Y15, Y5; \
	I8_A((AX)(R9*2), Y15); \
	VPDPBUSD Y12, Y15, Y6; \
	VPDPBUSD Y13, Y15, Y7; \
	VPDPBUSD Y14, Y15, Y8; \
	I8_A((AX)(R12*1), Y15); \
	VPDPBUSD Y12, Y15, Y9; \
	VPDPBUSD Y13, Y15, Y10; \
	VPDPBUSD Y14, Y15, Y11; \
	ADDQ R11, AX

#define I8_STEP16(bo) \
	VMOVDQU bo(BX), Y12; \
	VMOVDQU bo(BX)(R8*1), Y13; \
	I8_A((AX), Y15); \
	VPDPBUSD Y12, Y15, Y0; \
	VPDPBUSD Y13, Y15, Y1; \
	I8_A((AX)(R9*1), Y14); \
	VPDPBUSD Y12, Y14, Y2; \
	VPDPBUSD Y13, Y14, Y3; \
	I8_A((AX)(R9*2), Y15); \
	VPDPBUSD Y12, Y15, Y4; \
	VPDPBUSD Y13, Y15, Y5; \
	I8_A((AX)(R12*1), Y14); \
	VPDPBUSD Y12, Y14, Y6; \
	VPDPBUSD Y13, Y14, Y7; \
	ADDQ R11, AX

#define I8_STEP8(bo) \
	VMOVDQU bo(BX), Y12; \
	I8_A((AX), Y15); \
	VPDPBUSD Y12, Y15, Y0; \
	I8_A((AX)(R9*1), Y14); \
	VPDPBUSD Y12, Y14, Y1; \
	I8_A((AX)(R9*2), Y13); \
	VPDPBUSD Y12, Y13, Y2; \
	I8_A((AX)(R12*1), Y15); \
	VPDPBUSD Y12, Y15, Y3; \
	ADDQ R11, AX

// func gemmI8K24VNNI(kq int, a *int8, rs, ks int, b *int64, bs int, c *int32)
TEXT ·gemmI8K24VNNI(SB), NOSPLIT, $0-56
	I8_PROLOGUE
	MOVQ bs+40(FP), R8
	VMOVDQU (BX), Y0
	VMOVDQU (BX)(R8*1), Y1
	VMOVDQU (BX)(R8*2), Y2
	VMOVDQA Y0, Y3
	VMOVDQA Y1, Y4
	VMOVDQA Y2, Y5
	VMOVDQA Y0, Y6
	VMOVDQA Y1, Y7
	VMOVDQA Y2, Y8
	VMOVDQA Y0, Y9
	VMOVDQA Y1, Y10
	VMOVDQA Y2, Y11
	ADDQ $32, BX
	I8_LOOP(I8_STEP24, q24loop2, q24tail, q24done)
	MOVQ c+48(FP), DI
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y5, 160(DI)
	VMOVDQU Y6, 192(DI)
	VMOVDQU Y7, 224(DI)
	VMOVDQU Y8, 256(DI)
	VMOVDQU Y9, 288(DI)
	VMOVDQU Y10, 320(DI)
	VMOVDQU Y11, 352(DI)
	VZEROUPPER
	RET

// func gemmI8K16VNNI(kq int, a *int8, rs, ks int, b *int64, bs int, c *int32)
TEXT ·gemmI8K16VNNI(SB), NOSPLIT, $0-56
	I8_PROLOGUE
	MOVQ bs+40(FP), R8
	VMOVDQU (BX), Y0
	VMOVDQU (BX)(R8*1), Y1
	VMOVDQA Y0, Y2
	VMOVDQA Y1, Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y0, Y6
	VMOVDQA Y1, Y7
	ADDQ $32, BX
	I8_LOOP(I8_STEP16, q16loop2, q16tail, q16done)
	MOVQ c+48(FP), DI
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 96(DI)
	VMOVDQU Y3, 128(DI)
	VMOVDQU Y4, 192(DI)
	VMOVDQU Y5, 224(DI)
	VMOVDQU Y6, 288(DI)
	VMOVDQU Y7, 320(DI)
	VZEROUPPER
	RET

// func gemmI8K8VNNI(kq int, a *int8, rs, ks int, b *int64, c *int32)
TEXT ·gemmI8K8VNNI(SB), NOSPLIT, $0-48
	I8_PROLOGUE
	VMOVDQU (BX), Y0
	VMOVDQA Y0, Y1
	VMOVDQA Y0, Y2
	VMOVDQA Y0, Y3
	ADDQ $32, BX
	I8_LOOP(I8_STEP8, q8loop2, q8tail, q8done)
	MOVQ c+40(FP), DI
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 96(DI)
	VMOVDQU Y2, 192(DI)
	VMOVDQU Y3, 288(DI)
	VZEROUPPER
	RET

// ---- int8, AVX2 (VPMADDWD) ----------------------------------------------
//
// Registers for A as in the VNNI kernels. Y8 = B columns 0..3 and Y9 =
// columns 4..7 of one group of four k, sign-extended to 16 bits
// (column-major: 4 k per column); Y10 = the row's 4 A bytes sign-extended
// and repeated. VPMADDWD leaves two partial sums per column (k 0-1 and
// k 2-3) in adjacent int32 lanes: row i accumulates columns 0..3 in Y(2i)
// and 4..7 in Y(2i+1); VPHADDD and VPERMQ fold them at the end. A is not
// offset, so the column terms are not used.

#define I8W_ROW(src, r0, r1) \
	VPBROADCASTD src, X10; \
	VPMOVSXBW X10, Y10; \
	VPMADDWD Y8, Y10, Y11; \
	VPADDD Y11, r0, r0; \
	VPMADDWD Y9, Y10, Y12; \
	VPADDD Y12, r1, r1

#define I8W_OUT(r0, r1, off) \
	VPHADDD r1, r0, Y11; \
	VPERMQ $0xD8, Y11, Y11; \
	VMOVDQU Y11, off(DI)

// func gemmI8K8AVX2(kq int, a *int8, rs, ks int, b *int64, c *int32)
TEXT ·gemmI8K8AVX2(SB), NOSPLIT, $0-48
	MOVQ kq+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ rs+16(FP), R9
	LEAQ (R9)(R9*2), R12
	MOVQ ks+24(FP), R11
	MOVQ b+32(FP), BX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	ADDQ $32, BX
	TESTQ CX, CX
	JZ w8done

w8loop:
	VPMOVSXBW (BX), Y8
	VPMOVSXBW 16(BX), Y9
	I8W_ROW((AX), Y0, Y1)
	I8W_ROW((AX)(R9*1), Y2, Y3)
	I8W_ROW((AX)(R9*2), Y4, Y5)
	I8W_ROW((AX)(R12*1), Y6, Y7)
	ADDQ R11, AX
	ADDQ $32, BX
	DECQ CX
	JNZ w8loop

w8done:
	MOVQ c+40(FP), DI
	I8W_OUT(Y0, Y1, 0)
	I8W_OUT(Y2, Y3, 96)
	I8W_OUT(Y4, Y5, 192)
	I8W_OUT(Y6, Y7, 288)
	VZEROUPPER
	RET

// ---- int8 output stage, AVX2 ---------------------------------------------
//
// Per group of 8 columns the parameters are memory operands: DX colAdd,
// R10 mul, R11 left, R12 right, R13 mask; Y2 = mul of the odd lanes moved
// to the even ones, Y6 = mask>>1. Y7 = zp (int16), Y8 = lo, Y9 = hi
// (int8), Y10 = 2³⁰ in each int64 lane, Y15 = the VPERMD order below.
// The product x·mul is formed in int64 lanes for the even and the odd
// int32 lanes (VPMULDQ); (p + 2³⁰) >> 31 fits in int32, so the low half of
// a logical shift is enough. The four rows' int32 results are packed
// together with signed saturation (to int16, + zp saturating, to int8),
// which leaves the clamp to [lo, hi] ⊂ [−128, 127] unchanged. The last
// group of cols%8 columns copies its parameters under a lane mask
// (VPMASKMOVD) to the stack, then runs the same code and stores bytes.

// The plain variant (no left shifts, rowAdd all zero) skips these.
#define REQ_ROWADD(roff, r) \
	VPBROADCASTD roff(R9), Y5; \
	VPADDD Y5, r, r; \
	VPSLLVD (R11), r, r

#define REQ_NONE(roff, r)

// Row of the tile at toff(SI) with rowAdd at roff(R9): int32 result in r.
#define REQ_ROW(toff, roff, r, EXTRA) \
	VMOVDQU toff(SI), r; \
	VPADDD (DX), r, r; \
	EXTRA(roff, r); \
	VPMULDQ (R10), r, Y11; \
	VPSRLQ $32, r, Y12; \
	VPMULDQ Y2, Y12, Y12; \
	VPADDQ Y10, Y11, Y11; \
	VPADDQ Y10, Y12, Y12; \
	VPSRLQ $31, Y11, Y11; \
	VPSLLQ $1, Y12, Y12; \
	VPBLENDD $0xAA, Y12, Y11, r; \
	VPAND (R13), r, Y11; \
	VPSRLD $31, r, Y12; \
	VPADDD Y6, Y12, Y12; \
	VPCMPGTD Y12, Y11, Y11; \
	VPSRAVD (R12), r, r; \
	VPSUBD Y11, r, r

// All four rows into Y0 = row 0 | row 1 (X0) and Y1's low half = row 2 |
// row 3, 8 int8 each.
#define REQ_GROUP(EXTRA) \
	VMOVDQU (R10), Y2; \
	VPSRLQ $32, Y2, Y2; \
	VMOVDQU (R13), Y6; \
	VPSRLD $1, Y6, Y6; \
	REQ_ROW(0, 0, Y0, EXTRA); \
	REQ_ROW(96, 4, Y1, EXTRA); \
	REQ_ROW(192, 8, Y3, EXTRA); \
	REQ_ROW(288, 12, Y4, EXTRA); \
	VPACKSSDW Y1, Y0, Y0; \
	VPACKSSDW Y4, Y3, Y3; \
	VPADDSW Y7, Y0, Y0; \
	VPADDSW Y7, Y3, Y3; \
	VPACKSSWB Y3, Y0, Y0; \
	VPMAXSB Y8, Y0, Y0; \
	VPMINSB Y9, Y0, Y0; \
	VPERMD Y0, Y15, Y0; \
	VEXTRACTI128 $1, Y0, X1

// After VPACKSSDW and VPACKSSWB the dwords hold rows 0-3 of columns 0-3,
// then rows 0-3 of columns 4-7; this order puts each row's 8 bytes in one
// qword.
DATA reqperm<>+0(SB)/8, $0x0000000400000000
DATA reqperm<>+8(SB)/8, $0x0000000500000001
DATA reqperm<>+16(SB)/8, $0x0000000600000002
DATA reqperm<>+24(SB)/8, $0x0000000700000003
GLOBL reqperm<>(SB), RODATA|NOPTR, $32

// Store the CX low bytes of R14 at (AX).
#define REQ_STORE_TAIL(loop) \
	MOVQ AX, R11; \
	MOVQ CX, R10; \
loop: \
	MOVB R14, (R11); \
	SHRQ $8, R14; \
	INCQ R11; \
	DECQ R10; \
	JNZ loop

// func gemmRequantAVX2(c *int32, rows, cols int, out *int8, ldo int, colAdd *int32, rowAdd *[4]int32, mul, left, right, mask, lanes *int32, zp, lo, hi, plain int32)
TEXT ·gemmRequantAVX2(SB), NOSPLIT, $160-112
	MOVQ c+0(FP), SI
	MOVQ rows+8(FP), BX
	MOVQ cols+16(FP), CX
	MOVQ out+24(FP), DI
	MOVQ ldo+32(FP), R8
	MOVQ colAdd+40(FP), DX
	MOVQ rowAdd+48(FP), R9
	MOVQ mul+56(FP), R10
	MOVQ left+64(FP), R11
	MOVQ right+72(FP), R12
	MOVQ mask+80(FP), R13
	MOVL zp+96(FP), AX
	MOVQ AX, X7
	VPBROADCASTW X7, Y7
	MOVL lo+100(FP), AX
	MOVQ AX, X8
	VPBROADCASTB X8, Y8
	MOVL hi+104(FP), AX
	MOVQ AX, X9
	VPBROADCASTB X9, Y9
	MOVQ $0x40000000, AX
	MOVQ AX, X10
	VPBROADCASTQ X10, Y10
	VMOVDQU reqperm<>(SB), Y15
	CMPQ CX, $8
	JLT rqtail

rqgroup:
	MOVL plain+108(FP), AX
	TESTL AX, AX
	JNZ rqplain
	REQ_GROUP(REQ_ROWADD)
	JMP rqstore

rqplain:
	REQ_GROUP(REQ_NONE)

rqstore:
	MOVQ DI, AX
	MOVQ X0, (AX)
	CMPQ BX, $2
	JLT rqnext
	ADDQ R8, AX
	VPEXTRQ $1, X0, (AX)
	CMPQ BX, $3
	JLT rqnext
	ADDQ R8, AX
	MOVQ X1, (AX)
	CMPQ BX, $4
	JLT rqnext
	ADDQ R8, AX
	VPEXTRQ $1, X1, (AX)

rqnext:
	ADDQ $32, SI
	ADDQ $8, DI
	ADDQ $32, DX
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, R13
	SUBQ $8, CX
	CMPQ CX, $8
	JGE rqgroup

rqtail:
	TESTQ CX, CX
	JZ rqdone
	// Copy the parameters of the last columns to the stack (zeros past
	// them) and point the parameter registers there.
	MOVQ lanes+88(FP), AX
	VMOVDQU (AX), Y14
	VPMASKMOVD (DX), Y14, Y0
	VMOVDQU Y0, 0(SP)
	VPMASKMOVD (R10), Y14, Y0
	VMOVDQU Y0, 32(SP)
	VPMASKMOVD (R11), Y14, Y0
	VMOVDQU Y0, 64(SP)
	VPMASKMOVD (R12), Y14, Y0
	VMOVDQU Y0, 96(SP)
	VPMASKMOVD (R13), Y14, Y0
	VMOVDQU Y0, 128(SP)
	LEAQ 0(SP), DX
	LEAQ 32(SP), R10
	LEAQ 64(SP), R11
	LEAQ 96(SP), R12
	LEAQ 128(SP), R13
	REQ_GROUP(REQ_ROWADD)
	MOVQ DI, AX
	MOVQ X0, R14
	REQ_STORE_TAIL(rqt0)
	CMPQ BX, $2
	JLT rqdone
	ADDQ R8, AX
	VPEXTRQ $1, X0, R14
	REQ_STORE_TAIL(rqt1)
	CMPQ BX, $3
	JLT rqdone
	ADDQ R8, AX
	MOVQ X1, R14
	REQ_STORE_TAIL(rqt2)
	CMPQ BX, $4
	JLT rqdone
	ADDQ R8, AX
	VPEXTRQ $1, X1, R14
	REQ_STORE_TAIL(rqt3)

rqdone:
	VZEROUPPER
	RET

// ---- fp32 output stage (XNNPACK's requantization) ---------------------
//
// Row of the tile at toff(SI) with rowAdd at roff(R9): x = tile + colAdd
// + rowAdd converted to float32, times the scales at (R10), clamped to
// [Y2, Y6] = [lo − zp, hi − zp] as floats, rounded to nearest even
// (VCVTPS2DQ under the default MXCSR): int32 result in r.
#define REQF_ROW(toff, roff, r) \
	VMOVDQU toff(SI), r; \
	VPADDD (DX), r, r; \
	VPBROADCASTD roff(R9), Y5; \
	VPADDD Y5, r, r; \
	VCVTDQ2PS r, r; \
	VMULPS (R10), r, r; \
	VMAXPS Y2, r, r; \
	VMINPS Y6, r, r; \
	VCVTPS2DQ r, r

#define REQF_GROUP \
	REQF_ROW(0, 0, Y0); \
	REQF_ROW(96, 4, Y1); \
	REQF_ROW(192, 8, Y3); \
	REQF_ROW(288, 12, Y4); \
	VPACKSSDW Y1, Y0, Y0; \
	VPACKSSDW Y4, Y3, Y3; \
	VPADDSW Y7, Y0, Y0; \
	VPADDSW Y7, Y3, Y3; \
	VPACKSSWB Y3, Y0, Y0; \
	VPMAXSB Y8, Y0, Y0; \
	VPMINSB Y9, Y0, Y0; \
	VPERMD Y0, Y15, Y0; \
	VEXTRACTI128 $1, Y0, X1

// func gemmRequantF32AVX2(c *int32, rows, cols int, out *int8, ldo int, colAdd *int32, rowAdd *[4]int32, scale *float32, lanes *int32, zp, lo, hi int32, flo, fhi float32)
TEXT ·gemmRequantF32AVX2(SB), NOSPLIT, $64-92
	MOVQ c+0(FP), SI
	MOVQ rows+8(FP), BX
	MOVQ cols+16(FP), CX
	MOVQ out+24(FP), DI
	MOVQ ldo+32(FP), R8
	MOVQ colAdd+40(FP), DX
	MOVQ rowAdd+48(FP), R9
	MOVQ scale+56(FP), R10
	MOVL zp+72(FP), AX
	MOVQ AX, X7
	VPBROADCASTW X7, Y7
	MOVL lo+76(FP), AX
	MOVQ AX, X8
	VPBROADCASTB X8, Y8
	MOVL hi+80(FP), AX
	MOVQ AX, X9
	VPBROADCASTB X9, Y9
	VBROADCASTSS flo+84(FP), Y2
	VBROADCASTSS fhi+88(FP), Y6
	VMOVDQU reqperm<>(SB), Y15
	CMPQ CX, $8
	JLT rqftail

rqfgroup:
	REQF_GROUP
	MOVQ DI, AX
	MOVQ X0, (AX)
	CMPQ BX, $2
	JLT rqfnext
	ADDQ R8, AX
	VPEXTRQ $1, X0, (AX)
	CMPQ BX, $3
	JLT rqfnext
	ADDQ R8, AX
	MOVQ X1, (AX)
	CMPQ BX, $4
	JLT rqfnext
	ADDQ R8, AX
	VPEXTRQ $1, X1, (AX)

rqfnext:
	ADDQ $32, SI
	ADDQ $8, DI
	ADDQ $32, DX
	ADDQ $32, R10
	SUBQ $8, CX
	CMPQ CX, $8
	JGE rqfgroup

rqftail:
	TESTQ CX, CX
	JZ rqfdone
	// The last columns' colAdd and scales under the lane mask (zeros past
	// them) on the stack.
	MOVQ lanes+64(FP), AX
	VMOVDQU (AX), Y14
	VPMASKMOVD (DX), Y14, Y0
	VMOVDQU Y0, 0(SP)
	VPMASKMOVD (R10), Y14, Y0
	VMOVDQU Y0, 32(SP)
	LEAQ 0(SP), DX
	LEAQ 32(SP), R10
	REQF_GROUP
	MOVQ DI, AX
	MOVQ X0, R14
	REQ_STORE_TAIL(rqft0)
	CMPQ BX, $2
	JLT rqfdone
	ADDQ R8, AX
	VPEXTRQ $1, X0, R14
	REQ_STORE_TAIL(rqft1)
	CMPQ BX, $3
	JLT rqfdone
	ADDQ R8, AX
	MOVQ X1, R14
	REQ_STORE_TAIL(rqft2)
	CMPQ BX, $4
	JLT rqfdone
	ADDQ R8, AX
	VPEXTRQ $1, X1, R14
	REQ_STORE_TAIL(rqft3)

rqfdone:
	VZEROUPPER
	RET

// ---- packing ----------------------------------------------------------
//
// func gemmInterleave4(dst, p0, p1, p2, p3 unsafe.Pointer, n int)
// dst[4k+i] = p_i[k] for k < n, 32-bit elements: a 4×8 transpose per 8 k.
TEXT ·gemmInterleave4(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ p0+8(FP), AX
	MOVQ p1+16(FP), BX
	MOVQ p2+24(FP), DX
	MOVQ p3+32(FP), SI
	MOVQ n+40(FP), CX
	CMPQ CX, $8
	JLT il4tail

il4loop:
	VMOVUPS (AX), Y0
	VMOVUPS (BX), Y1
	VMOVUPS (DX), Y2
	VMOVUPS (SI), Y3
	VUNPCKLPS Y1, Y0, Y4  // a0 b0 a1 b1 | a4 b4 a5 b5
	VUNPCKHPS Y1, Y0, Y5  // a2 b2 a3 b3 | a6 b6 a7 b7
	VUNPCKLPS Y3, Y2, Y6  // c0 d0 c1 d1 | c4 d4 c5 d5
	VUNPCKHPS Y3, Y2, Y7  // c2 d2 c3 d3 | c6 d6 c7 d7
	VUNPCKLPD Y6, Y4, Y0  // a0 b0 c0 d0 | a4 b4 c4 d4
	VUNPCKHPD Y6, Y4, Y1  // a1 b1 c1 d1 | a5 b5 c5 d5
	VUNPCKLPD Y7, Y5, Y2  // a2 b2 c2 d2 | a6 b6 c6 d6
	VUNPCKHPD Y7, Y5, Y3  // a3 b3 c3 d3 | a7 b7 c7 d7
	VPERM2F128 $0x20, Y1, Y0, Y4
	VPERM2F128 $0x20, Y3, Y2, Y5
	VPERM2F128 $0x31, Y1, Y0, Y6
	VPERM2F128 $0x31, Y3, Y2, Y7
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	VMOVUPS Y6, 64(DI)
	VMOVUPS Y7, 96(DI)
	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, SI
	ADDQ $128, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JGE il4loop

il4tail:
	TESTQ CX, CX
	JZ il4done

il4one:
	MOVL (AX), R8
	MOVL R8, (DI)
	MOVL (BX), R8
	MOVL R8, 4(DI)
	MOVL (DX), R8
	MOVL R8, 8(DI)
	MOVL (SI), R8
	MOVL R8, 12(DI)
	ADDQ $4, AX
	ADDQ $4, BX
	ADDQ $4, DX
	ADDQ $4, SI
	ADDQ $16, DI
	DECQ CX
	JNZ il4one

il4done:
	VZEROUPPER
	RET
