package kernels

import (
	"math"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// RESIZE_BILINEAR of NHWC float32 and int8 tensors to an int32 size
// [new_height, new_width] (constant, or taken from the model's static
// output shape), with align_corners and half_pixel_centers.
//
// float32 follows TFLite's reference ResizeBilinear (source coordinates and
// weights in float32); the fast path regroups the four products, within
// 1e-6 of it.
//
// int8 follows by default what TFLite/LiteRT run on their default CPU path,
// the XNNPACK delegate: XNNPACK's s8 resize with float32 source coordinates,
// Q11 weights and rounding at 2^-22 (bit-exact against LiteRT). With
// ResizeBilinearInt8XNNPACK false, or when XNNPACK would not take the node
// (size computed at run time, output quantized differently from the
// input), it follows TFLite's builtin ResizeBilinearInteger instead:
// coordinates in 1/1024 steps with scale_10 = round(1024·in/out) computed in
// integers, the four products summed in 2^-20 units and rounded half away
// from zero. The interpolation tables are computed in Prepare.

func init() {
	Register(schema.BuiltinOperatorRESIZE_BILINEAR, func() Kernel { return &resizeBilinear{} })
}

type resizeBilinear struct {
	n, ih, iw, c, oh, ow int
	// Per output row y: input row offsets (elements) of y0 and y1 within a
	// batch image, and weights.
	y0, y1   []int
	fy0, fy1 []float32 // float: 1-dy, dy
	qy0, qy1 []int32   // int8: 1024-dy, dy (in 1/1024)
	// Per output column x: input column offsets (elements, already × c).
	x0, x1   []int
	fx0, fx1 []float32
	qx0, qx1 []int32
	// int8 with XNNPACK's arithmetic: Q11 weights of the right column and
	// of the bottom row.
	ax, ay []int32

	in, out []byte
	run     func(lo, hi int)
}

func (k *resizeBilinear) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 2); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	in, size, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	o, err := Options[schema.ResizeBilinearOptionsT](n)
	if err != nil {
		return 0, err
	}
	if o.AlignCorners && o.HalfPixelCenters {
		return 0, n.Errorf("align_corners and half_pixel_centers are both set")
	}
	if in.Type != tflite.Float32 && in.Type != tflite.Int8 {
		return 0, n.Unsupportedf("input type %v (float32 and int8 only)", in.Type)
	}
	if out.Type != in.Type {
		return 0, n.Errorf("output type %v differs from input type %v", out.Type, in.Type)
	}
	if in.Rank() != 4 {
		return 0, n.Errorf("input %s must have rank 4", in)
	}
	if size.Type != tflite.Int32 || size.NumElements() != 2 {
		return 0, n.Errorf("size %s must be an int32 tensor of 2 elements", size)
	}
	var oh, ow int
	if size.Const {
		s := size.I32()
		oh, ow = int(s[0]), int(s[1])
	} else if out.Rank() == 4 && out.Shape[1] > 0 && out.Shape[2] > 0 {
		// A size computed at run time: the model's static output shape.
		oh, ow = out.Shape[1], out.Shape[2]
	} else {
		return 0, n.Unsupportedf("size %s is computed at run time", size)
	}
	if oh <= 0 || ow <= 0 {
		return 0, n.Errorf("output size %dx%d is not positive", oh, ow)
	}
	k.n, k.ih, k.iw, k.c = in.Shape[0], in.Shape[1], in.Shape[2], in.Shape[3]
	k.oh, k.ow = oh, ow
	SetShape(out, []int{k.n, oh, ow, k.c})
	if in.Type == tflite.Int8 {
		// XNNPACK takes the node only with a constant size; it keeps the
		// values, so input and output must share their quantization.
		if ResizeBilinearInt8XNNPACK && size.Const && layoutSameQuant(in, out) {
			k.prepareXNN(o.AlignCorners, o.HalfPixelCenters)
			k.run = k.rowsXNN
		} else {
			k.prepareInt8(o.AlignCorners, o.HalfPixelCenters)
			k.run = k.rowsI8
		}
	} else {
		k.prepareF32(o.AlignCorners, o.HalfPixelCenters)
		k.run = k.rowsF32
	}
	return 0, nil
}

