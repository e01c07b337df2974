package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/lsms-edge/lsms/runtime/interp"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZCPUBench(t *testing.T) {
	pat := os.Getenv("ZZPAT")
	if pat == "" {
		t.Skip()
	}
	re := regexp.MustCompile(pat)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, op := range benchOps() {
		if !re.MatchString(op.name) {
			continue
		}
		it, err := interp.New(op.model, interp.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		benchFill(it, rand.New(rand.NewPCG(1, 1)))
		it.Invoke()
		best := time.Hour
		for range 5 {
			n := 0
			c0 := threadCPU()
			for threadCPU()-c0 < 100*time.Millisecond {
				it.Invoke()
				n++
			}
			d := (threadCPU() - c0) / time.Duration(n)
			best = min(best, d)
		}
		fmt.Printf("%-50s %8.3f ms  %6.2f G/s\n", op.name, float64(best)/1e6, 2*op.macs/float64(best))
		it.Close()
	}
}
