//go:build amd64 && !noasm

package kernels

// CPU features used by the assembly kernels, read with CPUID and XGETBV
// (the OS must save the YMM, and for AVX-512 the opmask and ZMM, state).
var (
	cpuAVX2FMA    bool // AVX, AVX2 and FMA3
	cpuAVX512VNNI bool // AVX512F, AVX512VL and AVX512_VNNI (EVEX VPDPBUSD on ymm)
	cpuAVX512DQ   bool // AVX512F and AVX512DQ with the OS saving ZMM state (the zmm float GEMM)
)

// cpuid executes CPUID with the given leaf and subleaf.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// xgetbv0 returns XCR0 (XGETBV with ECX = 0).
func xgetbv0() (eax, edx uint32)

func init() {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return
	}
	xcr0, _ := xgetbv0()
	if xcr0&0x6 != 0x6 { // SSE and AVX state
		return
	}
	_, ebx7, ecx7, _ := cpuid(7, 0)
	const (
		avx2     = 1 << 5
		avx512f  = 1 << 16
		avx512dq = 1 << 17
		avx512vl = 1 << 31
		vnni     = 1 << 11 // in ECX
	)
	cpuAVX2FMA = ebx7&avx2 != 0
	cpuAVX512VNNI = cpuAVX2FMA && xcr0&0xE0 == 0xE0 && // opmask, ZMM_Hi256, Hi16_ZMM state
		ebx7&(avx512f|avx512vl) == avx512f|avx512vl && ecx7&vnni != 0
	cpuAVX512DQ = cpuAVX2FMA && xcr0&0xE0 == 0xE0 && ebx7&(avx512f|avx512dq) == avx512f|avx512dq
}
