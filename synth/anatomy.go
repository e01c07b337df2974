package synth

import "math"

// Image size of every slice.
const (
	imgSize = 512
	nPix    = imgSize * imgSize
)

// tissue labels every pixel of a slice.
type tissue uint8

const (
	tAir tissue = iota
	tTable
	tSubcutFat
	tVisceralFat
	tMuscle
	tLung
	tBoneCortex
	tBoneMarrow
	tCSF
	tAorta
	tIVC
	tLiver
	tLiverVessel // hepatic and portal veins inside the liver
	tPortalVein  // main portal vein at the hilum
	tGallbladder
	tKidneyCortex
	tKidneyMedulla
	tSpleen
	tPancreas
	tGIWall
	tGIFluid
	tGIGas
	tLesion
	nTissues
)

var tissueNames = [nTissues]string{
	"air", "table", "subcutaneous fat", "visceral fat", "muscle", "lung",
	"bone cortex", "bone marrow", "csf", "aorta", "ivc", "liver",
	"liver vessel", "portal vein", "gallbladder", "kidney cortex",
	"kidney medulla", "spleen", "pancreas", "gi wall", "gi fluid", "gi gas",
	"lesion",
}

func (t tissue) String() string { return tissueNames[t] }

// set is a bit set of tissues.
type set uint32

func of(ts ...tissue) set {
	var s set
	for _, t := range ts {
		s |= 1 << t
	}
	return s
}

func (s set) has(t tissue) bool { return s&(1<<t) != 0 }

var (
	anyTissue = set(1<<nTissues - 1)
	liverSet  = of(tLiver, tLiverVessel)
)

// harmonic is one term a·cos(k·θ + φ) of an outline perturbation.
type harmonic struct {
	a float64
	k int
	p float64
}

func harmonics(r *rng, n int, kmin, kmax int, amp float64) []harmonic {
	h := make([]harmonic, n)
	for i := range h {
		h[i] = harmonic{a: r.uniform(-amp, amp), k: r.rangeInt(kmin, kmax), p: r.uniform(0, 2*math.Pi)}
	}
	return h
}

func evalHarm(hs []harmonic, theta float64) float64 {
	s := 0.0
	for _, h := range hs {
		s += h.a * math.Cos(float64(h.k)*theta+h.p)
	}
	return s
}

// ellipseShape is an ellipse in body-relative millimetres.
type ellipseShape struct {
	u, v, ru, rv, ang float64
}

// organ3D is an ellipsoid-like organ: an ellipse that shrinks as
// sqrt(1-((z-zc)/half)²) away from its centre level.
type organ3D struct {
	e        ellipseShape
	zc, half float64
}

func (o organ3D) at(z float64) (ellipseShape, bool) {
	d := (z - o.zc) / o.half
	if d <= -1 || d >= 1 {
		return ellipseShape{}, false
	}
	s := math.Sqrt(1 - d*d)
	e := o.e
	e.ru *= s
	e.rv *= s
	return e, e.ru > 1 && e.rv > 1
}

// bowelLoop is a gut segment crossing the slice plane.
type bowelLoop struct {
	u, v, du, dv float64 // centre and drift per mm of z
	r            float64
	z0, z1       float64
	content      int // 0 fluid, 1 gas, 2 fluid with gas bubble
}

// vesselSeed is a portal branch or small hepatic vein seen in cross
// section: a point on a ray from the IVC, drifting with z.
type vesselSeed struct {
	phi, dist, drift, r float64
}

// anatomy is the patient of one case: everything that stays fixed across
// the slices of the stack.
type anatomy struct {
	fov, spacing float64
	x0, y0       float64 // patient coordinates of the centre of pixel (0,0)
	bx, by       float64 // body centre
	bodyA, bodyB float64 // lateral and antero-posterior semi-axes
	bodyHarm     []harmonic
	fatT, muscT  float64
	fatHarm      []harmonic
	lungMax      float64

	zTop, step float64
	nSlices    int

	liverTip, liverH float64 // z of the inferior tip, craniocaudal height
	portalZ          float64 // z of the portal plane (upper/lower segments)
	portalTilt       float64 // dz per mm of x
	liverHarmRLUT    [lutN]float64
	liverHarmLLUT    [lutN]float64
	rightShiftU      float64
	leftReach        float64

	// Couinaud planes: angles (radians) from anterior toward the
	// patient's right, about the IVC.
	phiRHV, phiMHV, phiLHV float64

	vertV, vertRU, vertRV float64
	tpLen, tpBack         float64 // transverse processes
	aorta                 ellipseShape
	ivc                   ellipseShape
	kidneys               [2]organ3D
	spleen                organ3D
	stomach               organ3D
	stomachGas            float64 // fraction of the AP extent filled with gas
	gallbladder           organ3D
	gbFossa               [3]float64 // patient mm
	pancreasZ0            float64
	pancreasZ1            float64
	bowel                 []bowelLoop
	ribs                  []float64 // polar angles of rib tracks
	ribTop                []float64 // h above which each rib track shows
	vessels               []vesselSeed

	hu      [nTissues]float64
	texAmp  [nTissues]float64
	noiseSD float64
	psfPx   float64 // reconstruction blur (pixels)
	corrPx  float64 // noise correlation (pixels)
}

