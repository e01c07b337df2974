package benchstat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrNoRSS is returned by PeakRSS where the peak resident set size cannot be
// read (no /proc/self/status, or no VmHWM line in it).
var ErrNoRSS = errors.New("benchstat: peak RSS unavailable")

// PeakRSS returns the process's peak resident set size in bytes, the VmHWM
// ("high water mark") line of /proc/self/status on Linux. It is a property of
// the whole process since it started, not of one model.
func PeakRSS() (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoRSS, err)
	}
	return ParseVmHWM(data)
}

// ParseVmHWM reads the VmHWM line ("VmHWM:   123456 kB") from the contents of
// a /proc/PID/status file and returns it in bytes.
func ParseVmHWM(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%w: VmHWM line %q: want \"VmHWM: N kB\"", ErrNoRSS, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > (1<<63-1)/1024 {
			return 0, fmt.Errorf("%w: VmHWM line %q: bad number", ErrNoRSS, sc.Text())
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoRSS, err)
	}
	return 0, fmt.Errorf("%w: no VmHWM line", ErrNoRSS)
}
