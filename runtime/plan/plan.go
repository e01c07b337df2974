// Package plan assigns arena offsets to buffers whose lifetimes are known
// in advance, so buffers that are never alive at the same time share
// memory.
//
// A Planner takes buffers with the first and last step at which each is
// used and returns an offset per buffer and the high-water mark. Greedy
// packs by size (largest first, first gap that fits among buffers whose
// lifetimes overlap), as TFLite's greedy memory planner does; Linear gives
// every buffer its own space, for debugging.
package plan

import (
	"fmt"
	"sort"
)

// Planner places buffers in one arena.
type Planner interface {
	// Add registers a buffer of size bytes used from step first to step
	// last inclusive and returns its id.
	Add(size, first, last int) int
	// Plan computes offsets; call it once after the last Add.
	Plan() error
	// Offset is the arena offset of buffer id.
	Offset(id int) int
	// Size is the arena size needed: the high-water mark.
	Size() int
}

// Align is the alignment of every offset.
const Align = 64

func alignUp(n int) int { return (n + Align - 1) &^ (Align - 1) }

type buffer struct {
	size, first, last int
	offset            int
}

type common struct {
	bufs    []buffer
	size    int
	planned bool
}

func (c *common) Add(size, first, last int) int {
	if size < 0 || first > last {
		panic(fmt.Sprintf("plan: bad buffer size %d lifetime [%d,%d]", size, first, last))
	}
	c.bufs = append(c.bufs, buffer{size: alignUp(size), first: first, last: last, offset: -1})
	return len(c.bufs) - 1
}

func (c *common) Offset(id int) int {
	if !c.planned {
		panic("plan: Offset before Plan")
	}
	return c.bufs[id].offset
}

func (c *common) Size() int { return c.size }

// Linear places buffers one after another: nothing is shared.
type Linear struct{ common }

// NewLinear returns a planner that keeps every buffer.
func NewLinear() *Linear { return &Linear{} }

// Plan implements Planner.
func (l *Linear) Plan() error {
	off := 0
	for i := range l.bufs {
		l.bufs[i].offset = off
		off += l.bufs[i].size
	}
	l.size, l.planned = off, true
	return nil
}

// Greedy shares memory between buffers whose lifetimes do not overlap.
type Greedy struct{ common }

// NewGreedy returns a greedy planner.
func NewGreedy() *Greedy { return &Greedy{} }

// Plan implements Planner: buffers in decreasing size (ties by first use)
// each take the lowest offset that does not collide with an already placed
// buffer alive at the same time.
func (g *Greedy) Plan() error {
	order := make([]int, len(g.bufs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := g.bufs[order[a]], g.bufs[order[b]]
		if x.size != y.size {
			return x.size > y.size
		}
		return x.first < y.first
	})
	var placed []int // indexes of placed buffers, kept sorted by offset
	for _, id := range order {
		b := &g.bufs[id]
		off := 0
		for _, pid := range placed {
			p := g.bufs[pid]
			if p.last < b.first || b.last < p.first || p.size == 0 {
				continue // not alive together
			}
			if off+b.size <= p.offset {
				break // fits in the gap before p
			}
			if p.offset+p.size > off {
				off = p.offset + p.size
			}
		}
		b.offset = off
		// insert keeping placed sorted by offset
		k := sort.Search(len(placed), func(i int) bool { return g.bufs[placed[i]].offset > off })
		placed = append(placed, 0)
		copy(placed[k+1:], placed[k:])
		placed[k] = id
		if off+b.size > g.size {
			g.size = off + b.size
		}
	}
	g.planned = true
	return nil
}

// Check verifies that no two buffers alive at the same step overlap; tests
// and the debugging path use it.
func Check(p Planner, sizes, firsts, lasts []int) error {
	for i := range sizes {
		for j := i + 1; j < len(sizes); j++ {
			if lasts[i] < firsts[j] || lasts[j] < firsts[i] || sizes[i] == 0 || sizes[j] == 0 {
				continue
			}
			a, b := p.Offset(i), p.Offset(j)
			if a < b+alignUp(sizes[j]) && b < a+alignUp(sizes[i]) {
				return fmt.Errorf("plan: buffers %d [%d,+%d) and %d [%d,+%d) overlap while both alive", i, a, sizes[i], j, b, sizes[j])
			}
		}
		if p.Offset(i)+sizes[i] > p.Size() {
			return fmt.Errorf("plan: buffer %d ends past the arena size %d", i, p.Size())
		}
	}
	return nil
}
