package kernels

import (
	"sync"
	"testing"
	"time"
)

// BenchmarkPoolRun measures one Run of two chunks that each spin for the
// given time: the excess over that time is the dispatch and wake-up cost
// every parallel operator pays.
func BenchmarkPoolRun(b *testing.B) {
	for _, work := range []time.Duration{0, 20 * time.Microsecond, 200 * time.Microsecond} {
		b.Run(work.String(), func(b *testing.B) {
			p := NewPool(2)
			defer p.Close()
			fn := func(lo, hi int) {
				t0 := time.Now()
				for time.Since(t0) < work {
				}
			}
			for b.Loop() {
				p.Run(2, 1, fn)
			}
		})
	}
}

// Every index is visited exactly once, in chunks of at least grain, for
// any thread count, back-to-back Runs (workers spinning) and Runs after
// idle spells long enough for the workers to park; Run after Close runs
// on the caller.
func TestPoolRunCoversOnce(t *testing.T) {
	for threads := 1; threads <= 5; threads++ {
		p := NewPool(threads)
		hits := make([]int32, 1000)
		var mu sync.Mutex
		for r := range 300 {
			n, grain := 1+r*7%997, 1+r%13
			clear(hits)
			p.Run(n, grain, func(lo, hi int) {
				if hi-lo < grain && hi != n {
					t.Errorf("threads %d: chunk [%d,%d) under grain %d", threads, lo, hi, grain)
				}
				mu.Lock()
				for i := lo; i < hi; i++ {
					hits[i]++
				}
				mu.Unlock()
			})
			for i := range n {
				if hits[i] != 1 {
					t.Fatalf("threads %d run %d (n %d grain %d): index %d visited %d times", threads, r, n, grain, i, hits[i])
				}
			}
			if r%100 == 99 {
				time.Sleep(20 * time.Millisecond) // let the workers park
			}
		}
		p.Close()
		var sum int
		p.Run(10, 1, func(lo, hi int) { sum += hi - lo })
		if sum != 10 {
			t.Fatalf("threads %d: Run after Close covered %d of 10", threads, sum)
		}
	}
}
