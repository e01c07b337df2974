//go:build arm64 && !noasm

package kernels

import (
	"encoding/binary"
	"os"
)

// CPU features used by the arm64 assembly kernels. NEON (ASIMD) is part of
// every arm64 core; the dot-product instructions (SDOT, FEAT_DotProd) are
// optional and read from the kernel's HWCAP bits in /proc/self/auxv.
var cpuARM64DotProd bool // HWCAP_ASIMDDP

func init() { cpuARM64DotProd = auxvHWCAP()&(1<<20) != 0 }

// auxvHWCAP returns AT_HWCAP from /proc/self/auxv, or 0 where it cannot be
// read (the kernels then stay at the levels every core has).
func auxvHWCAP() uint64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 0
	}
	const atHWCAP = 16
	for i := 0; i+16 <= len(b); i += 16 {
		typ, val := binary.LittleEndian.Uint64(b[i:]), binary.LittleEndian.Uint64(b[i+8:])
		if typ == 0 {
			break
		}
		if typ == atHWCAP {
			return val
		}
	}
	return 0
}
