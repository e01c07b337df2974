package synth

import "math"

// sliceMaps is the label and Couinaud-segment map of one slice.
type sliceMaps struct {
	z, h     float64
	label    []tissue
	seg      []uint8
	liverPix []int32 // indices of liver pixels, for lesion placement
}

// Pixel ↔ body-relative millimetres.
func (a *anatomy) pixU(c int) float64 { return a.x0 + float64(c)*a.spacing - a.bx }
func (a *anatomy) pixV(r int) float64 { return a.y0 + float64(r)*a.spacing - a.by }

func (a *anatomy) colOf(u float64) float64 { return (u + a.bx - a.x0) / a.spacing }
func (a *anatomy) rowOf(v float64) float64 { return (v + a.by - a.y0) / a.spacing }

// box returns the pixel box covering [u0,u1]×[v0,v1], clipped.
func (a *anatomy) box(u0, v0, u1, v1 float64) (c0, r0, c1, r1 int) {
	c0 = max(0, int(math.Floor(a.colOf(u0))))
	c1 = min(imgSize-1, int(math.Ceil(a.colOf(u1))))
	r0 = max(0, int(math.Floor(a.rowOf(v0))))
	r1 = min(imgSize-1, int(math.Ceil(a.rowOf(v1))))
	return
}

// forEllipse calls fn with the normalised radius q < 1 of every pixel
// inside e grown by grow mm.
func (a *anatomy) forEllipse(e ellipseShape, grow float64, fn func(i int, q float64)) {
	ru, rv := e.ru+grow, e.rv+grow
	if ru <= 0 || rv <= 0 {
		return
	}
	rm := max(ru, rv)
	c0, r0, c1, r1 := a.box(e.u-rm, e.v-rm, e.u+rm, e.v+rm)
	sn, cs := math.Sincos(e.ang)
	for r := r0; r <= r1; r++ {
		dv := a.pixV(r) - e.v
		for c := c0; c <= c1; c++ {
			du := a.pixU(c) - e.u
			x := (du*cs + dv*sn) / ru
			y := (-du*sn + dv*cs) / rv
			q2 := x*x + y*y
			if q2 < 1 {
				fn(r*imgSize+c, math.Sqrt(q2))
			}
		}
	}
}

// forCapsule calls fn with d/radius < 1 for pixels within a tapered
// capsule from (u0,v0) radius w0 to (u1,v1) radius w1.
func (a *anatomy) forCapsule(u0, v0, u1, v1, w0, w1 float64, fn func(i int, q float64)) {
	rm := max(w0, w1)
	c0, r0, c1, r1 := a.box(min(u0, u1)-rm, min(v0, v1)-rm, max(u0, u1)+rm, max(v0, v1)+rm)
	du, dv := u1-u0, v1-v0
	l2 := du*du + dv*dv
	for r := r0; r <= r1; r++ {
		pv := a.pixV(r) - v0
		for c := c0; c <= c1; c++ {
			pu := a.pixU(c) - u0
			t := 0.0
			if l2 > 0 {
				t = max(0, min(1, (pu*du+pv*dv)/l2))
			}
			w := w0 + (w1-w0)*t
			d := math.Hypot(pu-t*du, pv-t*dv) / w
			if d < 1 {
				fn(r*imgSize+c, d)
			}
		}
	}
}

// paintEllipse sets label t where the current label is in over.
func (m *sliceMaps) paint(t tissue, over set) func(int, float64) {
	return func(i int, _ float64) {
		if over.has(m.label[i]) {
			m.label[i] = t
		}
	}
}

const lutN = 2048

// outlineLUT holds, per polar angle about the body centre, the body
// radius and the fat, muscle and lung thickness.
type outlineLUT struct {
	R, fat, musc, lungW [lutN]float64
}

