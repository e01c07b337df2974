package model

// ResizeBilinear resamples a rows×cols single-channel image to outH×outW
// with half-pixel centres and no antialiasing, the convention of PyTorch's
// F.interpolate(mode="bilinear", align_corners=False) and TFLite's
// RESIZE_BILINEAR(half_pixel_centers=true):
//
//	src = (dst + 0.5) * in/out - 0.5, clamped below at 0;
//	i0 = floor(src), i1 = min(i0+1, in-1), w = src - i0.
//
// dst must have outH*outW elements.
func ResizeBilinear(src []float32, rows, cols int, dst []float32, outH, outW int) {
	if len(src) < rows*cols || len(dst) < outH*outW {
		panic("model.ResizeBilinear: buffer too small")
	}
	ys := axis(rows, outH)
	xs := axis(cols, outW)
	for oy, y := range ys {
		r0 := src[y.i0*cols : y.i0*cols+cols]
		r1 := src[y.i1*cols : y.i1*cols+cols]
		out := dst[oy*outW : oy*outW+outW]
		for ox, x := range xs {
			top := r0[x.i0] + (r0[x.i1]-r0[x.i0])*x.w
			bot := r1[x.i0] + (r1[x.i1]-r1[x.i0])*x.w
			out[ox] = top + (bot-top)*y.w
		}
	}
}

type tap struct {
	i0, i1 int
	w      float32
}

func axis(in, out int) []tap {
	t := make([]tap, out)
	scale := float32(in) / float32(out)
	for o := range t {
		s := (float32(o)+0.5)*scale - 0.5
		if s < 0 {
			s = 0
		}
		i0 := int(s)
		if i0 > in-1 {
			i0 = in - 1
		}
		i1 := i0 + 1
		if i1 > in-1 {
			i1 = in - 1
		}
		t[o] = tap{i0, i1, s - float32(i0)}
	}
	return t
}
