package measure

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/lsms-edge/lsms/device/dicom"
)

// ErrInput: a buffer, size or geometry handed to this package is unusable.
var ErrInput = errors.New("measure: invalid input")

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
}

// Plane is the geometry of one slice (DICOM Image Plane module).
type Plane struct {
	Rows, Cols int
	// PixelSpacing is (row spacing, column spacing) in mm.
	PixelSpacing [2]float64
	// Position is Image Position Patient: the centre of the first pixel, mm.
	Position [3]float64
	// Orientation is Image Orientation Patient: the row direction cosines
	// (the direction of increasing column), then the column direction.
	Orientation [6]float64
	// Thickness is the slice thickness in mm (0: unknown).
	Thickness float64
}

// PlaneOf returns the geometry of a DICOM slice.
func PlaneOf(s *dicom.Slice) Plane {
	return Plane{
		Rows: s.Rows, Cols: s.Cols,
		PixelSpacing: s.PixelSpacing,
		Position:     s.ImagePositionPatient,
		Orientation:  s.ImageOrientationPatient,
		Thickness:    s.SliceThickness,
	}
}

// Validate checks the plane: positive size and spacing, finite position,
// unit and orthogonal direction cosines (within 1e-3).
func (p Plane) Validate() error {
	if p.Rows < 1 || p.Cols < 1 || p.Rows > dicom.MaxRows || p.Cols > dicom.MaxCols {
		return inputErr("size %d×%d outside 1..%d × 1..%d", p.Rows, p.Cols, dicom.MaxRows, dicom.MaxCols)
	}
	for i, v := range p.PixelSpacing {
		if !(v > 0) || math.IsInf(v, 0) {
			return inputErr("pixel spacing[%d] = %v, want a positive finite number of mm", i, v)
		}
	}
	for i, v := range p.Position {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return inputErr("image position[%d] = %v is not finite", i, v)
		}
	}
	if math.IsNaN(p.Thickness) || math.IsInf(p.Thickness, 0) || p.Thickness < 0 {
		return inputErr("slice thickness %v, want a finite number ≥ 0", p.Thickness)
	}
	o := p.Orientation
	x, y := [3]float64{o[0], o[1], o[2]}, [3]float64{o[3], o[4], o[5]}
	if math.Abs(dot(x, x)-1) > 1e-3 || math.Abs(dot(y, y)-1) > 1e-3 || math.Abs(dot(x, y)) > 1e-3 {
		return inputErr("image orientation %v: direction cosines are not unit and orthogonal", o)
	}
	return nil
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// Normal returns the slice normal, row direction × column direction.
func (p Plane) Normal() [3]float64 {
	o := p.Orientation
	return [3]float64{
		o[1]*o[5] - o[2]*o[4],
		o[2]*o[3] - o[0]*o[5],
		o[0]*o[4] - o[1]*o[3],
	}
}

// Patient returns the patient-coordinate point (mm) of the pixel position
// (row, col); fractional positions are interpolated.
func (p Plane) Patient(row, col float64) [3]float64 {
	o := p.Orientation
	dc := col * p.PixelSpacing[1]
	dr := row * p.PixelSpacing[0]
	return [3]float64{
		p.Position[0] + dc*o[0] + dr*o[3],
		p.Position[1] + dc*o[1] + dr*o[4],
		p.Position[2] + dc*o[2] + dr*o[5],
	}
}

// PixelAreaMM2 is the area of one pixel in mm².
func (p Plane) PixelAreaMM2() float64 { return p.PixelSpacing[0] * p.PixelSpacing[1] }

// Threshold writes 1 to dst[i] where prob[i] ≥ t and 0 elsewhere (NaN is
// 0), and returns dst, allocated when too short.
func Threshold(prob []float32, t float32, dst []uint8) []uint8 {
	if cap(dst) < len(prob) {
		dst = make([]uint8, len(prob))
	}
	dst = dst[:len(prob)]
	for i, v := range prob {
		if v >= t {
			dst[i] = 1
		} else {
			dst[i] = 0
		}
	}
	return dst
}

// Count returns the number of nonzero pixels of mask.
func Count(mask []uint8) int {
	n := 0
	for _, v := range mask {
		if v != 0 {
			n++
		}
	}
	return n
}

