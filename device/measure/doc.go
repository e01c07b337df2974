// Package measure turns a segmentation of one CT slice — a probability map
// or a binary mask at the slice's native resolution — into lesion
// measurements, and a series of them into a lesion volume.
//
// Per slice:
//
//   - Threshold: prob ≥ t is foreground (NaN is background).
//   - Label: connected components with 8-connectivity; labels 1..N are
//     given in raster order of each component's first pixel, so the same
//     mask always gets the same labels.
//   - Measure: per component, the area (pixels × row spacing × column
//     spacing, mm²), the centroid (mean pixel row and column, and the point
//     in patient coordinates through the slice geometry: Image Position
//     Patient + column × column spacing × row direction + row × row spacing ×
//     column direction), the bounding box and the longest diameter.
//
// The longest diameter is the maximal Feret diameter of the component's
// boundary pixels, in millimetres with anisotropic pixel spacing: the pair
// of pixel centres farthest apart in mm (found on the convex hull of the
// component, which only boundary pixels can span), lengthened by one pixel
// step along the same direction for the pixels' own extent. For a pair
// whose index offset is (Δrow, Δcol) with n = √(Δrow² + Δcol²) steps,
// the diameter is √((Δrow·row spacing)² + (Δcol·col spacing)²) × (n+1)/n:
// a w-pixel line along a row measures w × column spacing, a digital disc
// of integer radius R pixels (isotropic spacing s) measures (2R+1)·s, and
// a one-pixel component measures the larger spacing. With isotropic
// spacing this is the convention of package synth (centre distance plus
// one pixel), so its ground-truth diameters compare directly.
//
// Over a series, Volume sums area × slice spacing. The spacing is the
// median distance between consecutive distinct slice positions projected
// on the slice normal (Image Position Patient · (row direction × column
// direction)); with fewer than two distinct positions it falls back to the
// slice thickness. Positions further apart than 1.5 × that spacing are
// counted as gaps (missing slices lower the volume: nothing is
// interpolated).
//
// Bad input (buffer sizes that do not match, non-positive spacing,
// orientation vectors that are not unit and orthogonal) is an error
// wrapping ErrInput that names the problem, never a panic.
package measure