// resizeScaleF32 is TFLite's float scale of one axis.
func resizeScaleF32(in, out int, alignCorners bool) float32 {
	if alignCorners && out > 1 {
		return float32(in-1) / float32(out-1)
	}
	return float32(in) / float32(out)
}

// resizeCoordF32 is TFLite's ComputeInterpolationValues.
func resizeCoordF32(v int, scale float32, halfPixel bool, size int) (pos float32, lo, hi int) {
	if halfPixel {
		pos = float32(float32(float32(v)+0.5)*scale) - 0.5
	} else {
		pos = float32(v) * scale
	}
	fl := float32(math.Floor(float64(pos)))
	lo = max(int(fl), 0)
	hi = min(int(float32(math.Ceil(float64(pos)))), size-1)
	return pos, lo, hi
}

func (k *resizeBilinear) prepareF32(align, half bool) {
	hs := resizeScaleF32(k.ih, k.oh, align)
	ws := resizeScaleF32(k.iw, k.ow, align)
	k.y0, k.y1 = make([]int, k.oh), make([]int, k.oh)
	k.fy0, k.fy1 = make([]float32, k.oh), make([]float32, k.oh)
	for y := range k.oh {
		pos, lo, hi := resizeCoordF32(y, hs, half, k.ih)
		d := pos - float32(lo)
		k.y0[y], k.y1[y] = lo*k.iw*k.c, hi*k.iw*k.c
		k.fy0[y], k.fy1[y] = 1-d, d
	}
	k.x0, k.x1 = make([]int, k.ow), make([]int, k.ow)
	k.fx0, k.fx1 = make([]float32, k.ow), make([]float32, k.ow)
	for x := range k.ow {
		pos, lo, hi := resizeCoordF32(x, ws, half, k.iw)
		d := pos - float32(lo)
		k.x0[x], k.x1[x] = lo*k.c, hi*k.c
		k.fx0[x], k.fx1[x] = 1-d, d
	}
}

// resizeScale10 is TFLite's integer scale of one axis in 1/1024 steps.
func resizeScale10(in, out int, alignCorners bool) int32 {
	if alignCorners && out > 1 {
		return int32((1024*(in-1) + (out-1)/2) / (out - 1))
	}
	return int32((1024*in + out/2) / out)
}

// resizeCoordInt is TFLite's ComputeInterpolationValuesInteger (C
// division truncates toward zero, as Go's).
func resizeCoordInt(v int, scale10 int32, halfPixel bool, size int) (pos int32, lo, hi int) {
	if halfPixel {
		pos = int32(v)*scale10 + scale10/2 - (1 << 9)
	} else {
		pos = int32(v) * scale10
	}
	lo = max(int(pos/1024), 0)
	hi = min(int((pos+1023)/1024), size-1)
	return pos, lo, hi
}

func (k *resizeBilinear) prepareInt8(align, half bool) {
	hs := resizeScale10(k.ih, k.oh, align)
	ws := resizeScale10(k.iw, k.ow, align)
	k.y0, k.y1 = make([]int, k.oh), make([]int, k.oh)
	k.qy0, k.qy1 = make([]int32, k.oh), make([]int32, k.oh)
	for y := range k.oh {
		pos, lo, hi := resizeCoordInt(y, hs, half, k.ih)
		d := pos - int32(lo)*1024
		// TFLite never reads past the last row; clamp to stay in bounds
		// for sizes where its integer scale would overshoot.
		lo = min(lo, k.ih-1)
		k.y0[y], k.y1[y] = lo*k.iw*k.c, hi*k.iw*k.c
		k.qy0[y], k.qy1[y] = 1024-d, d
	}
	k.x0, k.x1 = make([]int, k.ow), make([]int, k.ow)
	k.qx0, k.qx1 = make([]int32, k.ow), make([]int32, k.ow)
	for x := range k.ow {
		pos, lo, hi := resizeCoordInt(x, ws, half, k.iw)
		d := pos - int32(lo)*1024
		lo = min(lo, k.iw-1)
		k.x0[x], k.x1[x] = lo*k.c, hi*k.c
		k.qx0[x], k.qx1[x] = 1024-d, d
	}
}