func smoothstep(a, b, x float64) float64 {
	t := (x - a) / (b - a)
	t = max(0, min(1, t))
	return t * t * (3 - 2*t)
}

// h maps a slice location to the normalised liver height (0 tip, 1 dome).
func (a *anatomy) h(z float64) float64 { return (z - a.liverTip) / a.liverH }

// sliceZ is the location of slice k (k = 0 is the most superior).
func (a *anatomy) sliceZ(k int) float64 { return a.zTop - float64(k)*a.step }

func newAnatomy(r *rng, nSlices int, step float64) *anatomy {
	a := &anatomy{nSlices: nSlices, step: step}
	a.bodyA = r.uniform(135, 185)
	a.bodyB = r.uniform(0.68, 0.8) * a.bodyA
	a.bx = r.uniform(-6, 6)
	a.by = r.uniform(-18, -4)
	need := max(2*a.bodyA+r.uniform(15, 60), 2*(a.bodyB+math.Abs(a.by)+25))
	fov := math.Ceil(max(307.2, min(460.8, need)))
	if fov > 460 {
		fov = 460
	}
	a.fov = fov
	a.spacing = fov / imgSize
	a.x0 = -fov/2 + a.spacing/2
	a.y0 = -fov/2 + a.spacing/2
	a.bodyHarm = harmonics(r, 3, 2, 5, 0.015)
	a.fatT = r.uniform(8, 30)
	a.fatHarm = harmonics(r, 2, 1, 3, 0.25)
	a.muscT = r.uniform(7, 13)
	a.lungMax = r.uniform(10, 30)

	a.liverH = r.uniform(140, 180)
	a.liverTip = math.Round(r.uniform(-260, -160))
	L := float64(nSlices-1) * step
	hTopMin := max(0.42, 0.14+L/a.liverH)
	hTop := r.uniform(hTopMin, max(hTopMin, 0.93))
	// slice locations on a 0.5 mm grid, as a scanner would report them
	a.zTop = math.Round(2*(a.liverTip+hTop*a.liverH)) / 2
	a.portalZ = a.liverTip + r.uniform(0.5, 0.6)*a.liverH
	a.portalTilt = r.uniform(-0.08, 0.08)
	hr, hl := harmonics(r, 3, 2, 5, 0.03), harmonics(r, 2, 2, 4, 0.05)
	for i := 0; i < lutN; i++ {
		th := -math.Pi + 2*math.Pi*float64(i)/lutN
		a.liverHarmRLUT[i] = evalHarm(hr, th)
		a.liverHarmLLUT[i] = evalHarm(hl, th)
	}
	a.rightShiftU = r.uniform(-0.04, 0.04)
	a.leftReach = r.uniform(0.85, 1.15)

	a.phiMHV = rad(r.uniform(4, 16))
	a.phiRHV = rad(r.uniform(45, 62))
	a.phiLHV = rad(r.uniform(-34, -20))

	// Retroperitoneum, relative to the body centre.
	a.vertRU = r.uniform(18, 23)
	a.vertRV = a.vertRU * r.uniform(0.82, 0.95)
	a.vertV = a.bodyB - a.fatT*0.7 - r.uniform(68, 80)
	a.tpLen = r.uniform(8, 18)
	a.tpBack = r.uniform(2, 9)
	a.aorta = ellipseShape{u: r.uniform(10, 18), v: a.vertV - a.vertRV - r.uniform(10, 14), ru: r.uniform(10, 13)}
	a.aorta.rv = a.aorta.ru
	a.ivc = ellipseShape{u: -r.uniform(20, 28), v: a.vertV - a.vertRV - r.uniform(8, 14), ru: r.uniform(11, 15), rv: r.uniform(8, 11), ang: rad(r.uniform(-20, 10))}

	kidZ := a.liverTip + r.uniform(0.05, 0.22)*a.liverH
	for i, side := range []float64{-1, 1} {
		zc := kidZ
		if side > 0 {
			zc += r.uniform(8, 25) // the left kidney sits higher
		}
		a.kidneys[i] = organ3D{
			e: ellipseShape{
				u:   side * (a.vertRU + r.uniform(38, 50)),
				v:   a.vertV + r.uniform(0, 12),
				ru:  r.uniform(24, 30),
				rv:  r.uniform(20, 26),
				ang: side * rad(r.uniform(25, 45)),
			},
			zc: zc, half: r.uniform(50, 60),
		}
	}
	a.spleen = organ3D{
		e: ellipseShape{
			u: a.bodyA*r.uniform(0.5, 0.58) - a.fatT, v: a.bodyB * r.uniform(0.12, 0.3),
			ru: r.uniform(20, 28), rv: r.uniform(45, 60), ang: rad(r.uniform(-40, -25)),
		},
		zc: a.liverTip + r.uniform(0.72, 0.85)*a.liverH, half: r.uniform(55, 70),
	}
	a.stomach = organ3D{
		e: ellipseShape{
			u: a.bodyA * r.uniform(0.22, 0.35), v: -a.bodyB * r.uniform(0.05, 0.25),
			ru: r.uniform(35, 50), rv: r.uniform(28, 40), ang: rad(r.uniform(-30, 30)),
		},
		zc: a.liverTip + r.uniform(0.75, 0.9)*a.liverH, half: r.uniform(60, 80),
	}
	a.stomachGas = r.uniform(0.15, 0.5)
	a.pancreasZ0 = a.liverTip + r.uniform(0.2, 0.3)*a.liverH
	a.pancreasZ1 = a.liverTip + r.uniform(0.42, 0.52)*a.liverH

	a.placeGallbladder(r)

	// Gut loops below the stomach, left and anterior.
	nb := r.rangeInt(12, 20)
	for i := 0; i < nb; i++ {
		z0 := a.liverTip + r.uniform(-0.3, 0.5)*a.liverH
		a.bowel = append(a.bowel, bowelLoop{
			u:  a.bodyA * r.uniform(-0.25, 0.62),
			v:  a.bodyB * r.uniform(-0.7, 0.15),
			du: r.uniform(-0.4, 0.4), dv: r.uniform(-0.4, 0.4),
			r:  r.uniform(9, 19),
			z0: z0, z1: z0 + r.uniform(30, 90),
			content: r.weighted(0.5, 0.25, 0.25),
		})
	}
	// descending colon in the left flank
	a.bowel = append(a.bowel, bowelLoop{
		u: a.bodyA * r.uniform(0.6, 0.7), v: a.bodyB * r.uniform(-0.05, 0.2),
		r: r.uniform(13, 19), z0: a.liverTip - 80, z1: a.liverTip + r.uniform(0.6, 0.8)*a.liverH,
		content: r.weighted(0.3, 0.3, 0.4),
	})
	// hepatic flexure of the colon, by the liver tip
	a.bowel = append(a.bowel, bowelLoop{
		u: -a.bodyA * r.uniform(0.35, 0.5), v: -a.bodyB * r.uniform(0.2, 0.45),
		r: r.uniform(16, 24), z0: a.liverTip - 40, z1: a.liverTip + r.uniform(0.08, 0.22)*a.liverH,
		content: 1,
	})

	nr := r.rangeInt(7, 10)
	for i := 0; i < nr; i++ {
		// tracks spread over the lateral and posterior wall, both sides
		side := 1.0
		if i%2 == 1 {
			side = -1
		}
		theta := rad(r.uniform(-25, 75)) // 0 = lateral, 90 = posterior
		ang := math.Pi/2 - side*(math.Pi/2-theta)
		a.ribs = append(a.ribs, ang)
		a.ribTop = append(a.ribTop, r.uniform(0.1, 0.6)-0.4*math.Sin(theta))
	}

	for i := 0; i < r.rangeInt(18, 30); i++ {
		a.vessels = append(a.vessels, vesselSeed{
			phi: rad(r.uniform(-60, 110)), dist: r.uniform(25, 110),
			drift: r.uniform(-0.3, 0.3), r: r.uniform(1.4, 3.2),
		})
	}

	a.setDensities(r)
	return a
}

