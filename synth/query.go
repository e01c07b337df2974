package synth

import (
	"math"
	"sort"

	"github.com/lsms-edge/lsms/synth/dataset"
)

// This file holds the generator's own uniqueness check: an expression is
// a structured query (attribute keys whose values are the target's, or a
// relation), evaluated against every lesion listed on the slice.

// diameterMatches applies the shared tolerance to a stated diameter.
func diameterMatches(stated, actual float64) bool {
	return math.Abs(actual-stated) <= max(dataset.DiameterTolMM, dataset.DiameterTolFrac*stated)
}

// attrMatches reports whether lesion o fits the value of key stated for
// target t.
func attrMatches(key string, t, o *dataset.Lesion) bool {
	switch key {
	case dataset.KeyType:
		return o.Type == t.Type
	case dataset.KeySegment:
		return o.Segment == t.Segment
	case dataset.KeyLobe:
		return o.Lobe == t.Lobe
	case dataset.KeyDiameter:
		return diameterMatches(t.DiameterMM, o.DiameterMM)
	case dataset.KeyShape:
		return o.Shape == t.Shape
	case dataset.KeyBoundary:
		return o.Boundary == t.Boundary
	case dataset.KeyDensity:
		return o.Density == t.Density
	case dataset.KeyRing:
		return o.RingEnhancement == t.RingEnhancement
	case dataset.KeyFeature:
		return o.Feature == t.Feature
	}
	return false
}

// attrsUnique reports whether the keys, with the target's values, match
// the target and no other lesion.
func attrsUnique(keys []string, t *dataset.Lesion, ls []dataset.Lesion) bool {
	for i := range ls {
		o := &ls[i]
		if o.ID == t.ID {
			continue
		}
		all := true
		for _, k := range keys {
			if !attrMatches(k, t, o) {
				all = false
				break
			}
		}
		if all {
			return false
		}
	}
	return true
}

func dist3(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

// relationWinner evaluates a relation on the slice's lesions and returns
// the lesion it picks, or ok = false when it picks none clearly (fewer
// than two candidates, a stated count that is wrong, or a margin below
// the shared thresholds).
func relationWinner(rel *dataset.Relation, ls []dataset.Lesion, lm dataset.Landmarks) (id int, ok bool) {
	var cand []*dataset.Lesion
	for i := range ls {
		if rel.Among == "" || ls[i].Type == rel.Among {
			cand = append(cand, &ls[i])
		}
	}
	if len(cand) < 2 || (rel.Count > 0 && rel.Count != len(cand)) {
		return 0, false
	}
	// score: smaller is better
	var score func(l *dataset.Lesion) float64
	switch rel.Kind + "/" + rel.Order {
	case "size/larger":
		score = func(l *dataset.Lesion) float64 { return -l.DiameterMM }
	case "size/smaller":
		score = func(l *dataset.Lesion) float64 { return l.DiameterMM }
	case "position/anterior":
		score = func(l *dataset.Lesion) float64 { return l.CentroidPatient[1] }
	case "position/posterior":
		score = func(l *dataset.Lesion) float64 { return -l.CentroidPatient[1] }
	case "position/right":
		score = func(l *dataset.Lesion) float64 { return l.CentroidPatient[0] }
	case "position/left":
		score = func(l *dataset.Lesion) float64 { return -l.CentroidPatient[0] }
	case "landmark/nearest":
		var p [3]float64
		switch rel.Landmark {
		case dataset.LandmarkGallbladderFossa:
			p = lm.GallbladderFossa
		case dataset.LandmarkIVC:
			p = lm.IVC
		default:
			return 0, false
		}
		score = func(l *dataset.Lesion) float64 { return dist3(l.CentroidPatient, p) }
	default:
		return 0, false
	}
	sort.SliceStable(cand, func(i, j int) bool { return score(cand[i]) < score(cand[j]) })
	b, s := cand[0], cand[1]
	switch rel.Kind {
	case dataset.RelSize:
		big, small := b.DiameterMM, s.DiameterMM
		if rel.Order == "smaller" {
			big, small = s.DiameterMM, b.DiameterMM
		}
		if big < dataset.SizeRatio*small {
			return 0, false
		}
	case dataset.RelPosition:
		if score(s)-score(b) < dataset.PositionMarginMM {
			return 0, false
		}
	case dataset.RelLandmark:
		if score(s)-score(b) < dataset.PositionMarginMM || score(b) > dataset.LandmarkRatio*score(s) {
			return 0, false
		}
	}
	return b.ID, true
}