func (k *resizeBilinear) Eval(ctx *Context, n *Node) error {
	k.in, k.out = n.Inputs[0].Data, n.Outputs[0].Data
	rowBytes := k.ow * k.c * 4
	ctx.Pool.Run(k.n*k.oh, layoutUnitsGrain(rowBytes), k.run)
	k.in, k.out = nil, nil
	return nil
}

// rowsF32 computes output rows [lo,hi) (row = batch·oh + y).
func (k *resizeBilinear) rowsF32(lo, hi int) {
	in, out := view[float32](k.in), view[float32](k.out)
	c := k.c
	img := k.ih * k.iw * c
	for r := lo; r < hi; r++ {
		b, y := r/k.oh, r%k.oh
		top := in[b*img+k.y0[y]:]
		bot := in[b*img+k.y1[y]:]
		wy0, wy1 := k.fy0[y], k.fy1[y]
		o := out[r*k.ow*c : (r+1)*k.ow*c]
		if c == 1 { // one channel (a logit map): no per-pixel slices
			x0s, x1s := k.x0[:len(o)], k.x1[:len(o)]
			fx0s, fx1s := k.fx0[:len(o)], k.fx1[:len(o)]
			for x := range o {
				wx0, wx1 := fx0s[x], fx1s[x]
				t := float32(top[x0s[x]]*wx0) + float32(top[x1s[x]]*wx1)
				bt := float32(bot[x0s[x]]*wx0) + float32(bot[x1s[x]]*wx1)
				o[x] = float32(t*wy0) + float32(bt*wy1)
			}
			continue
		}
		for x := range k.ow {
			x0, x1 := k.x0[x], k.x1[x]
			wx0, wx1 := k.fx0[x], k.fx1[x]
			ox := o[x*c : x*c+c]
			t0, t1 := top[x0:x0+len(ox)], top[x1:x1+len(ox)]
			b0, b1 := bot[x0:x0+len(ox)], bot[x1:x1+len(ox)]
			for ch := range ox {
				t := float32(t0[ch]*wx0) + float32(t1[ch]*wx1)
				bt := float32(b0[ch]*wx0) + float32(b1[ch]*wx1)
				ox[ch] = float32(t*wy0) + float32(bt*wy1)
			}
		}
	}
}

// rowsI8 computes output rows [lo,hi). All products are exact in int32:
// |p| ≤ 128 and each axis' weights have |w0|+|w1| ≤ 2048.
func (k *resizeBilinear) rowsI8(lo, hi int) {
	in, out := view[int8](k.in), view[int8](k.out)
	c := k.c
	img := k.ih * k.iw * c
	for r := lo; r < hi; r++ {
		b, y := r/k.oh, r%k.oh
		top := in[b*img+k.y0[y]:]
		bot := in[b*img+k.y1[y]:]
		wy0, wy1 := k.qy0[y], k.qy1[y]
		o := out[r*k.ow*c : (r+1)*k.ow*c]
		for x := range k.ow {
			x0, x1 := k.x0[x], k.x1[x]
			wx0, wx1 := k.qx0[x], k.qx1[x]
			ox := o[x*c : x*c+c]
			t0, t1 := top[x0:x0+len(ox)], top[x1:x1+len(ox)]
			b0, b1 := bot[x0:x0+len(ox)], bot[x1:x1+len(ox)]
			for ch := range ox {
				t := int32(t0[ch])*wx0 + int32(t1[ch])*wx1
				bt := int32(b0[ch])*wx0 + int32(b1[ch])*wx1
				v := t*wy0 + bt*wy1
				// Round |v|/2^20 half up and restore the sign: TFLite's
				// (v ± 2^19) / 2^20 with C's truncating division.
				sign := v >> 31
				a := (v ^ sign) - sign
				a = (a + 1<<19) >> 20
				ox[ch] = int8((a ^ sign) - sign)
			}
		}
	}
}

