//go:build amd64 && !noasm

#include "textflag.h"

// Column sums over rows (MEAN/SUM over every axis but the innermost, e.g.
// an NHWC instance-norm or global-average-pool mean); reduce_amd64.go gives
// the Go loops. DI: acc, SI: src, CX: columns left (a multiple of 8), R8:
// row stride in bytes, DX: rows left, AX: the current row.

// A block of 32 columns (four ymm accumulators) over all rows, then blocks
// of 8. ACC loads an accumulator, ADDROW adds one row's 8 columns at off,
// STORE writes it back; step is the block's bytes of src.
#define ROWS_LOOP(ACC, ADDROW, STORE, step8, b32, b32row, b8, b8row, done) \
b32: \
	CMPQ CX, $32; \
	JLT b8; \
	ACC(0, Y0); \
	ACC(32, Y1); \
	ACC(64, Y2); \
	ACC(96, Y3); \
	MOVQ SI, AX; \
	MOVQ rows+24(FP), DX; \
b32row: \
	ADDROW(0, Y4, Y0); \
	ADDROW(step8, Y5, Y1); \
	ADDROW(2*step8, Y6, Y2); \
	ADDROW(3*step8, Y7, Y3); \
	ADDQ R8, AX; \
	DECQ DX; \
	JNZ b32row; \
	STORE(Y0, 0); \
	STORE(Y1, 32); \
	STORE(Y2, 64); \
	STORE(Y3, 96); \
	ADDQ $128, DI; \
	ADDQ $(4*step8), SI; \
	SUBQ $32, CX; \
	JMP b32; \
b8: \
	TESTQ CX, CX; \
	JZ done; \
	ACC(0, Y0); \
	MOVQ SI, AX; \
	MOVQ rows+24(FP), DX; \
b8row: \
	ADDROW(0, Y4, Y0); \
	ADDQ R8, AX; \
	DECQ DX; \
	JNZ b8row; \
	STORE(Y0, 0); \
	ADDQ $32, DI; \
	ADDQ $step8, SI; \
	SUBQ $8, CX; \
	JMP b8; \
done: \
	VZEROUPPER; \
	RET

#define LOAD_ACC(off, r) VMOVDQU off(DI), r
#define STORE_ACC(r, off) VMOVDQU r, off(DI)

#define ADDROW_I8(off, t, r) \
	VPMOVSXBD off(AX), t; \
	VPADDD t, r, r

#define ADDROW_F32(off, t, r) \
	VADDPS off(AX), r, r

// func reduceRowsI8AVX2(acc *int32, src *int8, n, rows, stride int)
TEXT ·reduceRowsI8AVX2(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ stride+32(FP), R8
	ROWS_LOOP(LOAD_ACC, ADDROW_I8, STORE_ACC, 8, ri32, ri32row, ri8, ri8row, ridone)

// func reduceRowsF32AVX(acc *float32, src *float32, n, rows, stride int)
TEXT ·reduceRowsF32AVX(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ stride+32(FP), R8
	SHLQ $2, R8
	ROWS_LOOP(LOAD_ACC, ADDROW_F32, STORE_ACC, 32, rf32, rf32row, rf8, rf8row, rfdone)