func (a *anatomy) outline() *outlineLUT {
	o := &outlineLUT{}
	for i := 0; i < lutN; i++ {
		th := -math.Pi + 2*math.Pi*float64(i)/lutN
		sn, cs := math.Sincos(th)
		p := 2.3
		if sn > 0 {
			p = 2.3 + 0.8*sn // flatter back
		}
		R := 1 / math.Pow(math.Pow(math.Abs(cs)/a.bodyA, p)+math.Pow(math.Abs(sn)/a.bodyB, p), 1/p)
		o.R[i] = R * (1 + evalHarm(a.bodyHarm, th))
		o.fat[i] = max(3, a.fatT*(1+evalHarm(a.fatHarm, th))*(1-0.35*max(0, sn)))
		o.musc[i] = a.muscT * (1 + 0.4*cs*cs)
		o.lungW[i] = max(0, sn+0.25) / 1.25
	}
	return o
}

func lutIndex(th float64) int {
	i := int((th + math.Pi) / (2 * math.Pi) * lutN)
	return max(0, min(lutN-1, i))
}

// paintSlice draws the labels and segments of the slice at location z.
func (a *anatomy) paintSlice(z float64, lut *outlineLUT) *sliceMaps {
	h := a.h(z)
	m := &sliceMaps{z: z, h: h, label: make([]tissue, nPix), seg: make([]uint8, nPix)}
	L := m.label
	lungT := a.lungMax * smoothstep(0.8, 0.98, h)

	// body wall
	for r := 0; r < imgSize; r++ {
		v := a.pixV(r)
		for c := 0; c < imgSize; c++ {
			u := a.pixU(c)
			rr := math.Hypot(u, v)
			k := lutIndex(math.Atan2(v, u))
			R := lut.R[k]
			i := r*imgSize + c
			if rr >= R {
				continue // air
			}
			d := R - rr
			f := lut.fat[k]
			mu := lut.musc[k]
			switch {
			case d < 1.2:
				L[i] = tMuscle // skin
			case d < f:
				L[i] = tSubcutFat
			case d < f+mu:
				L[i] = tMuscle
			case d < f+mu+lungT*lut.lungW[k]:
				L[i] = tLung
			default:
				L[i] = tVisceralFat
			}
		}
	}

	// table: a thin curved plate under the back
	tv := a.bodyB + 6
	for c := 0; c < imgSize; c++ {
		u := a.pixU(c)
		if math.Abs(u) > a.fov*0.42 {
			continue
		}
		top := tv - 0.0009*u*u
		for _, off := range []float64{0, 28} {
			r0 := int(math.Round(a.rowOf(top + off)))
			for r := r0; r < r0+int(math.Ceil(2.5/a.spacing)); r++ {
				if r >= 0 && r < imgSize && L[r*imgSize+c] == tAir {
					L[r*imgSize+c] = tTable
				}
			}
		}
	}

	notAirFat := anyTissue &^ of(tAir, tTable, tSubcutFat)

	// ribs in the wall
	for i, ang := range a.ribs {
		if h < a.ribTop[i] {
			continue
		}
		k := lutIndex(ang)
		d := lut.fat[k] + lut.musc[k]*0.5
		rr := lut.R[k] - d
		sn, cs := math.Sincos(ang)
		e := ellipseShape{u: rr * cs, v: rr * sn, ru: 7, rv: 4.5, ang: ang + math.Pi/2}
		a.forEllipse(e, 0, func(i int, q float64) {
			if notAirFat.has(L[i]) {
				if q > 0.62 {
					L[i] = tBoneCortex
				} else {
					L[i] = tBoneMarrow
				}
			}
		})
	}

	// paraspinal and psoas muscles
	for _, s := range []float64{-1, 1} {
		e := ellipseShape{u: s * (a.vertRU + 16), v: a.vertV + a.vertRV + 32, ru: 27, rv: 23, ang: s * rad(10)}
		a.forEllipse(e, 0, m.paint(tMuscle, of(tVisceralFat, tLung, tMuscle)))
		if h < 0.5 {
			rp := 7 + 40*(0.5-h)
			e := ellipseShape{u: s * (a.vertRU + rp*0.8), v: a.vertV + 2, ru: rp, rv: rp * 0.85}
			a.forEllipse(e, 2, m.paint(tVisceralFat, of(tVisceralFat)))
			a.forEllipse(e, 0, m.paint(tMuscle, of(tVisceralFat)))
		}
	}

	// liver, then what carves it
	liv := a.liverAt(h)
	for r := 0; r < imgSize; r++ {
		v := a.pixV(r)
		for c := 0; c < imgSize; c++ {
			i := r*imgSize + c
			if L[i] != tVisceralFat {
				continue
			}
			if liv.field(a.pixU(c), v) < 0 {
				L[i] = tLiver
			}
		}
	}
	if e, ok := a.spleen.at(z); ok {
		a.forEllipse(e, 2, m.paint(tVisceralFat, of(tLiver)))
		a.forEllipse(e, 0, m.paint(tSpleen, of(tVisceralFat, tLiver, tLung)))
	}
	if e, ok := a.stomach.at(z); ok {
		// supine: gas rises anteriorly, an air-fluid level across the lumen
		level := e.v + max(e.ru, e.rv)*(-1+2*a.stomachGas)*0.8
		wall := 3.5 / min(e.ru, e.rv)
		a.forEllipse(e, 2.5, m.paint(tVisceralFat, of(tLiver, tSpleen)))
		a.forEllipse(e, 0, func(i int, q float64) {
			if !of(tVisceralFat, tLiver, tSpleen).has(L[i]) {
				return
			}
			switch {
			case q > 1-wall:
				L[i] = tGIWall
			case a.pixV(i/imgSize) < level:
				L[i] = tGIGas
			default:
				L[i] = tGIFluid
			}
		})
	}
	for _, b := range a.bowel {
		if z < b.z0 || z > b.z1 {
			continue
		}
		dz := z - b.z0
		e := ellipseShape{u: b.u + b.du*dz, v: b.v + b.dv*dz, ru: b.r, rv: b.r * 0.9}
		wall := 2.0 / b.r
		a.forEllipse(e, 1.5, m.paint(tVisceralFat, of(tVisceralFat, tGIWall)))
		bub := 0.45
		a.forEllipse(e, 0, func(i int, q float64) {
			if !of(tVisceralFat, tGIWall).has(L[i]) {
				return
			}
			switch {
			case q > 1-wall:
				L[i] = tGIWall
			case b.content == 1:
				L[i] = tGIGas
			case b.content == 2 && a.pixV(i/imgSize) < e.v-b.r*bub:
				L[i] = tGIGas
			default:
				L[i] = tGIFluid
			}
		})
	}
	if z > a.pancreasZ0 && z < a.pancreasZ1 {
		t := (z - a.pancreasZ0) / (a.pancreasZ1 - a.pancreasZ0)
		u0, v0 := a.ivc.u+8, a.aorta.v-22-8*t
		u1, v1 := a.spleen.e.u-25, a.spleen.e.v-15-10*t
		a.forCapsule(u0, v0, u1, v1, 11, 8, m.paint(tPancreas, of(tVisceralFat, tGIWall, tGIFluid)))
	}
	for _, k := range a.kidneys {
		e, ok := k.at(z)
		if !ok {
			continue
		}
		cortex := 5.0 / min(e.ru, e.rv)
		a.forEllipse(e, 3.5, m.paint(tVisceralFat, of(tLiver, tSpleen, tGIWall, tGIFluid, tGIGas, tPancreas)))
		a.forEllipse(e, 0, func(i int, q float64) {
			if !of(tVisceralFat, tLiver, tSpleen, tLung, tMuscle).has(L[i]) {
				return
			}
			if q > 1-cortex {
				L[i] = tKidneyCortex
			} else {
				L[i] = tKidneyMedulla
			}
		})
		// renal sinus fat at the hilum (anteromedial)
		side := math.Copysign(1, e.u)
		sinus := ellipseShape{u: e.u - side*e.ru*0.5, v: e.v - e.rv*0.2, ru: e.ru * 0.3, rv: e.rv * 0.22, ang: e.ang}
		a.forEllipse(sinus, 0, m.paint(tVisceralFat, of(tKidneyMedulla)))
	}
	if e, ok := a.gallbladder.at(z); ok {
		wall := 1.5 / min(e.ru, e.rv)
		a.forEllipse(e, 0, func(i int, q float64) {
			if of(tLiver, tVisceralFat, tGIWall, tGIFluid).has(L[i]) {
				if q > 1-wall {
					L[i] = tGIWall
				} else {
					L[i] = tGallbladder
				}
			}
		})
	}
	// great vessels and spine
	a.forEllipse(a.aorta, 2, m.paint(tVisceralFat, of(tLiver, tGIWall, tGIFluid, tPancreas)))
	a.forEllipse(a.aorta, 0, m.paint(tAorta, notAirFat&^of(tBoneCortex, tBoneMarrow)))
	a.forEllipse(a.ivc, 0, m.paint(tIVC, of(tLiver, tVisceralFat, tGIWall, tGIFluid, tPancreas)))
	m.paintSpine(a)

	// vessels inside the liver
	a.paintLiverVessels(m)

	for i, t := range L {
		if liverSet.has(t) {
			r, c := i/imgSize, i%imgSize
			m.seg[i] = a.segmentAt(a.pixU(c), a.pixV(r), z, h)
			m.liverPix = append(m.liverPix, int32(i))
		}
	}
	return m
}

