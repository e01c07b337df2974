package kernels

import "sync"

// Pool runs a loop over [0,n) on up to Threads goroutines. Work is split
// into contiguous chunks; a kernel whose iterations write disjoint outputs
// and accumulate in a fixed order gives identical results for any thread
// count. Run does not allocate.
type Pool struct {
	threads int
	work    chan task
	wg      sync.WaitGroup
	once    sync.Once
}

type task struct {
	fn     func(lo, hi int)
	lo, hi int
}

// NewPool starts threads-1 worker goroutines (the caller is the last).
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = 1
	}
	p := &Pool{threads: threads, work: make(chan task, threads)}
	for range threads - 1 {
		go func() {
			for t := range p.work {
				t.fn(t.lo, t.hi)
				p.wg.Done()
			}
		}()
	}
	return p
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
	if chunks <= 1 {
		fn(0, n)
		return
	}
	per := (n + chunks - 1) / chunks
	p.wg.Add(chunks - 1)
	lo := per
	for range chunks - 1 {
		hi := min(lo+per, n)
		p.work <- task{fn, lo, hi}
		lo = hi
	}
	fn(0, min(per, n))
	p.wg.Wait()
}

// Close stops the workers.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() { close(p.work) })
}