// ResizeBilinearInt8XNNPACK selects the int8 arithmetic of XNNPACK's
// resize-bilinear operator, which TFLite and LiteRT run for int8
// RESIZE_BILINEAR whenever the XNNPACK delegate is applied (their default
// CPU path), instead of TFLite's builtin ResizeBilinearInteger kernel. The
// two differ by up to 2 units on about one output in six. It is read when a
// model is loaded.
var ResizeBilinearInt8XNNPACK = true

// resizeXNNAxis is xnn_indirection_init_resize_bilinear2d_hwc_q11 for one
// axis: source index pairs and Q11 weights (float32 arithmetic, weights
// rounded half to even as lrintf).
func resizeXNNAxis(in, out int, align, half bool) (lo, hi []int, alpha []int32) {
	adj := 0
	if align && out != 1 {
		adj = 1
	}
	scale := float32(in-adj) / float32(out-adj)
	maxIdx := in - 1
	offset := float32(float32(0.5)*scale) - 0.5
	lo, hi, alpha = make([]int, out), make([]int, out), make([]int32, out)
	for v := range out {
		var pos float32
		if align || !half {
			pos = float32(v) * scale
		} else {
			pos = float32(float32(v)*scale) + offset
			pos = min(max(pos, 0), float32(maxIdx))
		}
		t := int(int32(pos))
		lo[v], hi[v] = t, min(t+1, maxIdx)
		a := float32(pos - float32(t))
		alpha[v] = int32(math.RoundToEven(float64(a * 2048)))
	}
	return lo, hi, alpha
}

func (k *resizeBilinear) prepareXNN(align, half bool) {
	y0, y1, ay := resizeXNNAxis(k.ih, k.oh, align, half)
	x0, x1, ax := resizeXNNAxis(k.iw, k.ow, align, half)
	k.y0, k.y1, k.ay = y0, y1, ay
	for y := range k.oh {
		k.y0[y] *= k.iw * k.c
		k.y1[y] *= k.iw * k.c
	}
	k.x0, k.x1, k.ax = x0, x1, ax
	for x := range k.ow {
		k.x0[x] *= k.c
		k.x1[x] *= k.c
	}
}

// rowsXNN computes output rows [lo,hi) as XNNPACK's s8 ibilinear kernel:
// horizontal then vertical interpolation in Q11, rounded half up at 2^-22.
func (k *resizeBilinear) rowsXNN(lo, hi int) {
	in, out := view[int8](k.in), view[int8](k.out)
	c := k.c
	img := k.ih * k.iw * c
	for r := lo; r < hi; r++ {
		b, y := r/k.oh, r%k.oh
		top := in[b*img+k.y0[y]:]
		bot := in[b*img+k.y1[y]:]
		av := k.ay[y]
		o := out[r*k.ow*c : (r+1)*k.ow*c]
		if c == 1 { // one channel (a logit map): no per-pixel slices
			x0s, x1s, axs := k.x0[:len(o)], k.x1[:len(o)], k.ax[:len(o)]
			for x := range o {
				tl, tr := int32(top[x0s[x]]), int32(top[x1s[x]])
				bl, br := int32(bot[x0s[x]]), int32(bot[x1s[x]])
				vt := tl<<11 + (tr-tl)*axs[x]
				vb := bl<<11 + (br-bl)*axs[x]
				acc := vt<<11 + (vb-vt)*av
				o[x] = int8((acc + 1<<21) >> 22)
			}
			continue
		}
		for x := range k.ow {
			x0, x1 := k.x0[x], k.x1[x]
			ah := k.ax[x]
			ox := o[x*c : x*c+c]
			tl, tr := top[x0:x0+len(ox)], top[x1:x1+len(ox)]
			bl, br := bot[x0:x0+len(ox)], bot[x1:x1+len(ox)]
			m := resizeXNNPixelSIMD(ox, tl, tr, bl, br, ah, av)
			ox, tl, tr, bl, br = ox[m:], tl[m:], tr[m:], bl[m:], br[m:]
			for ch := range ox {
				vt := int32(tl[ch])<<11 + (int32(tr[ch])-int32(tl[ch]))*ah
				vb := int32(bl[ch])<<11 + (int32(br[ch])-int32(bl[ch]))*ah
				acc := vt<<11 + (vb-vt)*av
				ox[ch] = int8((acc + 1<<21) >> 22)
			}
		}
	}
}

