package synth

import "math"

// gaussKernel returns a normalised 1D Gaussian kernel of the given sigma
// (pixels), radius ceil(3σ).
func gaussKernel(sigma float64) []float32 {
	rad := int(math.Ceil(3 * sigma))
	k := make([]float32, 2*rad+1)
	s := 0.0
	for i := -rad; i <= rad; i++ {
		w := math.Exp(-float64(i*i) / (2 * sigma * sigma))
		k[i+rad] = float32(w)
		s += w
	}
	for i := range k {
		k[i] = float32(float64(k[i]) / s)
	}
	return k
}

// blur applies a separable Gaussian to an imgSize×imgSize image in place,
// clamping at the borders. tmp must hold nPix values.
func blur(img, tmp []float32, sigma float64) {
	if sigma <= 0 {
		return
	}
	k := gaussKernel(sigma)
	rad := len(k) / 2
	n := imgSize
	for r := 0; r < n; r++ {
		row := img[r*n : (r+1)*n]
		out := tmp[r*n : (r+1)*n]
		for c := 0; c < n; c++ {
			var s float32
			for j, w := range k {
				cc := c + j - rad
				cc = max(0, min(n-1, cc))
				s += w * row[cc]
			}
			out[c] = s
		}
	}
	for c := 0; c < n; c++ {
		for r := 0; r < n; r++ {
			var s float32
			for j, w := range k {
				rr := r + j - rad
				rr = max(0, min(n-1, rr))
				s += w * tmp[rr*n+c]
			}
			img[r*n+c] = s
		}
	}
}

// noiseGain is the standard deviation of white unit noise after blur.
func noiseGain(sigma float64) float64 {
	k := gaussKernel(sigma)
	s := 0.0
	for _, w := range k {
		s += float64(w) * float64(w)
	}
	return s // per axis √Σw², two axes
}

// addNoise adds correlated Gaussian noise of standard deviation sd
// (white noise blurred with sigma corr pixels, rescaled).
func addNoise(r *rng, img, buf, tmp []float32, sd, corr float64) {
	r.normals(buf)
	blur(buf, tmp, corr)
	g := float32(sd / noiseGain(corr))
	for i := range img {
		img[i] += g * buf[i]
	}
}

// smoothField fills dst with a smooth random field of roughly unit
// variance and feature size cell pixels (random lattice, smoothstep
// interpolation).
func smoothField(r *rng, dst []float32, cell float64) {
	n := imgSize
	m := int(math.Ceil(float64(n)/cell)) + 2
	grid := make([]float64, m*m)
	for i := range grid {
		grid[i] = r.normal()
	}
	for y := 0; y < n; y++ {
		gy := float64(y) / cell
		iy := int(gy)
		ty := gy - float64(iy)
		ty = ty * ty * (3 - 2*ty)
		for x := 0; x < n; x++ {
			gx := float64(x) / cell
			ix := int(gx)
			tx := gx - float64(ix)
			tx = tx * tx * (3 - 2*tx)
			a := grid[iy*m+ix]*(1-tx) + grid[iy*m+ix+1]*tx
			b := grid[(iy+1)*m+ix]*(1-tx) + grid[(iy+1)*m+ix+1]*tx
			dst[y*n+x] = float32(a*(1-ty) + b*ty)
		}
	}
}
