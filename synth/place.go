package synth

import (
	"math"

	"github.com/lsms-edge/lsms/synth/dataset"
)

// Placement limits.
const (
	maxPerSlice   = 4    // lesions crossing one slice
	minLiverShare = 0.92 // share of a lesion's footprint that must be liver
	maxLesions    = 9    // per case
)

// typeWeights is the prior of a case's dominant lesion type, in
// dataset.Types order.
var typeWeights = []float64{0.25, 0.2, 0.15, 0.3, 0.1}

// placeLesions plans and places the case's lesions so that every slice
// crosses at least one lesion large enough to be a target, no slice
// crosses more than maxPerSlice, lesions do not touch and lie (almost)
// wholly in the liver.
func placeLesions(r *rng, a *anatomy, maps []*sliceMaps) []*lesion {
	dominant := dataset.Types[r.weighted(typeWeights...)]
	k := 1 + r.weighted(0.2, 0.35, 0.25, 0.2)
	var ls []*lesion
	pickType := func() string {
		if len(ls) == 0 || r.chance(0.7) {
			return dominant
		}
		return dataset.Types[r.weighted(typeWeights...)]
	}
	zLo, zHi := a.sliceZ(a.nSlices-1), a.sliceZ(0)
	for i := 0; i < k; i++ {
		typ := pickType()
		if l := tryPlace(r, a, maps, ls, len(ls)+1, typ, 0, zLo-4, zHi+4); l != nil {
			ls = append(ls, l)
		}
	}
	// cover the slices no lesion reaches well
	for pass := 0; pass < 3; pass++ {
		for s := range maps {
			if covered(ls, maps[s].z) || len(ls) >= maxLesions {
				continue
			}
			z := maps[s].z
			if l := tryPlace(r, a, maps, ls, len(ls)+1, pickType(), 9, z-1.5, z+1.5); l != nil {
				ls = append(ls, l)
			}
		}
	}
	return ls
}

// covered reports whether some lesion crosses z near its equator, so
// that its section there is a usable target.
func covered(ls []*lesion, z float64) bool {
	for _, l := range ls {
		if math.Abs(z-l.cz) < 0.55*l.rz && min(l.rx, l.ry) >= 4 {
			return true
		}
	}
	return false
}

// tryPlace draws a lesion of type typ (diameter at least dmin if > 0)
// centred between zLo and zHi and returns it if it fits, nil otherwise.
func tryPlace(r *rng, a *anatomy, maps []*sliceMaps, ls []*lesion, id int, typ string, dmin, zLo, zHi float64) *lesion {
	sp := typeSpecs[typ]
	lo, hi := max(sp.dmin, dmin), sp.dmax
	for attempt := 0; attempt < 120; attempt++ {
		// log-uniform size; shrink the ceiling as attempts fail
		top := hi * math.Pow(0.97, float64(attempt))
		top = max(top, lo*1.2)
		d := math.Exp(r.uniform(math.Log(lo), math.Log(top)))
		l := newLesion(r, a, id, typ, d)
		l.cz = r.uniform(zLo, zHi)
		s := int(math.Round((a.zTop - l.cz) / a.step))
		s = max(0, min(len(maps)-1, s))
		m := maps[s]
		if len(m.liverPix) == 0 {
			continue
		}
		p := int(m.liverPix[r.intn(len(m.liverPix))])
		l.cx = a.x0 + (float64(p%imgSize)+r.uniform(-0.5, 0.5))*a.spacing
		l.cy = a.y0 + (float64(p/imgSize)+r.uniform(-0.5, 0.5))*a.spacing
		if fits(a, maps, ls, l) {
			return l
		}
	}
	return nil
}

func fits(a *anatomy, maps []*sliceMaps, ls []*lesion, l *lesion) bool {
	for _, o := range ls {
		d := math.Sqrt((o.cx-l.cx)*(o.cx-l.cx) + (o.cy-l.cy)*(o.cy-l.cy) + (o.cz-l.cz)*(o.cz-l.cz))
		if d < o.rmax()+l.rmax()+3 {
			return false
		}
	}
	reach := l.zReach()
	for _, m := range maps {
		if math.Abs(m.z-l.cz) >= reach {
			continue
		}
		n := 1
		for _, o := range ls {
			if math.Abs(m.z-o.cz) < o.zReach() {
				n++
			}
		}
		if n > maxPerSlice {
			return false
		}
		stride := max(1, int(l.inPlaneMax()/a.spacing/12))
		in, liv := l.footprint(a, m, stride)
		if in > 0 && float64(liv) < minLiverShare*float64(in) {
			return false
		}
	}
	return true
}