func (m *sliceMaps) paintSpine(a *anatomy) {
	L := m.label
	over := anyTissue &^ of(tAir, tTable, tSubcutFat)
	bone := func(i int, q float64) {
		if over.has(L[i]) {
			if q > 0.55 {
				L[i] = tBoneCortex
			} else if L[i] != tBoneCortex {
				L[i] = tBoneMarrow
			}
		}
	}
	vb := ellipseShape{u: 0, v: a.vertV, ru: a.vertRU, rv: a.vertRV}
	a.forEllipse(vb, 3, m.paint(tVisceralFat, of(tLiver, tGIWall, tGIFluid, tPancreas)))
	cort := 2.2 / a.vertRV
	a.forEllipse(vb, 0, func(i int, q float64) {
		if over.has(L[i]) {
			if q > 1-cort {
				L[i] = tBoneCortex
			} else {
				L[i] = tBoneMarrow
			}
		}
	})
	cv := a.vertV + a.vertRV + 10 // spinal canal centre
	for _, s := range []float64{-1, 1} {
		a.forCapsule(s*a.vertRU*0.55, a.vertV+a.vertRV*0.7, s*10, cv, 4.5, 4.5, bone) // pedicle
		a.forCapsule(s*10, cv, 0, cv+13, 4, 4, bone)                                  // lamina
		a.forCapsule(s*11, cv-1, s*(a.vertRU+a.tpLen), cv+a.tpBack, 5, 3.5, bone)     // transverse process
	}
	a.forCapsule(0, cv+12, 0, cv+34, 4.5, 3, bone) // spinous process
	a.forEllipse(ellipseShape{u: 0, v: cv, ru: 9, rv: 8}, 0, m.paint(tCSF, anyTissue))
}

