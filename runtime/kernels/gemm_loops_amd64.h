// k loops shared by the GEMM micro-kernels of gemm_amd64.s and
// gemm512_amd64.s (ymm and zmm tiles step through B the same way).

// The float32 k loop: STEP over 4 k at a time, then one at a time (a
// panel's k are 32 bytes apart).
#define F32_LOOP(STEP, loop4, tail, loop1, done) \
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

// The int8 k loop: two groups of four k at a time, then one (a quad
// panel's groups are 32 bytes apart).
#define I8_LOOP(STEP, loop2, tail, done) \
	CMPQ CX, $2; \
	JLT tail; \
loop2: \
	STEP(0); \
	STEP(32); \
	ADDQ $64, BX; \
	SUBQ $2, CX; \
	CMPQ CX, $2; \
	JGE loop2; \
tail: \
	TESTQ CX, CX; \
	JZ done; \
	STEP(0); \
done:
