package synth

import (
	"math"

	"github.com/lsms-edge/lsms/synth/dataset"
)

// lharm is one lobulation term of a lesion surface:
// a·sin(n·azimuth + m·elevation + p), faded by cos²(elevation) to zero at
// the poles.
type lharm struct {
	a    float64
	n    int
	m, p float64
}

// nodule is a peripheral enhancing globule of a hemangioma, in the
// lesion's normalised coordinates.
type nodule struct{ x, y, z, r float64 }

// lesion is one 3D lesion of a case.
type lesion struct {
	id         int
	typ        string
	cx, cy, cz float64 // patient mm
	rx, ry, rz float64 // semi-axes, mm
	ang        float64 // in-plane rotation
	harm       []lharm
	ampSum     float64
	d3         float64 // nominal diameter, mm

	shape, boundary, density, feature string
	ring                              bool
	edgeMM                            float64

	base, rimHU, centreHU, midHU float64
	rimT                         float64
	mosaic                       float64
	necrosis                     bool
	scarPhase                    float64
	nodules                      []nodule
}

// rmax bounds the lesion's extent from its centre.
func (l *lesion) rmax() float64 { return max(l.rx, l.ry, l.rz) * (1 + l.ampSum) }

// inPlaneMax bounds its in-plane extent.
func (l *lesion) inPlaneMax() float64 { return max(l.rx, l.ry) * (1 + l.ampSum) }

// zReach is how far above and below its centre it reaches.
func (l *lesion) zReach() float64 { return l.rz * (1 + l.ampSum) }

// local maps a patient point to the lesion's normalised frame: q (unit
// sphere before lobulation), radius rho and surface radius m (inside iff
// rho < m).
func (l *lesion) local(x, y, z float64) (qx, qy, qz, rho, m float64) {
	dx, dy := x-l.cx, y-l.cy
	sn, cs := math.Sincos(l.ang)
	qx = (dx*cs + dy*sn) / l.rx
	qy = (-dx*sn + dy*cs) / l.ry
	qz = (z - l.cz) / l.rz
	rho = math.Sqrt(qx*qx + qy*qy + qz*qz)
	m = 1
	if len(l.harm) > 0 && rho > 1e-9 {
		az := math.Atan2(qy, qx)
		el := math.Asin(max(-1, min(1, qz/rho)))
		ce := math.Cos(el)
		s := 0.0
		for _, h := range l.harm {
			s += h.a * math.Sin(float64(h.n)*az+h.m*el+h.p)
		}
		m += ce * ce * s // fade to a smooth cap toward the poles
	}
	return
}

type typeSpec struct {
	dmin, dmax float64
	shapes     [4]float64 // round, oval, lobulated, irregular
	clear      float64    // probability of a clear boundary
}

var typeSpecs = map[string]typeSpec{
	dataset.TypeCyst:       {5, 60, [4]float64{0.6, 0.35, 0.05, 0}, 1},
	dataset.TypeHemangioma: {6, 80, [4]float64{0.3, 0.3, 0.3, 0.1}, 0.8},
	dataset.TypeHCC:        {10, 80, [4]float64{0.3, 0.25, 0.3, 0.15}, 0.45},
	dataset.TypeMetastasis: {5, 50, [4]float64{0.3, 0.2, 0.2, 0.3}, 0.45},
	dataset.TypeFNH:        {10, 60, [4]float64{0.35, 0.25, 0.4, 0}, 0.85},
}

var shapeNames = [4]string{"round", "oval", "lobulated", "irregular"}

// newLesion draws the size, shape and appearance of a lesion of type typ
// with nominal diameter d (mm); the caller sets its centre.
func newLesion(r *rng, a *anatomy, id int, typ string, d float64) *lesion {
	sp := typeSpecs[typ]
	l := &lesion{id: id, typ: typ, d3: d, ang: r.uniform(0, math.Pi)}
	l.shape = shapeNames[r.weighted(sp.shapes[:]...)]
	aspect := 1.0
	switch l.shape {
	case "round":
		aspect = r.uniform(1, 1.08)
		l.harm = []lharm{{a: r.uniform(0, 0.02), n: 3, m: r.uniform(-2, 2), p: r.uniform(0, 2*math.Pi)}}
	case "oval":
		aspect = r.uniform(1.3, 1.6)
		l.harm = []lharm{{a: r.uniform(0, 0.02), n: 2, m: 0, p: r.uniform(0, 2*math.Pi)}}
	case "lobulated":
		aspect = r.uniform(1, 1.25)
		l.harm = []lharm{{a: r.uniform(0.1, 0.15), n: r.rangeInt(3, 5), m: r.uniform(-2, 2), p: r.uniform(0, 2*math.Pi)}}
		if r.chance(0.5) {
			l.harm = append(l.harm, lharm{a: r.uniform(0.03, 0.06), n: r.rangeInt(5, 7), m: r.uniform(-2, 2), p: r.uniform(0, 2*math.Pi)})
		}
	case "irregular":
		aspect = r.uniform(1, 1.2)
		l.harm = []lharm{{a: r.uniform(0.05, 0.08), n: 2, m: r.uniform(-2, 2), p: r.uniform(0, 2*math.Pi)}}
		for i := 0; i < 3; i++ {
			l.harm = append(l.harm, lharm{a: r.uniform(0.035, 0.05), n: r.rangeInt(5, 9), m: r.uniform(-3, 3), p: r.uniform(0, 2*math.Pi)})
		}
	}
	for _, h := range l.harm {
		l.ampSum += h.a
	}
	R := d / 2 / (1 + 0.6*l.ampSum)
	l.rx = R
	l.ry = R / aspect
	l.rz = (l.rx + l.ry) / 2 * r.uniform(0.85, 1.15)

	liver := a.hu[tLiver]
	blood := a.hu[tAorta]
	clear := r.chance(sp.clear)
	switch typ {
	case dataset.TypeCyst:
		l.base = r.uniform(0, 15)
		l.density = "low"
	case dataset.TypeHemangioma:
		l.base = r.uniform(30, 46)
		l.density = "low"
		l.feature = "peripheral nodular enhancement"
		n := r.rangeInt(9, 15)
		for i := 0; i < n; i++ {
			// a point on a sphere, placed just inside the wall
			z := r.uniform(-1, 1)
			t := r.uniform(0, 2*math.Pi)
			s := math.Sqrt(1 - z*z)
			rr := r.uniform(0.74, 0.9)
			l.nodules = append(l.nodules, nodule{x: rr * s * math.Cos(t), y: rr * s * math.Sin(t), z: rr * z, r: r.uniform(0.16, 0.28)})
		}
		l.rimHU = blood - r.uniform(0, 20)
	case dataset.TypeHCC:
		l.base = liver - r.uniform(18, 32)
		l.density = "mixed"
		l.mosaic = r.uniform(14, 24)
		l.necrosis = d > 35 && r.chance(0.6)
		l.centreHU = r.uniform(25, 40)
		if r.chance(0.6) {
			l.feature = "capsule"
			l.rimHU = liver + r.uniform(18, 35)
			l.rimT = r.uniform(0.86, 0.9)
			clear = true
		}
	case dataset.TypeMetastasis:
		l.base = r.uniform(38, 62)
		l.density = "low"
		switch r.weighted(0.45, 0.25, 0.3) {
		case 0:
			l.ring = true
			l.rimHU = liver + r.uniform(12, 30)
			l.rimT = r.uniform(0.7, 0.8)
			l.base = r.uniform(30, 50)
		case 1:
			l.ring = true
			l.feature = "target sign"
			l.centreHU = r.uniform(12, 28)
			l.midHU = liver + r.uniform(5, 25)
			l.base = r.uniform(40, 58)
		}
	case dataset.TypeFNH:
		if r.chance(0.5) {
			l.base = liver + r.uniform(14, 18)
			l.density = "iso"
		} else {
			l.base = liver + r.uniform(30, 40)
			l.density = "slightly high"
		}
		if d >= 22 {
			l.feature = "central scar"
			l.centreHU = liver - r.uniform(45, 60)
			l.scarPhase = r.uniform(0, 2*math.Pi)
		}
	}
	if clear {
		l.boundary = "clear"
		l.edgeMM = r.uniform(0.2, 0.5)
	} else {
		l.boundary = "blurred"
		l.edgeMM = r.uniform(1.6, 3.0)
	}
	return l
}

// value is the lesion's HU at normalised position (q, t = rho/m); f1, f2
// are smooth random fields at the pixel.
func (l *lesion) value(qx, qy, qz, t float64, f1, f2 float32) float64 {
	t = min(t, 0.999)
	switch l.typ {
	case dataset.TypeCyst:
		return l.base
	case dataset.TypeHemangioma:
		v := l.base
		for _, n := range l.nodules {
			d := math.Sqrt((qx-n.x)*(qx-n.x)+(qy-n.y)*(qy-n.y)+(qz-n.z)*(qz-n.z)) / n.r
			if d < 1 {
				v = max(v, l.base+(l.rimHU-l.base)*(1-smoothstep(0.45, 1, d)))
			}
		}
		return v
	case dataset.TypeHCC:
		v := l.base + l.mosaic*float64(0.8*f1+0.6*f2)
		if l.necrosis && t < 0.7 && f2 < -0.3 {
			v += (l.centreHU - v) * smoothstep(-0.3, -0.8, float64(f2))
		}
		if l.feature == "capsule" {
			v += (l.rimHU - v) * smoothstep(l.rimT-0.04, l.rimT+0.02, t)
		}
		return v
	case dataset.TypeMetastasis:
		switch {
		case l.feature == "target sign":
			v := l.base + (l.midHU-l.base)*(1-smoothstep(0.62, 0.72, t))
			return v + (l.centreHU-v)*(1-smoothstep(0.28, 0.38, t))
		case l.ring:
			return l.base + (l.rimHU-l.base)*smoothstep(l.rimT-0.06, l.rimT+0.04, t)
		}
		return l.base + 4*float64(f2)
	case dataset.TypeFNH:
		v := l.base + 3*float64(f2)
		if l.feature == "central scar" {
			az := math.Atan2(qy, qx)
			best := math.Pi
			for k := 0; k < 5; k++ {
				d := math.Abs(math.Remainder(az-l.scarPhase-2*math.Pi*float64(k)/5, 2*math.Pi))
				best = min(best, d)
			}
			rm := (l.rx + l.ry) / 2
			spoke := t * rm * math.Sin(best) // mm from the spoke's axis
			inScar := t < 0.2 || (t < 0.62 && spoke < 1.6)
			if inScar {
				v = l.centreHU
			}
		}
		return v
	}
	return l.base
}

// render blends lesion l into img (clean HU) on slice m, marks its
// pixels tLesion, and returns its mask pixels. Only liver pixels change.
func (l *lesion) render(a *anatomy, m *sliceMaps, img []float32, f1, f2 []float32) []int32 {
	z := m.z
	if math.Abs(z-l.cz) >= l.zReach() {
		return nil
	}
	rm := l.inPlaneMax() + 3*l.edgeMM
	u0, v0 := l.cx-a.bx-rm, l.cy-a.by-rm
	c0, r0, c1, r1 := a.box(u0, v0, u0+2*rm, v0+2*rm)
	rmean := (l.rx + l.ry) / 2
	var mask []int32
	for r := r0; r <= r1; r++ {
		y := a.y0 + float64(r)*a.spacing
		for c := c0; c <= c1; c++ {
			i := r*imgSize + c
			if !liverSet.has(m.label[i]) {
				continue
			}
			x := a.x0 + float64(c)*a.spacing
			qx, qy, qz, rho, mm := l.local(x, y, z)
			dist := (mm - rho) * rmean // ≈ mm inside the surface
			if dist < -3*l.edgeMM {
				continue
			}
			w := 1 / (1 + math.Exp(-dist/(l.edgeMM*0.45)))
			val := l.value(qx, qy, qz, rho/mm, f1[i], f2[i])
			img[i] = float32(float64(img[i])*(1-w) + val*w)
			if rho < mm {
				mask = append(mask, int32(i))
			}
		}
	}
	for _, i := range mask {
		m.label[i] = tLesion
	}
	return mask
}