func (a *anatomy) paintLiverVessels(m *sliceMaps) {
	z, h := m.z, m.h
	ou, ov := a.ivc.u, a.ivc.v
	dir := func(phi float64) (float64, float64) { return -math.Sin(phi), -math.Cos(phi) }
	onLiver := m.paint(tLiverVessel, of(tLiver))
	hp := a.h(a.portalZ)
	if h > hp+0.03 {
		s := smoothstep(hp, 0.95, h)
		for _, phi := range []float64{a.phiRHV, a.phiMHV, a.phiLHV} {
			du, dv := dir(phi)
			L := 30 + 60*s
			a.forCapsule(ou+du*10, ov+dv*10, ou+du*L, ov+dv*L, 3+2.5*s, 1.5, onLiver)
		}
	}
	hu, hv := ou+14, ov-20 // hilum
	if math.Abs(z-a.portalZ) < 8 {
		a.forCapsule(hu, hv, hu-60, hv+12, 6.5, 3.5, onLiver)
		a.forCapsule(hu, hv, hu+30, hv-28, 5.5, 3, onLiver)
	}
	if z > a.portalZ-45 && z < a.portalZ-4 {
		a.forEllipse(ellipseShape{u: hu, v: hv, ru: 7.5, rv: 6.5}, 0,
			m.paint(tPortalVein, of(tLiver, tVisceralFat, tPancreas)))
	}
	for _, s := range a.vessels {
		phi := s.phi + s.drift*(z-a.portalZ)/40
		du, dv := dir(phi)
		a.forEllipse(ellipseShape{u: ou + du*s.dist, v: ov + dv*s.dist, ru: s.r, rv: s.r}, 0, onLiver)
	}
}