// resizeBilinearRefXNN is XNNPACK's int8 resize written out plainly.
func resizeBilinearRefXNN(in []int8, shape []int, oh, ow int, align, half bool) []int8 {
	nb, ih, iw, c := shape[0], shape[1], shape[2], shape[3]
	y0, y1, ay := resizeXNNAxis(ih, oh, align, half)
	x0, x1, ax := resizeXNNAxis(iw, ow, align, half)
	out := make([]int8, nb*oh*ow*c)
	at := func(b, y, x, ch int) int32 { return int32(in[((b*ih+y)*iw+x)*c+ch]) }
	for b := range nb {
		for y := range oh {
			for x := range ow {
				for ch := range c {
					tl, tr := at(b, y0[y], x0[x], ch), at(b, y0[y], x1[x], ch)
					bl, br := at(b, y1[y], x0[x], ch), at(b, y1[y], x1[x], ch)
					vt := tl*2048 + (tr-tl)*ax[x]
					vb := bl*2048 + (br-bl)*ax[x]
					acc := vt*2048 + (vb-vt)*ay[y]
					out[((b*oh+y)*ow+x)*c+ch] = int8((acc + 1<<21) >> 22)
				}
			}
		}
	}
	return out
}

// resizeBilinearRefF32 is TFLite's reference ResizeBilinear for float32,
// written out as it is there.
func resizeBilinearRefF32(in []float32, shape []int, oh, ow int, align, half bool) []float32 {
	nb, ih, iw, c := shape[0], shape[1], shape[2], shape[3]
	hs := resizeScaleF32(ih, oh, align)
	ws := resizeScaleF32(iw, ow, align)
	out := make([]float32, nb*oh*ow*c)
	at := func(b, y, x, ch int) float32 { return in[((b*ih+y)*iw+x)*c+ch] }
	for b := range nb {
		for y := range oh {
			iy, y0, y1 := resizeCoordF32(y, hs, half, ih)
			for x := range ow {
				ix, x0, x1 := resizeCoordF32(x, ws, half, iw)
				dy, dx := iy-float32(y0), ix-float32(x0)
				for ch := range c {
					v := float32(float32(at(b, y0, x0, ch)*(1-dy))*(1-dx)) +
						float32(float32(at(b, y1, x0, ch)*dy)*(1-dx)) +
						float32(float32(at(b, y0, x1, ch)*(1-dy))*dx) +
						float32(float32(at(b, y1, x1, ch)*dy)*dx)
					out[((b*oh+y)*ow+x)*c+ch] = v
				}
			}
		}
	}
	return out
}

// resizeBilinearRefI8 is TFLite's ResizeBilinearInteger for int8, written
// out as it is there (int64 sums).
func resizeBilinearRefI8(in []int8, shape []int, oh, ow int, align, half bool) []int8 {
	nb, ih, iw, c := shape[0], shape[1], shape[2], shape[3]
	hs := resizeScale10(ih, oh, align)
	ws := resizeScale10(iw, ow, align)
	out := make([]int8, nb*oh*ow*c)
	at := func(b, y, x, ch int) int64 { return int64(in[((b*ih+y)*iw+x)*c+ch]) }
	for b := range nb {
		for y := range oh {
			iy, y0, y1 := resizeCoordInt(y, hs, half, ih)
			for x := range ow {
				ix, x0, x1 := resizeCoordInt(x, ws, half, iw)
				dy, dx := int64(iy)-1024*int64(y0), int64(ix)-1024*int64(x0)
				for ch := range c {
					v := at(b, y0, x0, ch)*(1024-dy)*(1024-dx) +
						at(b, y1, x0, ch)*dy*(1024-dx) +
						at(b, y0, x1, ch)*(1024-dy)*dx +
						at(b, y1, x1, ch)*dy*dx
					round := int64(1 << 19)
					if v <= 0 {
						round = -round
					}
					out[((b*oh+y)*ow+x)*c+ch] = int8((v + round) / (1 << 20))
				}
			}
		}
	}
	return out
}
