package synth

import (
	"fmt"
	"math"

	"github.com/lsms-edge/lsms/synth/dataset"
)

// Visibility thresholds for lesion sections.
const (
	minVisiblePx  = 6   // a section smaller than this is not listed
	minTargetMM   = 5.0 // a target's diameter on the slice
	minTargetPx   = 12
	minCompact    = 0.55 // target area over the ellipse of its axes
	huMin, huMax  = -1024, 3071
	rngAnatomy    = 1
	rngSliceBase  = 1000
	rngExprBase   = 2000
	rngLesionBase = 3000
)

// section is a lesion as seen on one slice.
type section struct {
	attr dataset.Lesion
	mask []int32
}

// renderedSlice is one finished slice.
type renderedSlice struct {
	index    int
	z        float64
	hu       []int16
	label    []tissue // kept for tests
	seg      []uint8
	sections []section
}

// caseData is one generated case.
type caseData struct {
	index   int
	name    string
	a       *anatomy
	lesions []*lesion
	slices  []renderedSlice
}

func caseName(i int) string { return fmt.Sprintf("case_%04d", i) }

// makeCase generates case idx of the set seeded by seed. It depends on
// nothing else, so cases can be made in any order and in parallel.
func makeCase(seed uint64, idx, minSlices, maxSlices int, step float64) *caseData {
	r := newRNG(seed, uint64(idx), rngAnatomy)
	n := r.rangeInt(minSlices, maxSlices)
	a := newAnatomy(r, n, step)
	lut := a.outline()
	maps := make([]*sliceMaps, n)
	for k := range maps {
		maps[k] = a.paintSlice(a.sliceZ(k), lut)
	}
	cd := &caseData{index: idx, name: caseName(idx), a: a}
	cd.lesions = placeLesions(newRNG(seed, uint64(idx), rngLesionBase), a, maps)

	img := make([]float32, nPix)
	f1 := make([]float32, nPix)
	f2 := make([]float32, nPix)
	tmp := make([]float32, nPix)
	for k, m := range maps {
		sr := newRNG(seed, uint64(idx), rngSliceBase+uint64(k))
		smoothField(sr, f1, 14/a.spacing)
		smoothField(sr, f2, 4.5/a.spacing)
		for i, t := range m.label {
			img[i] = float32(a.hu[t]) + float32(a.texAmp[t])*(0.75*f1[i]+0.45*f2[i])
		}
		seg := append([]uint8(nil), m.seg...)
		var secs []section
		for _, l := range cd.lesions {
			mask := l.render(a, m, img, f1, f2)
			if len(mask) < minVisiblePx {
				continue
			}
			secs = append(secs, section{attr: a.attributes(l, mask, seg, m.z), mask: mask})
		}
		blur(img, tmp, a.psfPx)
		addNoise(sr, img, f1, tmp, a.noiseSD, a.corrPx)
		hu := make([]int16, nPix)
		for i, v := range img {
			hu[i] = int16(math.Round(max(huMin, min(huMax, float64(v)))))
		}
		cd.slices = append(cd.slices, renderedSlice{index: k, z: m.z, hu: hu, label: m.label, seg: seg, sections: secs})
	}
	return cd
}

// isTarget reports whether a section can be the target of a record: big
// enough, and compact (not a sliver of a lobulated cap), so that its
// stated diameter describes its mask.
func isTarget(s *section) bool {
	a := &s.attr
	ellipse := math.Pi / 4 * a.DiameterMM * a.ShortAxisMM
	return a.DiameterMM >= minTargetMM && a.AreaPx >= minTargetPx && a.AreaMM2 >= minCompact*ellipse
}

// geometry returns the DICOM geometry of slice k.
func (a *anatomy) geometry(k int) dataset.Geometry {
	return dataset.Geometry{
		ImagePositionPatient:    [3]float64{a.x0, a.y0, a.sliceZ(k)},
		ImageOrientationPatient: [6]float64{1, 0, 0, 0, 1, 0},
		SliceThicknessMM:        a.step,
		SpacingBetweenSlicesMM:  a.step,
		SliceLocationMM:         a.sliceZ(k),
	}
}

// landmarks returns the reference points of slice k.
func (a *anatomy) landmarks(k int) dataset.Landmarks {
	return dataset.Landmarks{
		GallbladderFossa: [3]float64{round2(a.gbFossa[0]), round2(a.gbFossa[1]), round2(a.gbFossa[2])},
		IVC:              [3]float64{round2(a.ivc.u + a.bx), round2(a.ivc.v + a.by), a.sliceZ(k)},
	}
}
