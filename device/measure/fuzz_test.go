package measure

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteFeret is the definition, checked the slow way: every pair of
// foreground pixels of component label.
func bruteFeret(labels []int32, cols int, label int32, sr, sc float64) float64 {
	var pts [][2]int
	for i, l := range labels {
		if l == label {
			pts = append(pts, [2]int{i / cols, i % cols})
		}
	}
	if len(pts) == 1 {
		return max(sr, sc)
	}
	best, bd := -1.0, 0.0
	for i := range pts {
		for j := i + 1; j < len(pts); j++ {
			dr, dc := float64(pts[j][0]-pts[i][0]), float64(pts[j][1]-pts[i][1])
			d := math.Hypot(dr*sr, dc*sc)
			if d > best+1e-12 {
				n := math.Hypot(dr, dc)
				best, bd = d, d*(n+1)/n
			} else if d > best-1e-12 {
				// Ties in mm with different step counts: accept either.
				n := math.Hypot(dr, dc)
				bd = max(bd, d*(n+1)/n)
			}
		}
	}
	return bd
}

func checkAgainstBrute(t *testing.T, mask []uint8, rows, cols int, sr, sc float64) {
	t.Helper()
	p := axial(rows, cols, sr, sc)
	ls, err := Measure(mask, p)
	if err != nil {
		t.Fatal(err)
	}
	labels, n, _ := Label(mask, rows, cols, nil)
	if n != len(ls) {
		t.Fatalf("%d lesions for %d components", len(ls), n)
	}
	total := 0
	for _, l := range ls {
		total += l.AreaPx
		want := bruteFeret(labels, cols, int32(l.Label), sr, sc)
		// Equal up to the choice between mm-ties of different step counts.
		pix := max(sr, sc)
		if got := l.LongestDiameter; got > want+1e-9 || got < want-pix {
			t.Fatalf("label %d: diameter %g, brute force %g", l.Label, got, want)
		}
	}
	if total != Count(mask) {
		t.Fatalf("areas sum to %d, mask has %d", total, Count(mask))
	}
}

func TestFeretMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		rows, cols := 1+rng.IntN(24), 1+rng.IntN(24)
		mask := make([]uint8, rows*cols)
		density := rng.Float64()
		for i := range mask {
			if rng.Float64() < density {
				mask[i] = 1
			}
		}
		sr, sc := 0.3+rng.Float64()*2, 0.3+rng.Float64()*2
		if rng.IntN(2) == 0 {
			sc = sr
		}
		checkAgainstBrute(t, mask, rows, cols, sr, sc)
	}
}

// FuzzMeasure: any mask and size give components whose areas add up and
// whose diameters match the brute-force definition, or an ErrInput.
func FuzzMeasure(f *testing.F) {
	f.Add(uint8(3), []byte{1, 0, 1, 0, 1, 0, 1, 1, 1})
	f.Add(uint8(1), []byte{1})
	f.Add(uint8(5), []byte{0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1})
	f.Fuzz(func(t *testing.T, cols uint8, mask []byte) {
		if cols == 0 || len(mask) == 0 || len(mask) > 400 || len(mask)%int(cols) != 0 {
			if _, err := Measure(mask, axial(max(1, len(mask)/max(1, int(cols))), int(cols), 1, 1)); err == nil && (cols == 0 || len(mask)%int(cols) != 0) {
				t.Fatalf("bad size accepted: cols %d, %d pixels", cols, len(mask))
			}
			return
		}
		checkAgainstBrute(t, mask, len(mask)/int(cols), int(cols), 0.7, 1.3)
	})
}