func rad(deg float64) float64 { return deg * math.Pi / 180 }

func (a *anatomy) setDensities(r *rng) {
	hu := &a.hu
	hu[tAir] = -1000
	hu[tTable] = r.uniform(120, 250)
	hu[tSubcutFat] = r.uniform(-115, -90)
	hu[tVisceralFat] = hu[tSubcutFat] + r.uniform(0, 15)
	hu[tMuscle] = r.uniform(42, 58)
	hu[tLung] = r.uniform(-880, -820)
	hu[tBoneCortex] = r.uniform(750, 950)
	hu[tBoneMarrow] = r.uniform(300, 380)
	hu[tCSF] = r.uniform(4, 14)
	hu[tAorta] = r.uniform(150, 195)
	hu[tIVC] = hu[tAorta] - r.uniform(20, 45)
	hu[tLiver] = r.uniform(85, 108)
	hu[tPortalVein] = hu[tAorta] + r.uniform(-10, 10)
	hu[tLiverVessel] = hu[tPortalVein] - r.uniform(5, 20)
	hu[tGallbladder] = r.uniform(2, 14)
	hu[tKidneyCortex] = r.uniform(155, 195)
	hu[tKidneyMedulla] = hu[tKidneyCortex] - r.uniform(10, 30)
	hu[tSpleen] = hu[tLiver] + r.uniform(4, 16)
	hu[tPancreas] = r.uniform(90, 110)
	hu[tGIWall] = r.uniform(55, 80)
	hu[tGIFluid] = r.uniform(8, 25)
	hu[tGIGas] = -1000

	t := &a.texAmp
	t[tLiver] = r.uniform(3, 6)
	t[tSpleen] = 3
	t[tMuscle] = 5
	t[tSubcutFat] = 5
	t[tVisceralFat] = 8
	t[tKidneyCortex] = 6
	t[tKidneyMedulla] = 6
	t[tBoneMarrow] = 35
	t[tPancreas] = 10
	t[tGIFluid] = 4
	t[tLiverVessel] = 6

	a.noiseSD = r.uniform(10, 18)
	a.psfPx = r.uniform(0.55, 0.85)
	a.corrPx = r.uniform(0.8, 1.3)
}

