package benchstat

import (
	"errors"
	"os"
	"testing"
)

func TestParseVmHWM(t *testing.T) {
	good := "Name:\tlsms\nVmPeak:\t  100 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n"
	if n, err := ParseVmHWM([]byte(good)); err != nil || n != 12345*1024 {
		t.Errorf("ParseVmHWM = %d, %v; want %d", n, err, 12345*1024)
	}
	for _, bad := range []string{"", "Name: x\n", "VmHWM: 12 MB\n", "VmHWM: -3 kB\n", "VmHWM: x kB\n",
		"VmHWM:\n", "VmHWM: 99999999999999999999 kB\n", "VmHWM: 9007199254740993 kB\n"} {
		if _, err := ParseVmHWM([]byte(bad)); !errors.Is(err, ErrNoRSS) {
			t.Errorf("ParseVmHWM(%q): err %v, want ErrNoRSS", bad, err)
		}
	}
}

func TestPeakRSS(t *testing.T) {
	n, err := PeakRSS()
	if _, statErr := os.Stat("/proc/self/status"); statErr != nil {
		if !errors.Is(err, ErrNoRSS) {
			t.Errorf("no /proc: PeakRSS = %d, %v; want ErrNoRSS", n, err)
		}
		return
	}
	if err != nil || n <= 0 {
		t.Errorf("PeakRSS = %d, %v", n, err)
	}
}

func FuzzParseVmHWM(f *testing.F) {
	f.Add([]byte("VmHWM:\t   12345 kB\n"))
	f.Add([]byte("Name: x\nVmHWM: 1 kB"))
	f.Add([]byte("VmHWM: 9223372036854775807 kB"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseVmHWM(data)
		if err == nil && n < 0 {
			t.Fatalf("negative size %d", n)
		}
		if err != nil && !errors.Is(err, ErrNoRSS) {
			t.Fatalf("error %v is not ErrNoRSS", err)
		}
	})
}
