package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool runs a loop over [0,n) on up to Threads goroutines. Work is split
// into contiguous chunks; a kernel whose iterations write disjoint outputs
// and accumulate in a fixed order gives identical results for any thread
// count. Run does not allocate.
//
// Workers wait for work by spinning on their ready counter for a while
// (poolSpin) before they park, and the caller spins for its workers'
// chunks: an interpreter runs hundreds of operators back to back, each a
// Run of tens to hundreds of microseconds, and handing a chunk over a
// channel to a parked goroutine cost 20–100 µs per Run on the 2-core
// machine (BenchmarkPoolRun: two 200 µs chunks took 300 µs, two 20 µs
// chunks 43 µs). A worker parks after poolSpin idle iterations, so an
// idle pool uses no CPU.
type Pool struct {
	threads int
	workers []*poolWorker
	pending atomic.Int32 // worker chunks of the current Run not yet done
	closed  atomic.Bool
	mu      sync.Mutex // one Run at a time
	once    sync.Once
}

type poolWorker struct {
	task     task          // written by Run before ready is bumped
	ready    atomic.Uint64 // bumped by Run for each task it gives this worker
	sleeping atomic.Bool
	wake     chan struct{}
	_        [64]byte // keep workers' flags on their own cache lines
}

type task struct {
	fn     func(lo, hi int)
	lo, hi int
}

// poolSpin is how many polls of its ready counter a worker makes
// before it parks (each poll is an atomic load; a few hundred
// microseconds in all), and how often (poolYield) the spinning loops
// yield the processor to other goroutines.
const (
	poolSpin  = 1 << 17
	poolYield = 1 << 10
)

// NewPool starts threads-1 worker goroutines (the caller is the last).
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = 1
	}
	p := &Pool{threads: threads}
	for range threads - 1 {
		w := &poolWorker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.loop(w)
	}
	return p
}

// loop is a worker: wait for the next task, run it.
func (p *Pool) loop(w *poolWorker) {
	var seen uint64
	for {
		for spins := 0; w.ready.Load() == seen; spins++ {
			if p.closed.Load() {
				return
			}
			if spins >= poolSpin {
				// Park: announce it, then look once more (Run bumps ready
				// before it reads sleeping, so one of the two sees the
				// other; a wake-up left over from that race is harmless).
				w.sleeping.Store(true)
				if w.ready.Load() != seen {
					w.sleeping.Store(false)
					break
				}
				<-w.wake
				spins = 0
			} else if spins%poolYield == poolYield-1 {
				runtime.Gosched()
			}
		}
		if p.closed.Load() {
			return
		}
		seen++
		// The next Run writes task only after this one's chunk is done.
		t := w.task
		t.fn(t.lo, t.hi)
		p.pending.Add(-1)
	}
}

// Threads is the pool's goroutine count.
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// Run calls fn over chunks of [0,n) in parallel; each chunk has at least
// grain iterations. fn should be created once (for example a method value
// stored at Prepare) so that calling Run does not allocate.
func (p *Pool) Run(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := p.Threads()
	if m := (n + grain - 1) / grain; m < chunks {
		chunks = m
	}
	if chunks <= 1 || p.closed.Load() {
		fn(0, n)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	per := (n + chunks - 1) / chunks
	lo := per
	used := 0 // workers p.workers[:used] get the chunks after the caller's
	for _, w := range p.workers[:chunks-1] {
		if lo >= n {
			break
		}
		hi := min(lo+per, n)
		w.task = task{fn, lo, hi}
		lo = hi
		used++
	}
	p.pending.Store(int32(used))
	for _, w := range p.workers[:used] {
		w.ready.Add(1)
		if w.sleeping.Swap(false) {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	fn(0, min(per, n))
	for spins := 1; p.pending.Load() != 0; spins++ {
		if spins%poolYield == 0 {
			runtime.Gosched()
		}
	}
}

// Close stops the workers. Run still works afterwards, on the caller
// alone.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		p.closed.Store(true)
		for _, w := range p.workers {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	})
}