// placeGallbladder puts the gallbladder in its fossa: along the middle
// hepatic vein plane (Cantlie's line), at the anterior-inferior liver
// surface.
func (a *anatomy) placeGallbladder(r *rng) {
	h := r.uniform(0.18, 0.3)
	z := a.liverTip + h*a.liverH
	ou, ov := a.ivc.u, a.ivc.v
	phi := a.phiMHV + rad(r.uniform(2, 10))
	du, dv := -math.Sin(phi), -math.Cos(phi) // anterior, toward the patient's right
	// march out along the ray to the liver surface
	edge := 30.0
	for d := 20.0; d < 250; d += 1 {
		if a.liverField(ou+du*d, ov+dv*d, h) > 0 {
			break
		}
		edge = d
	}
	ru, rv := r.uniform(14, 20), r.uniform(10, 14)
	c := edge - ru*r.uniform(0.4, 0.9)
	a.gallbladder = organ3D{
		e:  ellipseShape{u: ou + du*c, v: ov + dv*c, ru: ru, rv: rv, ang: math.Atan2(dv, du)},
		zc: z, half: r.uniform(30, 42),
	}
	// the fossa: the hepatic side of the gallbladder, at its centre level
	fu, fv := ou+du*(c-ru), ov+dv*(c-ru)
	a.gbFossa = [3]float64{fu + a.bx, fv + a.by, z}
}

// liverSlice is the liver outline at one height, before other organs
// are carved out of it.
type liverSlice struct {
	a                  *anatomy
	cu, cv, ru, rv     float64 // right lobe
	left               bool
	lu, lv, lru, lrv   float64 // left lobe
	caud               bool
	ccu, ccv, cru, crv float64 // caudate lobe
	u0, v0, u1, v1     float64 // bounding box
}