// Label labels the 8-connected components of mask (nonzero is foreground),
// rows×cols row-major: labels[i] is 0 for background, else 1..n, numbered
// in raster order of each component's first pixel. labels is reused when
// long enough.
func Label(mask []uint8, rows, cols int, labels []int32) ([]int32, int, error) {
	if rows < 1 || cols < 1 || rows > dicom.MaxRows || cols > dicom.MaxCols {
		return nil, 0, inputErr("size %d×%d outside 1..%d × 1..%d", rows, cols, dicom.MaxRows, dicom.MaxCols)
	}
	if len(mask) != rows*cols {
		return nil, 0, inputErr("mask has %d pixels, want rows×cols = %d×%d = %d", len(mask), rows, cols, rows*cols)
	}
	if cap(labels) < len(mask) {
		labels = make([]int32, len(mask))
	}
	labels = labels[:len(mask)]
	clear(labels)
	var stack []int32
	n := int32(0)
	for i, v := range mask {
		if v == 0 || labels[i] != 0 {
			continue
		}
		n++
		labels[i] = n
		stack = append(stack[:0], int32(i))
		for len(stack) > 0 {
			p := int(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			r, c := p/cols, p%cols
			for dr := -1; dr <= 1; dr++ {
				rr := r + dr
				if rr < 0 || rr >= rows {
					continue
				}
				for dc := -1; dc <= 1; dc++ {
					cc := c + dc
					if cc < 0 || cc >= cols {
						continue
					}
					q := rr*cols + cc
					if mask[q] != 0 && labels[q] == 0 {
						labels[q] = n
						stack = append(stack, int32(q))
					}
				}
			}
		}
	}
	return labels, int(n), nil
}

// Lesion is one connected component of a slice's mask.
type Lesion struct {
	// Label is the component's label (1-based, raster order).
	Label  int     `json:"label"`
	AreaPx int     `json:"area_px"`
	Area   float64 `json:"area_mm2"`
	// LongestDiameter is the maximal Feret diameter in mm (see the package
	// documentation for the convention).
	LongestDiameter float64 `json:"longest_diameter_mm"`
	// DiameterEnds are the (row, column) pixels the diameter joins.
	DiameterEnds [2][2]int `json:"diameter_ends_px"`
	// Centroid is the mean (row, column) of the component's pixels.
	Centroid [2]float64 `json:"centroid_px"`
	// CentroidPatient is Centroid in patient coordinates (mm).
	CentroidPatient [3]float64 `json:"centroid_patient_mm"`
	// BBox is min row, min column, max row, max column (inclusive).
	BBox [4]int `json:"bbox_px"`
}

// span is the leftmost and rightmost pixel of a component on one row.
type span struct{ row, c0, c1 int32 }

type acc struct {
	n              int
	sumR, sumC     float64
	r0, c0, r1, c1 int
	spans          []span
}

// Measure labels mask (rows×cols of p, nonzero is foreground) and measures
// every component, in label order. An empty mask gives no lesions.
func Measure(mask []uint8, p Plane) ([]Lesion, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	labels, n, err := Label(mask, p.Rows, p.Cols, nil)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	accs := make([]acc, n)
	for i := range accs {
		accs[i].r0, accs[i].c0 = math.MaxInt, math.MaxInt
		accs[i].r1, accs[i].c1 = -1, -1
	}
	for i, l := range labels {
		if l == 0 {
			continue
		}
		a := &accs[l-1]
		r, c := i/p.Cols, i%p.Cols
		a.n++
		a.sumR += float64(r)
		a.sumC += float64(c)
		a.r0, a.r1 = min(a.r0, r), max(a.r1, r)
		a.c0, a.c1 = min(a.c0, c), max(a.c1, c)
		// Raster order: the first pixel of a row is its leftmost, the last
		// its rightmost.
		if k := len(a.spans) - 1; k >= 0 && a.spans[k].row == int32(r) {
			a.spans[k].c1 = int32(c)
		} else {
			a.spans = append(a.spans, span{int32(r), int32(c), int32(c)})
		}
	}
	out := make([]Lesion, n)
	px := p.PixelAreaMM2()
	for k := range accs {
		a := &accs[k]
		cr, cc := a.sumR/float64(a.n), a.sumC/float64(a.n)
		d, ends := feret(a.spans, p.PixelSpacing)
		out[k] = Lesion{
			Label:           k + 1,
			AreaPx:          a.n,
			Area:            float64(a.n) * px,
			LongestDiameter: d,
			DiameterEnds:    ends,
			Centroid:        [2]float64{cr, cc},
			CentroidPatient: p.Patient(cr, cc),
			BBox:            [4]int{a.r0, a.c0, a.r1, a.c1},
		}
	}
	return out, nil
}

type pt struct{ r, c int64 }

func cross(o, a, b pt) int64 { return (a.r-o.r)*(b.c-o.c) - (a.c-o.c)*(b.r-o.r) }

// hull returns the convex hull of the spans' end pixels (Andrew's monotone
// chain; the points are already sorted by row, then column), without
// collinear points. Exact: integer arithmetic.
func hull(spans []span) []pt {
	pts := make([]pt, 0, 2*len(spans))
	for _, s := range spans {
		pts = append(pts, pt{int64(s.row), int64(s.c0)})
		if s.c1 != s.c0 {
			pts = append(pts, pt{int64(s.row), int64(s.c1)})
		}
	}
	if len(pts) < 3 {
		return pts
	}
	h := make([]pt, 0, 2*len(pts))
	for _, q := range pts {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	lower := len(h) + 1
	for i := len(pts) - 2; i >= 0; i-- {
		q := pts[i]
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	return h[:len(h)-1]
}

// feret returns the longest diameter (mm) of the component with these
// spans, and the two pixels it joins.
func feret(spans []span, spacing [2]float64) (float64, [2][2]int) {
	h := hull(spans)
	sr, sc := spacing[0], spacing[1]
	first := [2]int{int(h[0].r), int(h[0].c)}
	if len(h) == 1 {
		return max(sr, sc), [2][2]int{first, first}
	}
	best, bi, bj := -1.0, 0, 0
	for i := range h {
		for j := i + 1; j < len(h); j++ {
			dr, dc := float64(h[j].r-h[i].r)*sr, float64(h[j].c-h[i].c)*sc
			if d := dr*dr + dc*dc; d > best {
				best, bi, bj = d, i, j
			}
		}
	}
	a, b := h[bi], h[bj]
	steps := math.Hypot(float64(b.r-a.r), float64(b.c-a.c))
	d := math.Sqrt(best) * (steps + 1) / steps
	return d, [2][2]int{{int(a.r), int(a.c)}, {int(b.r), int(b.c)}}
}

// SliceArea is the segmented area of one slice of a series.
type SliceArea struct {
	Plane Plane
	Area  float64 // mm²
}

// VolumeResult is the lesion volume of a series.
type VolumeResult struct {
	// Volume in mL (cm³): Σ area × Spacing / 1000.
	Volume float64 `json:"volume_ml"`
	// Spacing is the slice spacing used, mm.
	Spacing float64 `json:"slice_spacing_mm"`
	// SpacingFrom is "positions" (median distance between consecutive
	// slice positions along the normal) or "thickness" (fallback).
	SpacingFrom string `json:"slice_spacing_from"`
	// Slices is the number of slices summed.
	Slices int `json:"slices"`
	// Gaps counts consecutive positions more than 1.5 × Spacing apart
	// (missing slices).
	Gaps int `json:"gaps"`
	// Duplicates counts slices at the same position as another (within
	// 1 µm); they are summed like the others.
	Duplicates int `json:"duplicates"`
}

// Volume returns the volume of a series' segmented areas. Slices may come
// in any order; all must share the orientation of the first.
func Volume(slices []SliceArea) (VolumeResult, error) {
	if len(slices) == 0 {
		return VolumeResult{}, inputErr("no slices")
	}
	o0 := slices[0].Plane.Orientation
	pos := make([]float64, len(slices))
	total := 0.0
	for i, s := range slices {
		if err := s.Plane.Validate(); err != nil {
			return VolumeResult{}, fmt.Errorf("slice %d: %w", i, err)
		}
		for k := range o0 {
			if math.Abs(s.Plane.Orientation[k]-o0[k]) > 1e-3 {
				return VolumeResult{}, inputErr("slice %d: orientation %v differs from slice 0's %v", i, s.Plane.Orientation, o0)
			}
		}
		if math.IsNaN(s.Area) || math.IsInf(s.Area, 0) || s.Area < 0 {
			return VolumeResult{}, inputErr("slice %d: area %v mm², want a finite number ≥ 0", i, s.Area)
		}
		total += s.Area
		pos[i] = dot(s.Plane.Position, slices[0].Plane.Normal())
	}
	sort.Float64s(pos)
	var diffs []float64
	dups := 0
	for i := 1; i < len(pos); i++ {
		if d := pos[i] - pos[i-1]; d < 1e-3 {
			dups++
		} else {
			diffs = append(diffs, d)
		}
	}
	res := VolumeResult{Slices: len(slices), Duplicates: dups}
	if len(diffs) > 0 {
		sort.Float64s(diffs)
		m := len(diffs) / 2
		res.Spacing = diffs[m]
		if len(diffs)%2 == 0 {
			res.Spacing = (diffs[m-1] + diffs[m]) / 2
		}
		res.SpacingFrom = "positions"
		for _, d := range diffs {
			if d > 1.5*res.Spacing {
				res.Gaps++
			}
		}
	} else {
		t := slices[0].Plane.Thickness
		if !(t > 0) {
			return VolumeResult{}, inputErr("one slice position and no slice thickness: the slice spacing is unknown")
		}
		res.Spacing, res.SpacingFrom = t, "thickness"
	}
	res.Volume = total * res.Spacing / 1000
	return res, nil
}