// footprint counts, on slice m, the sampled lesion pixels and those on
// liver (stride in pixels).
func (l *lesion) footprint(a *anatomy, m *sliceMaps, stride int) (in, onLiver int) {
	if math.Abs(m.z-l.cz) >= l.zReach() {
		return 0, 0
	}
	rm := l.inPlaneMax()
	u0, v0 := l.cx-a.bx-rm, l.cy-a.by-rm
	c0, r0, c1, r1 := a.box(u0, v0, u0+2*rm, v0+2*rm)
	for r := r0; r <= r1; r += stride {
		y := a.y0 + float64(r)*a.spacing
		for c := c0; c <= c1; c += stride {
			x := a.x0 + float64(c)*a.spacing
			_, _, _, rho, mm := l.local(x, y, m.z)
			if rho < mm {
				in++
				if liverSet.has(m.label[r*imgSize+c]) {
					onLiver++
				}
			}
		}
	}
	return
}

// attributes measures a cross-section: long and short axis, area,
// centroid, majority segment.
func (a *anatomy) attributes(l *lesion, mask []int32, seg []uint8, z float64) dataset.Lesion {
	s := a.spacing
	out := dataset.Lesion{
		ID: l.id, Type: l.typ, Shape: l.shape, Boundary: l.boundary, Density: l.density,
		RingEnhancement: l.ring, Feature: l.feature, Diameter3DMM: round1(l.d3),
		AreaPx: len(mask), AreaMM2: round1(float64(len(mask)) * s * s),
	}
	if len(mask) == 0 {
		return out
	}
	in := make(map[int32]bool, len(mask))
	var sx, sy float64
	var segCount [len(segNames)]int
	minC, minR, maxC, maxR := imgSize, imgSize, -1, -1
	for _, i := range mask {
		in[i] = true
		r, c := int(i)/imgSize, int(i)%imgSize
		sx += float64(c)
		sy += float64(r)
		segCount[seg[i]]++
		minC, maxC = min(minC, c), max(maxC, c)
		minR, maxR = min(minR, r), max(maxR, r)
	}
	n := float64(len(mask))
	cx, cy := sx/n, sy/n
	out.CentroidPx = [2]float64{round2(cx), round2(cy)}
	out.CentroidPatient = [3]float64{round2(a.x0 + cx*s), round2(a.y0 + cy*s), z}
	out.BBox = [4]int{minC, minR, maxC, maxR}
	best := 0
	for k := 1; k < len(segCount); k++ {
		if segCount[k] > segCount[best] {
			best = k
		}
	}
	out.Segment = segNames[best]
	out.Lobe = dataset.LobeOf(out.Segment)

	// boundary pixels: those with a 4-neighbour outside the mask
	var bx, by []float64
	for _, i := range mask {
		r, c := int(i)/imgSize, int(i)%imgSize
		if r == 0 || c == 0 || r == imgSize-1 || c == imgSize-1 ||
			!in[i-1] || !in[i+1] || !in[i-imgSize] || !in[i+imgSize] {
			bx = append(bx, float64(c))
			by = append(by, float64(r))
		}
	}
	// Feret (longest) diameter between boundary pixel centres, plus one
	// pixel for the pixels' own extent.
	bestD, ux, uy := 0.0, 1.0, 0.0
	for i := range bx {
		for j := i + 1; j < len(bx); j++ {
			dx, dy := bx[j]-bx[i], by[j]-by[i]
			if d := dx*dx + dy*dy; d > bestD {
				bestD, ux, uy = d, dx, dy
			}
		}
	}
	long := math.Sqrt(bestD)
	if long > 0 {
		ux, uy = ux/long, uy/long
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range bx {
		p := -uy*bx[i] + ux*by[i]
		lo, hi = min(lo, p), max(hi, p)
	}
	out.DiameterMM = round1((long + 1) * s)
	out.ShortAxisMM = round1((hi - lo + 1) * s)
	return out
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round2(x float64) float64 { return math.Round(x*100) / 100 }