// liverAt returns the liver outline at normalised height h.
func (a *anatomy) liverAt(h float64) liverSlice {
	ac := a.bodyA - a.fatT - a.muscT
	bc := a.bodyB - a.fatT - a.muscT
	s := liverSlice{a: a}
	sR := 0.42 + 0.58*math.Sqrt(max(0, math.Sin(math.Pi*min(1, max(0, h)))))
	s.cu = -ac*(0.5+0.1*(1-sR)) + a.rightShiftU*ac
	s.cv = bc * (0.02 - 0.2*(1-sR))
	s.ru, s.rv = ac*0.52*sR, bc*0.86*sR
	const g = 1.25 // room for lobulation and the smooth union
	s.u0, s.u1 = s.cu-g*s.ru, s.cu+g*s.ru
	s.v0, s.v1 = s.cv-g*s.rv, s.cv+g*s.rv
	grow := func(u, v, ru, rv float64) {
		s.u0, s.u1 = min(s.u0, u-g*ru), max(s.u1, u+g*ru)
		s.v0, s.v1 = min(s.v0, v-g*rv), max(s.v1, v+g*rv)
	}
	if sL := smoothstep(0.18, 0.62, h) * (1 - 0.35*smoothstep(0.88, 1.02, h)); sL > 0.02 {
		s.left = true
		s.lu, s.lv = ac*0.02, -bc*(0.62-0.06*sL)
		s.lru, s.lrv = ac*0.42*sL*a.leftReach, bc*0.24*(0.45+0.55*sL)
		grow(s.lu, s.lv, s.lru, s.lrv)
	}
	// caudate lobe, left-anterior of the IVC at mid heights
	if sC := smoothstep(0.3, 0.42, h) * (1 - smoothstep(0.62, 0.75, h)); sC > 0.05 {
		s.caud = true
		s.ccu, s.ccv, s.cru, s.crv = a.ivc.u+16, a.ivc.v-10, 20*sC, 14*sC
		grow(s.ccu, s.ccv, s.cru, s.crv)
	}
	return s
}

// field is negative inside the liver (body-relative mm).
func (s *liverSlice) field(u, v float64) float64 {
	if u < s.u0 || u > s.u1 || v < s.v0 || v > s.v1 {
		return 1
	}
	a := s.a
	fR := math.Hypot((u-s.cu)/s.ru, (v-s.cv)/s.rv)/(1+a.liverHarmRLUT[lutIndex(math.Atan2(v-s.cv, u-s.cu))]) - 1
	fL, fC := 10.0, 10.0
	if s.left {
		fL = math.Hypot((u-s.lu)/s.lru, (v-s.lv)/s.lrv)/(1+a.liverHarmLLUT[lutIndex(math.Atan2(v-s.lv, u-s.lu))]) - 1
	}
	if s.caud {
		fC = math.Hypot((u-s.ccu)/s.cru, (v-s.ccv)/s.crv) - 1
	}
	return smin(smin(fR, fL, 0.25), fC, 0.2)
}

// liverField is field at height h (slow path, for one-off queries).
func (a *anatomy) liverField(u, v, h float64) float64 {
	s := a.liverAt(h)
	return s.field(u, v)
}

// smin is a polynomial smooth minimum.
func smin(a, b, k float64) float64 {
	h := max(k-math.Abs(a-b), 0) / k
	return min(a, b) - h*h*k*0.25
}

// Couinaud segment codes in the segment map (0 = not liver).
const (
	segNone uint8 = iota
	segI
	segII
	segIII
	segIVa
	segIVb
	segV
	segVI
	segVII
	segVIII
)

var segNames = [...]string{"", "I", "II", "III", "IVa", "IVb", "V", "VI", "VII", "VIII"}

// segmentAt classifies a liver point (body-relative mm, patient z) by
// the planes of the hepatic veins about the IVC and the portal plane.
func (a *anatomy) segmentAt(u, v, z, h float64) uint8 {
	ou, ov := a.ivc.u, a.ivc.v
	// caudate: left-anterior of the IVC, behind the hilum, mid heights
	if h > 0.3 && h < 0.75 {
		cu, cv := ou+16, ov-10
		if math.Hypot((u-cu)/22, (v-cv)/15) < 1 {
			return segI
		}
	}
	phi := math.Atan2(-(u - ou), -(v - ov)) // 0 anterior, +π/2 patient's right
	upper := z > a.portalZ+a.portalTilt*u
	switch {
	case phi >= a.phiRHV || phi < -rad(150):
		if upper {
			return segVII
		}
		return segVI
	case phi >= a.phiMHV:
		if upper {
			return segVIII
		}
		return segV
	case phi >= a.phiLHV:
		if upper {
			return segIVa
		}
		return segIVb
	default:
		if upper {
			return segII
		}
		return segIII
	}
}
