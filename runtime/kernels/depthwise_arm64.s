//go:build arm64 && !noasm

#include "textflag.h"

// DEPTHWISE_CONV_2D inner products on arm64 (depthwise_arm64.go documents
// them): a block of 8 outputs × 8 channels in V16..V31 (output j: V(16+2j)
// channels 0-3, V(17+2j) channels 4-7). Registers: R0 p, R1 offs, R2 taps
// left, R3 weights, R4 step (bytes), R5 tile, R6 the tap's window.
// Instructions Go's assembler lacks (MLA, SHL, SSHR on vectors) are WORD
// encodings checked with llvm-mc.

#define ZERO_ACC16 \
	VEOR V16.B16, V16.B16, V16.B16 \
	VEOR V17.B16, V17.B16, V17.B16 \
	VEOR V18.B16, V18.B16, V18.B16 \
	VEOR V19.B16, V19.B16, V19.B16 \
	VEOR V20.B16, V20.B16, V20.B16 \
	VEOR V21.B16, V21.B16, V21.B16 \
	VEOR V22.B16, V22.B16, V22.B16 \
	VEOR V23.B16, V23.B16, V23.B16 \
	VEOR V24.B16, V24.B16, V24.B16 \
	VEOR V25.B16, V25.B16, V25.B16 \
	VEOR V26.B16, V26.B16, V26.B16 \
	VEOR V27.B16, V27.B16, V27.B16 \
	VEOR V28.B16, V28.B16, V28.B16 \
	VEOR V29.B16, V29.B16, V29.B16 \
	VEOR V30.B16, V30.B16, V30.B16 \
	VEOR V31.B16, V31.B16, V31.B16

// Both kernels' frame (same argument layout) and zeroed accumulators.
#define TILE_INIT \
	MOVD p+0(FP), R0 \
	MOVD offs+8(FP), R1 \
	MOVD nt+16(FP), R2 \
	MOVD w+24(FP), R3 \
	MOVD step+32(FP), R4 \
	MOVD tile+40(FP), R5 \
	ZERO_ACC16

// One output j of a tap: its two vectors at (R6) into Va, Vb, R6 += step,
// then the multiply-accumulate into its accumulators (float32 FMLA; int8
// MLA, whose encoding is 0x4EA09400 | Rm<<16 | Rn<<5 | Rd).
#define F32_OUT(va, vb, acc0, acc1) \
	VLD1 (R6), [va.S4, vb.S4] \
	ADD R4, R6, R6 \
	VFMLA V0.S4, va.S4, acc0.S4 \
	VFMLA V1.S4, vb.S4, acc1.S4

#define MLA4S(d, n, m) WORD $(0x4EA09400 | ((m)<<16) | ((n)<<5) | (d))

#define I8_OUT(va, vb, na, nb, acc0, acc1) \
	VLD1 (R6), [va.S4, vb.S4] \
	ADD R4, R6, R6 \
	MLA4S(acc0, na, 0) \
	MLA4S(acc1, nb, 1)

// func dwF32TileNEON(p *float32, offs *int, nt int, w *float32, step int, tile *[dwSB * dwCB]float32)
TEXT ·dwF32TileNEON(SB), NOSPLIT, $0-48
	TILE_INIT

f32tap:
	MOVD.P 8(R1), R6
	ADD R0, R6, R6
	VLD1.P 32(R3), [V0.S4, V1.S4]
	F32_OUT(V2, V3, V16, V17)
	F32_OUT(V4, V5, V18, V19)
	F32_OUT(V2, V3, V20, V21)
	F32_OUT(V4, V5, V22, V23)
	F32_OUT(V2, V3, V24, V25)
	F32_OUT(V4, V5, V26, V27)
	F32_OUT(V2, V3, V28, V29)
	F32_OUT(V4, V5, V30, V31)
	SUBS $1, R2, R2
	BNE f32tap
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R5)
	VST1.P [V20.S4, V21.S4, V22.S4, V23.S4], 64(R5)
	VST1.P [V24.S4, V25.S4, V26.S4, V27.S4], 64(R5)
	VST1 [V28.S4, V29.S4, V30.S4, V31.S4], (R5)
	RET

// func dwI8TileNEON(p *int32, offs *int, nt int, w *int32, step int, tile *int32)
// tile rows are dwTileStride (24) int32 apart.
TEXT ·dwI8TileNEON(SB), NOSPLIT, $0-48
	TILE_INIT

i8tap:
	MOVD.P 8(R1), R6
	ADD R0, R6, R6
	VLD1.P 32(R3), [V0.S4, V1.S4]
	WORD $0x4F305400 // SHL V0.4S, V0.4S, #16
	WORD $0x4F300400 // SSHR V0.4S, V0.4S, #16
	WORD $0x4F305421 // SHL V1.4S, V1.4S, #16
	WORD $0x4F300421 // SSHR V1.4S, V1.4S, #16
	I8_OUT(V2, V3, 2, 3, 16, 17)
	I8_OUT(V4, V5, 4, 5, 18, 19)
	I8_OUT(V2, V3, 2, 3, 20, 21)
	I8_OUT(V4, V5, 4, 5, 22, 23)
	I8_OUT(V2, V3, 2, 3, 24, 25)
	I8_OUT(V4, V5, 4, 5, 26, 27)
	I8_OUT(V2, V3, 2, 3, 28, 29)
	I8_OUT(V4, V5, 4, 5, 30, 31)
	SUBS $1, R2, R2
	BNE i8tap
	VST1 [V16.S4, V17.S4], (R5)
	ADD $96, R5, R5
	VST1 [V18.S4, V19.S4], (R5)
	ADD $96, R5, R5
	VST1 [V20.S4, V21.S4], (R5)
	ADD $96, R5, R5
	VST1 [V22.S4, V23.S4], (R5)
	ADD $96, R5, R5
	VST1 [V24.S4, V25.S4], (R5)
	ADD $96, R5, R5
	VST1 [V26.S4, V27.S4], (R5)
	ADD $96, R5, R5
	VST1 [V28.S4, V29.S4], (R5)
	ADD $96, R5, R5
	VST1 [V30.S4, V31.S4], (R5)
	RET
