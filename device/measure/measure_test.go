package measure

import (
	"errors"
	"math"
	"testing"
)

func axial(rows, cols int, sr, sc float64) Plane {
	return Plane{
		Rows: rows, Cols: cols,
		PixelSpacing: [2]float64{sr, sc},
		Position:     [3]float64{-100, -80, 12.5},
		Orientation:  [6]float64{1, 0, 0, 0, 1, 0},
		Thickness:    5,
	}
}

// disc sets the pixels within radius R (pixel units) of (r0, c0).
func disc(mask []uint8, cols, r0, c0, R int) int {
	n := 0
	for r := r0 - R; r <= r0+R; r++ {
		for c := c0 - R; c <= c0+R; c++ {
			if (r-r0)*(r-r0)+(c-c0)*(c-c0) <= R*R {
				mask[r*cols+c] = 1
				n++
			}
		}
	}
	return n
}

func rect(mask []uint8, cols, r0, c0, h, w int) {
	for r := r0; r < r0+h; r++ {
		for c := c0; c < c0+w; c++ {
			mask[r*cols+c] = 1
		}
	}
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6g, want %.6g (±%g)", what, got, want, tol)
	}
}

func TestDisc(t *testing.T) {
	const rows, cols, R = 128, 128, 20
	p := axial(rows, cols, 0.7, 0.7)
	mask := make([]uint8, rows*cols)
	n := disc(mask, cols, 60, 70, R)
	ls, err := Measure(mask, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 {
		t.Fatalf("%d lesions, want 1", len(ls))
	}
	l := ls[0]
	if l.AreaPx != n {
		t.Errorf("area %d px, want %d", l.AreaPx, n)
	}
	near(t, "area mm²", l.Area, float64(n)*0.49, 1e-9)
	// The digital disc's area approaches πR² pixels.
	near(t, "area vs πR²", float64(l.AreaPx), math.Pi*R*R, 0.01*math.Pi*R*R)
	near(t, "diameter", l.LongestDiameter, (2*R+1)*0.7, 1e-9)
	near(t, "centroid row", l.Centroid[0], 60, 1e-9)
	near(t, "centroid col", l.Centroid[1], 70, 1e-9)
	want := [3]float64{-100 + 70*0.7, -80 + 60*0.7, 12.5}
	for k := range want {
		near(t, "centroid patient", l.CentroidPatient[k], want[k], 1e-9)
	}
	if l.BBox != [4]int{40, 50, 80, 90} {
		t.Errorf("bbox %v", l.BBox)
	}
	d := l.DiameterEnds
	if dr, dc := d[1][0]-d[0][0], d[1][1]-d[0][1]; dr*dr+dc*dc != 4*R*R {
		t.Errorf("diameter ends %v are not 2R apart", d)
	}
}

func TestRectangleAnisotropic(t *testing.T) {
	const rows, cols = 64, 96
	for _, tc := range []struct {
		h, w   int
		sr, sc float64
	}{
		{10, 30, 1, 1},
		{10, 30, 0.5, 2},
		{25, 7, 3, 0.8},
		{1, 17, 0.6, 0.9}, // a line along a row: w × column spacing
		{13, 1, 0.6, 0.9}, // along a column: h × row spacing
		{1, 1, 0.6, 0.9},  // one pixel: the larger spacing
	} {
		p := axial(rows, cols, tc.sr, tc.sc)
		mask := make([]uint8, rows*cols)
		rect(mask, cols, 5, 9, tc.h, tc.w)
		ls, err := Measure(mask, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != 1 {
			t.Fatalf("%+v: %d lesions", tc, len(ls))
		}
		l := ls[0]
		near(t, "area", l.Area, float64(tc.h*tc.w)*tc.sr*tc.sc, 1e-9)
		// Opposite corners: centre distance × (n+1)/n.
		dr, dc := float64(tc.h-1), float64(tc.w-1)
		var want float64
		if n := math.Hypot(dr, dc); n == 0 {
			want = max(tc.sr, tc.sc)
		} else {
			want = math.Hypot(dr*tc.sr, dc*tc.sc) * (n + 1) / n
		}
		near(t, "diameter", l.LongestDiameter, want, 1e-9)
		switch {
		case tc.h == 1:
			near(t, "line diameter", l.LongestDiameter, float64(tc.w)*tc.sc, 1e-9)
		case tc.w == 1:
			near(t, "line diameter", l.LongestDiameter, float64(tc.h)*tc.sr, 1e-9)
		}
		near(t, "centroid row", l.Centroid[0], 5+float64(tc.h-1)/2, 1e-9)
		near(t, "centroid col", l.Centroid[1], 9+float64(tc.w-1)/2, 1e-9)
	}
}

func TestTwoBlobsLabelsAndOrder(t *testing.T) {
	const rows, cols = 80, 80
	p := axial(rows, cols, 0.8, 0.8)
	mask := make([]uint8, rows*cols)
	// The disc's first pixel (row 45) comes after the rectangle's (row 10)
	// in raster order even though it lies further left.
	n1 := disc(mask, cols, 55, 15, 10)
	rect(mask, cols, 10, 50, 8, 12)
	ls, err := Measure(mask, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 {
		t.Fatalf("%d lesions, want 2", len(ls))
	}
	if ls[0].AreaPx != 96 || ls[1].AreaPx != n1 {
		t.Errorf("areas %d, %d: want rectangle (96) first, disc (%d) second", ls[0].AreaPx, ls[1].AreaPx, n1)
	}
	if ls[0].Label != 1 || ls[1].Label != 2 {
		t.Errorf("labels %d, %d", ls[0].Label, ls[1].Label)
	}
	near(t, "disc diameter", ls[1].LongestDiameter, 21*0.8, 1e-9)
}

func TestEightConnectivity(t *testing.T) {
	// Diagonal neighbours join; pixels two apart do not.
	mask := []uint8{
		1, 0, 0, 0, 1,
		0, 1, 0, 0, 0,
		0, 0, 1, 0, 1,
	}
	labels, n, err := Label(mask, 3, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d components, want 3 (%v)", n, labels)
	}
	want := []int32{1, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 1, 0, 3}
	for i := range want {
		if labels[i] != want[i] {
			t.Fatalf("labels %v, want %v", labels, want)
		}
	}
	// The diagonal line of three pixels: centres 2√2 apart, plus one pixel.
	ls, err := Measure(mask, axial(3, 5, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "diagonal diameter", ls[0].LongestDiameter, 2*math.Sqrt2+1, 1e-9)
}

func TestObliquePatientCentroid(t *testing.T) {
	// A coronal-ish tilted plane: rows along -z, columns along a rotated x/y.
	c, s := math.Cos(0.3), math.Sin(0.3)
	p := Plane{
		Rows: 40, Cols: 50, PixelSpacing: [2]float64{1.5, 0.5},
		Position:    [3]float64{10, 20, 30},
		Orientation: [6]float64{c, s, 0, 0, 0, -1},
	}
	mask := make([]uint8, 40*50)
	mask[7*50+11] = 1
	ls, err := Measure(mask, p)
	if err != nil {
		t.Fatal(err)
	}
	want := [3]float64{10 + 11*0.5*c, 20 + 11*0.5*s, 30 - 7*1.5}
	for k := range want {
		near(t, "patient", ls[0].CentroidPatient[k], want[k], 1e-9)
	}
	if n := p.Normal(); math.Abs(n[0]+s) > 1e-12 || math.Abs(n[1]-c) > 1e-12 || n[2] != 0 {
		t.Errorf("normal %v", n)
	}
}

func TestThreshold(t *testing.T) {
	prob := []float32{0, 0.49, 0.5, 0.51, 1, float32(math.NaN()), float32(math.Inf(1))}
	got := Threshold(prob, 0.5, nil)
	want := []uint8{0, 0, 1, 1, 1, 0, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Threshold = %v, want %v", got, want)
		}
	}
	if Count(got) != 4 {
		t.Errorf("Count = %d", Count(got))
	}
}

func TestEmptyMask(t *testing.T) {
	ls, err := Measure(make([]uint8, 16), axial(4, 4, 1, 1))
	if err != nil || len(ls) != 0 {
		t.Fatalf("%v, %v", ls, err)
	}
}

func TestBadInput(t *testing.T) {
	good := axial(4, 4, 1, 1)
	for name, tc := range map[string]struct {
		mask []uint8
		p    Plane
	}{
		"short mask":      {make([]uint8, 15), good},
		"zero spacing":    {make([]uint8, 16), func() Plane { p := good; p.PixelSpacing[0] = 0; return p }()},
		"NaN spacing":     {make([]uint8, 16), func() Plane { p := good; p.PixelSpacing[1] = math.NaN(); return p }()},
		"no orientation":  {make([]uint8, 16), func() Plane { p := good; p.Orientation = [6]float64{}; return p }()},
		"not orthogonal":  {make([]uint8, 16), func() Plane { p := good; p.Orientation = [6]float64{1, 0, 0, 1, 0, 0}; return p }()},
		"zero rows":       {nil, func() Plane { p := good; p.Rows = 0; return p }()},
		"huge":            {nil, func() Plane { p := good; p.Rows = 1 << 20; return p }()},
		"infinite origin": {make([]uint8, 16), func() Plane { p := good; p.Position[2] = math.Inf(-1); return p }()},
	} {
		if _, err := Measure(tc.mask, tc.p); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err %v, want ErrInput", name, err)
		}
	}
}

// sphereStack measures a digital sphere of radius R mm sliced every dz mm.
func sphereStack(t *testing.T, R, dz, s float64, order []int) VolumeResult {
	t.Helper()
	const n = 160
	var areas []SliceArea
	nz := int(math.Ceil(R/dz)) + 1
	for k := -nz; k <= nz; k++ {
		z := float64(k) * dz
		p := axial(n, n, s, s)
		p.Position[2] = z
		p.Thickness = dz
		mask := make([]uint8, n*n)
		if r2 := R*R - z*z; r2 > 0 {
			for r := 0; r < n; r++ {
				for c := 0; c < n; c++ {
					y, x := (float64(r)-n/2)*s, (float64(c)-n/2)*s
					if x*x+y*y <= r2 {
						mask[r*n+c] = 1
					}
				}
			}
		}
		ls, err := Measure(mask, p)
		if err != nil {
			t.Fatal(err)
		}
		a := 0.0
		for _, l := range ls {
			a += l.Area
		}
		areas = append(areas, SliceArea{Plane: p, Area: a})
	}
	if order != nil {
		perm := make([]SliceArea, 0, len(areas))
		for _, i := range order {
			perm = append(perm, areas[i%len(areas)])
		}
		areas = perm
	}
	v, err := Volume(areas)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVolumeSphere(t *testing.T) {
	const R = 30.0 // mm
	want := 4.0 / 3 * math.Pi * R * R * R / 1000
	for _, dz := range []float64{1, 2.5, 5} {
		v := sphereStack(t, R, dz, 0.8, nil)
		if v.SpacingFrom != "positions" || math.Abs(v.Spacing-dz) > 1e-9 || v.Gaps != 0 {
			t.Errorf("dz %g: %+v", dz, v)
		}
		// Midpoint-rule integration of a sphere: within 2 % at dz ≤ R/6.
		near(t, "sphere volume mL", v.Volume, want, 0.02*want)
	}
	// Order does not matter.
	a := sphereStack(t, R, 5, 0.8, nil)
	b := sphereStack(t, R, 5, 0.8, []int{5, 3, 11, 0, 1, 2, 4, 6, 7, 8, 9, 10, 12, 13, 14})
	if a.Slices != b.Slices || math.Abs(a.Volume-b.Volume) > 1e-9 {
		t.Errorf("shuffled %+v vs %+v", b, a)
	}
}

func TestVolumeSpacingAndGaps(t *testing.T) {
	p := axial(4, 4, 1, 1)
	at := func(z, area float64) SliceArea {
		q := p
		q.Position[2] = z
		return SliceArea{Plane: q, Area: area}
	}
	// 3 mm spacing with one missing slice (z=9), and an oblique normal
	// ignored by nothing: positions are projected on the normal.
	v, err := Volume([]SliceArea{at(0, 100), at(3, 200), at(6, 300), at(12, 400), at(15, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if v.Spacing != 3 || v.Gaps != 1 || v.SpacingFrom != "positions" {
		t.Errorf("%+v", v)
	}
	near(t, "volume", v.Volume, 1000*3/1000.0, 1e-12)

	// One slice: thickness.
	v, err = Volume([]SliceArea{at(0, 250)})
	if err != nil || v.SpacingFrom != "thickness" || v.Spacing != 5 {
		t.Fatalf("%+v %v", v, err)
	}
	near(t, "volume", v.Volume, 1.25, 1e-12)
	// Duplicates are counted.
	v, err = Volume([]SliceArea{at(0, 1), at(0, 1), at(2, 1)})
	if err != nil || v.Duplicates != 1 || v.Spacing != 2 {
		t.Fatalf("%+v %v", v, err)
	}

	// No spacing at all.
	q := p
	q.Thickness = 0
	if _, err := Volume([]SliceArea{{Plane: q, Area: 1}}); !errors.Is(err, ErrInput) {
		t.Errorf("no spacing: %v", err)
	}
	if _, err := Volume(nil); !errors.Is(err, ErrInput) {
		t.Errorf("none: %v", err)
	}
	r := at(5, 1)
	r.Plane.Orientation = [6]float64{0, 1, 0, 0, 0, -1}
	if _, err := Volume([]SliceArea{at(0, 1), r}); !errors.Is(err, ErrInput) {
		t.Errorf("mixed orientation: %v", err)
	}
	if _, err := Volume([]SliceArea{at(0, math.NaN())}); !errors.Is(err, ErrInput) {
		t.Errorf("NaN area: %v", err)
	}
}

func TestVolumeObliqueNormal(t *testing.T) {
	// Slices stepping 2 mm along a tilted normal: the spacing is 2.
	c, s := math.Cos(0.4), math.Sin(0.4)
	base := Plane{Rows: 4, Cols: 4, PixelSpacing: [2]float64{1, 1}, Orientation: [6]float64{1, 0, 0, 0, c, s}}
	n := base.Normal()
	var sl []SliceArea
	for k := range 4 {
		p := base
		p.Position = [3]float64{7 + 2*float64(k)*n[0], 2*float64(k)*n[1] + 1, 2*float64(k)*n[2] - 3}
		sl = append(sl, SliceArea{Plane: p, Area: 10})
	}
	v, err := Volume(sl)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "spacing", v.Spacing, 2, 1e-9)
}

func BenchmarkMeasure512(b *testing.B) {
	const n = 512
	p := axial(n, n, 0.7, 0.7)
	mask := make([]uint8, n*n)
	disc(mask, n, 200, 220, 40)
	disc(mask, n, 350, 300, 15)
	rect(mask, n, 100, 100, 30, 60)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Measure(mask, p); err != nil {
			b.Fatal(err)
		}
	}
}
