package benchstat

import (
	"os"
	"runtime"
	"strings"
)

// CPUName is the first "model name" of /proc/cpuinfo, or GOARCH where
// there is none (non-Linux, or ARM kernels that do not list one).
func CPUName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
