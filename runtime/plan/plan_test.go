package plan

import (
	"math/rand/v2"
	"testing"
)

func TestPlannersNeverOverlapLiveBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 200 {
		n := 1 + rng.IntN(40)
		sizes, firsts, lasts := make([]int, n), make([]int, n), make([]int, n)
		g, l := NewGreedy(), NewLinear()
		total := 0
		for i := range n {
			sizes[i] = rng.IntN(5000)
			firsts[i] = rng.IntN(30)
			lasts[i] = firsts[i] + rng.IntN(10)
			g.Add(sizes[i], firsts[i], lasts[i])
			l.Add(sizes[i], firsts[i], lasts[i])
			total += alignUp(sizes[i])
		}
		g.Plan()
		l.Plan()
		for _, p := range []Planner{g, l} {
			if err := Check(p, sizes, firsts, lasts); err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
		}
		if l.Size() != total {
			t.Fatalf("linear size %d, want %d", l.Size(), total)
		}
		if g.Size() > l.Size() {
			t.Fatalf("greedy %d larger than linear %d", g.Size(), l.Size())
		}
	}
}

func TestGreedyReusesDeadBuffers(t *testing.T) {
	g := NewGreedy()
	// A chain a -> b -> c: a and c never live together and share memory.
	g.Add(1000, 0, 1)
	g.Add(1000, 1, 2)
	g.Add(1000, 2, 3)
	g.Plan()
	if g.Size() != 2*alignUp(1000) {
		t.Fatalf("arena %d, want %d", g.Size(), 2*alignUp(1000))
	}
	if g.Offset(0) != g.Offset(2) {
		t.Fatalf("a at %d and c at %d do not share", g.Offset(0), g.Offset(2))
	}
}
