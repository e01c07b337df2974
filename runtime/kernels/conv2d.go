package kernels

import (
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func init() {
	Register(schema.BuiltinOperatorCONV_2D, func() Kernel { return &conv2D{} })
}

// convGeom is the geometry of a 2-D convolution over NHWC tensors.
type convGeom struct {
	batch, inH, inW, inC    int
	outH, outW, outC        int
	kh, kw                  int
	sh, sw, dh, dw          int
	padT, padL              int
	groups                  int // CONV_2D: inC / filter channels
	depthMul                int // DEPTHWISE_CONV_2D: outC / inC
	filterC                 int // CONV_2D: channels per group
	outCPerGroup, kPerGroup int
}

// convOutSize is TFLite's ComputeOutSize.
func convOutSize(pad schema.Padding, in, k, stride, dil int) int {
	ek := (k-1)*dil + 1
	if pad == schema.PaddingSAME {
		return (in + stride - 1) / stride
	}
	return (in + stride - ek) / stride
}

// convPad is TFLite's ComputePaddingWithOffset: the padding before the
// data (the extra unit of an odd total goes after it).
func convPad(in, out, k, stride, dil int) int {
	ek := (k-1)*dil + 1
	total := (out-1)*stride + ek - in
	return max(total, 0) / 2
}

// convSetup checks and fills the spatial part of g from options.
func convSetup(n *Node, g *convGeom, pad schema.Padding, strideH, strideW, dilH, dilW int32) error {
	if strideH <= 0 || strideW <= 0 {
		return n.Errorf("strides must be positive, got %d×%d", strideH, strideW)
	}
	if dilH == 0 {
		dilH = 1
	}
	if dilW == 0 {
		dilW = 1
	}
	if dilH < 0 || dilW < 0 {
		return n.Errorf("dilations must be positive, got %d×%d", dilH, dilW)
	}
	if pad != schema.PaddingSAME && pad != schema.PaddingVALID {
		return n.Unsupportedf("padding %v", pad)
	}
	g.sh, g.sw, g.dh, g.dw = int(strideH), int(strideW), int(dilH), int(dilW)
	g.outH = convOutSize(pad, g.inH, g.kh, g.sh, g.dh)
	g.outW = convOutSize(pad, g.inW, g.kw, g.sw, g.dw)
	if g.outH <= 0 || g.outW <= 0 {
		return n.Errorf("output would be empty (%d×%d): input %d×%d, kernel %d×%d", g.outH, g.outW, g.inH, g.inW, g.kh, g.kw)
	}
	g.padT = convPad(g.inH, g.outH, g.kh, g.sh, g.dh)
	g.padL = convPad(g.inW, g.outW, g.kw, g.sw, g.dw)
	return nil
}

// convCheckWeightZP rejects asymmetric int8 weights.
func convCheckWeightZP(n *Node, w *Tensor) error {
	for _, z := range w.ZeroPoint {
		if z != 0 {
			return n.Unsupportedf("int8 weights with zero point %d (weights must be symmetric)", z)
		}
	}
	return nil
}

// conv2D runs CONV_2D on the shared GEMM (gemm.go): output pixels are the
// rows of A, packed panel by panel straight from the input (a 1×1,
// stride-1 unpadded convolution reads the input rows as they are; others
// gather each pixel's receptive field, im2col style, into the panel),
// and the filter [outC][kh][kw][inC] is B, packed once in Prepare when
// constant. Grouped convolutions run one GEMM per group. For int8 the
// panel holds raw input values (padding takes the input zero point) and
// the zero-point term −zp·Σw is folded into the bias per output channel.
type conv2D struct {
	g      convGeom
	isI8   bool
	kp     int  // padded K per group
	direct bool // 1×1, stride 1, no padding: A is the input itself

	in, filt, bias, out *Tensor
	wConst, bConst      bool

	// float32
	bF     []float32 // packed filter, per group
	biasF  []float32
	lo, hi float32

	zeroF []float32 // kw·filterC zeros (im2col padding)

	// int8
	padI8  []int8 // kw·filterC copies of the input zero point (im2col padding)
	bI     []int64
	colSum []int32
	q      gemmQuant
	inZP   int32

	aOff, aStride int // A panel buffers in scratch, one per chunk
	scratch       []byte
	slots         gemmSlots
	run           func(lo, hi int)
}

func (k *conv2D) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 3); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	o, err := Options[schema.Conv2DOptionsT](n)
	if err != nil {
		return 0, err
	}
	in, filt, bias, out := n.Inputs[0], n.Inputs[1], n.Input(2), n.Outputs[0]
	k.in, k.filt, k.bias, k.out = in, filt, bias, out
	switch {
	case in.Type == tflite.Float32 && filt.Type == tflite.Float32 && out.Type == tflite.Float32 && (bias == nil || bias.Type == tflite.Float32):
	case in.Type == tflite.Int8 && filt.Type == tflite.Int8 && out.Type == tflite.Int8 && (bias == nil || bias.Type == tflite.Int32):
		k.isI8 = true
	default:
		bt := "none"
		if bias != nil {
			bt = bias.Type.String()
		}
		return 0, n.Unsupportedf("input %v, filter %v, bias %s, output %v (want all float32, or int8 with int32 bias)", in.Type, filt.Type, bt, out.Type)
	}
	if in.Rank() != 4 || filt.Rank() != 4 {
		return 0, n.Errorf("input %v and filter %v must have rank 4", in.Shape, filt.Shape)
	}
	if err := CheckActivation(n, o.FusedActivationFunction); err != nil {
		return 0, err
	}
	g := &k.g
	g.batch, g.inH, g.inW, g.inC = in.Shape[0], in.Shape[1], in.Shape[2], in.Shape[3]
	g.outC, g.kh, g.kw, g.filterC = filt.Shape[0], filt.Shape[1], filt.Shape[2], filt.Shape[3]
	if g.filterC <= 0 || g.inC%g.filterC != 0 {
		return 0, n.Errorf("input has %d channels, filter %d", g.inC, g.filterC)
	}
	g.groups = g.inC / g.filterC
	if g.outC%g.groups != 0 {
		return 0, n.Errorf("%d output channels are not divisible into %d groups", g.outC, g.groups)
	}
	g.outCPerGroup = g.outC / g.groups
	g.kPerGroup = g.kh * g.kw * g.filterC
	if bias != nil && bias.NumElements() != g.outC {
		return 0, n.Errorf("bias has %d elements, want %d", bias.NumElements(), g.outC)
	}
	if err := convSetup(n, g, o.Padding, o.StrideH, o.StrideW, o.DilationHFactor, o.DilationWFactor); err != nil {
		return 0, err
	}
	SetShape(out, []int{g.batch, g.outH, g.outW, g.outC})
	k.kp = gemmPadK(g.kPerGroup)
	k.direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.groups == 1 && g.padT == 0 && g.padL == 0 && g.outH == g.inH && g.outW == g.inW
	k.wConst = filt.Const
	k.bConst = bias == nil || bias.Const

	if k.isI8 {
		if g.kPerGroup >= 1<<17 {
			return 0, n.Unsupportedf("int8 accumulation depth %d is too large", g.kPerGroup)
		}
		if err := convCheckWeightZP(n, filt); err != nil {
			return 0, err
		}
		if len(filt.Scale) > 1 && filt.QDim != 0 {
			return 0, n.Errorf("filter is quantized along dimension %d, want 0", filt.QDim)
		}
		muls, err := gemmQuantParams(n, in, filt, out, g.outC, bias != nil)
		if err != nil {
			return 0, err
		}
		k.inZP = in.ZeroPoint[0]
		k.padI8 = make([]int8, g.kw*g.filterC)
		for i := range k.padI8 {
			k.padI8[i] = int8(k.inZP)
		}
		lo, hi := ActivationRangeInt8(o.FusedActivationFunction, out.Scale[0], out.ZeroPoint[0])
		k.q = gemmNewQuant(make([]int32, g.outC), muls, out.ZeroPoint[0], lo, hi)
		k.colSum = make([]int32, g.outC)
		k.bI = make([]int64, g.groups*gemmPackedBSizeI8(g.outCPerGroup, g.kPerGroup))
		if k.wConst && k.bConst {
			k.prepWeightsI8()
		}
		k.aStride = gemmAlign(gemmMR * k.kp)
		k.run = k.runI8
	} else {
		k.lo, k.hi, _ = ActivationRangeFloat(o.FusedActivationFunction)
		k.zeroF = make([]float32, g.kw*g.filterC)
		k.bF = make([]float32, g.groups*gemmPackedBSizeF32(g.outCPerGroup, g.kPerGroup))
		if k.wConst {
			k.prepWeightsF32()
		}
		if bias != nil && bias.Const {
			k.biasF = bias.F32()
		}
		k.aStride = gemmAlign(4 * gemmMR * k.kp)
		k.run = k.runF32
	}
	var s gemmScratch
	k.aOff = s.add(gemmThreads(ctx) * k.aStride)
	return s.off, nil
}

func (k *conv2D) prepWeightsF32() {
	g := &k.g
	w := k.filt.F32()
	sz := gemmPackedBSizeF32(g.outCPerGroup, g.kPerGroup)
	for gi := range g.groups {
		src := w[gi*g.outCPerGroup*g.kPerGroup:]
		gemmPackBF32(k.bF[gi*sz:(gi+1)*sz], src, g.outCPerGroup, g.kPerGroup, g.kPerGroup, 1)
	}
}

func (k *conv2D) prepWeightsI8() {
	g := &k.g
	w := k.filt.I8()
	sz := gemmPackedBSizeI8(g.outCPerGroup, g.kPerGroup)
	for gi := range g.groups {
		src := w[gi*g.outCPerGroup*g.kPerGroup:]
		gemmPackBI8(k.bI[gi*sz:(gi+1)*sz], src, g.outCPerGroup, g.kPerGroup, g.kPerGroup, 1, k.colSum[gi*g.outCPerGroup:])
	}
	var bias []int32
	if k.bias != nil {
		bias = k.bias.I32()
	}
	for c := range g.outC {
		var b int32
		if bias != nil {
			b = bias[c]
		}
		k.q.colAdd[c] = b - k.inZP*k.colSum[c]
	}
}

func (k *conv2D) Eval(ctx *Context, n *Node) error {
	if k.isI8 {
		if !k.wConst || !k.bConst {
			k.prepWeightsI8()
		}
	} else {
		if !k.wConst {
			k.prepWeightsF32()
		}
		if k.bias != nil && !k.bias.Const {
			k.biasF = k.bias.F32()
		}
	}
	k.scratch = n.Scratch
	k.slots.reset()
	m := k.g.batch * k.g.outH * k.g.outW
	ctx.Pool.Run(gemmPanels(m, gemmMR), gemmGrain(k.g.outC, k.g.kPerGroup), k.run)
	return nil
}

func (k *conv2D) runF32(lo, hi int) {
	g := &k.g
	s := k.slots.take()
	ap := gemmF32At(k.scratch, k.aOff+s*k.aStride, gemmMR*k.kp)
	in, out := k.in.F32(), k.out.F32()
	m := g.batch * g.outH * g.outW
	sz := gemmPackedBSizeF32(g.outCPerGroup, g.kPerGroup)
	for p := lo; p < hi; p++ {
		m0 := p * gemmMR
		rows := min(gemmMR, m-m0)
		if k.direct && rows == gemmMR {
			// One group; the GEMM reads the 4 input rows in place.
			gemmRowF32Rows(g.inC, k.kp, in[m0*g.inC:], g.inC, ap, k.bF, g.outC, out[m0*g.outC:], g.outC, k.biasF, k.lo, k.hi)
			continue
		}
		for gi := range g.groups {
			if k.direct {
				gemmPackAF32(ap, in, m0, rows, g.inC, g.inC, 1)
			} else {
				convIm2colF32(g, ap, in, m0, rows, gi*g.filterC, k.kp, k.zeroF)
			}
			var bias []float32
			if k.biasF != nil {
				bias = k.biasF[gi*g.outCPerGroup : (gi+1)*g.outCPerGroup]
			}
			gemmRowF32(k.kp, ap, k.bF[gi*sz:(gi+1)*sz], g.outCPerGroup, out[m0*g.outC+gi*g.outCPerGroup:], g.outC, rows, bias, k.lo, k.hi)
		}
	}
}

func (k *conv2D) runI8(lo, hi int) {
	g := &k.g
	s := k.slots.take()
	ap := gemmI8At(k.scratch, k.aOff+s*k.aStride, gemmMR*k.kp)
	in, out := k.in.I8(), k.out.I8()
	m := g.batch * g.outH * g.outW
	sz := gemmPackedBSizeI8(g.outCPerGroup, g.kPerGroup)
	var rowAdd [gemmMR]int32
	for p := lo; p < hi; p++ {
		m0 := p * gemmMR
		rows := min(gemmMR, m-m0)
		if k.direct && rows == gemmMR {
			gemmRowI8Rows(g.inC, k.kp, in[m0*g.inC:], g.inC, ap, k.bI, g.outC, out[m0*g.outC:], g.outC, &k.q, &rowAdd)
			continue
		}
		for gi := range g.groups {
			if k.direct {
				gemmPackAI8(ap, in, m0, rows, g.inC, g.inC, 1, nil)
			} else {
				convIm2colI8(g, ap, in, m0, rows, gi*g.filterC, k.kp, k.padI8)
			}
			c0, c1 := gi*g.outCPerGroup, (gi+1)*g.outCPerGroup
			q := &k.q
			if g.groups > 1 {
				qg := k.q.cols(c0, c1)
				q = &qg
			}
			gemmRowI8(k.kp, ap, k.bI[gi*sz:(gi+1)*sz], g.outCPerGroup, out[m0*g.outC+c0:], g.outC, rows, q, &rowAdd)
		}
	}
}

// convPixels finds, for the output pixels [m0,m0+rows) of an A panel,
// the input batch offset and the top-left input position of each
// receptive field (rows past the panel get positions that are never
// inside the input).
func convPixels(g *convGeom, m0, rows int) (bOff, iy0, ix0 [gemmMR]int) {
	hw := g.outH * g.outW
	for i := range gemmMR {
		if i >= rows {
			iy0[i] = -1 << 30
			continue
		}
		m := m0 + i
		b, r := m/hw, m%hw
		oy, ox := r/g.outW, r%g.outW
		bOff[i] = b * g.inH
		iy0[i], ix0[i] = oy*g.sh-g.padT, ox*g.sw-g.padL
	}
	return bOff, iy0, ix0
}

// convSpan reports whether the kw taps of kernel row ky are one
// contiguous span of the input for each of the 4 pixels (or wholly
// padding), and sets src[i] to span or to zeros.
func convSpan[T any](g *convGeom, in, zeros []T, bOff, iy0, ix0 *[gemmMR]int, ky int, src *[gemmMR][]T) bool {
	n := g.kw * g.inC
	for i := range gemmMR {
		iy := iy0[i] + ky*g.dh
		if iy < 0 || iy >= g.inH {
			src[i] = zeros[:n]
			continue
		}
		if ix0[i] < 0 || ix0[i]+g.kw > g.inW {
			return false
		}
		base := ((bOff[i]+iy)*g.inW + ix0[i]) * g.inC
		src[i] = in[base : base+n]
	}
	return true
}

// convIm2colF32 packs the receptive fields of output pixels [m0,m0+rows)
// (channels [c0,c0+filterC) of each tap) into an A panel, a kernel row or
// a tap at a time; padding and rows past the panel read zeros (at least
// kw·filterC of them).
func convIm2colF32(g *convGeom, dst, in []float32, m0, rows, c0, kp int, zeros []float32) {
	dst = dst[:kp*gemmMR]
	C := g.filterC
	span := g.dw == 1 && C == g.inC
	bOff, iy0, ix0 := convPixels(g, m0, rows)
	var src [gemmMR][]float32
	kk := 0
	for ky := range g.kh {
		if span && convSpan(g, in, zeros, &bOff, &iy0, &ix0, ky, &src) {
			n := len(src[0])
			gemmInterleave4F32(dst[kk*gemmMR:(kk+n)*gemmMR], src[0], src[1], src[2], src[3])
			kk += n
			continue
		}
		for kx := range g.kw {
			for i := range gemmMR {
				iy, ix := iy0[i]+ky*g.dh, ix0[i]+kx*g.dw
				src[i] = zeros[:C]
				if iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW {
					base := ((bOff[i]+iy)*g.inW+ix)*g.inC + c0
					src[i] = in[base : base+C]
				}
			}
			gemmInterleave4F32(dst[kk*gemmMR:(kk+C)*gemmMR], src[0], src[1], src[2], src[3])
			kk += C
		}
	}
	clear(dst[kk*gemmMR:])
}

// convIm2colI8 is convIm2colF32 for int8 (A panel layout of gemm.go);
// padding reads pad (at least kw·filterC copies of the input zero point,
// which contributes nothing after the zero-point correction).
func convIm2colI8(g *convGeom, dst, in []int8, m0, rows, c0, kp int, pad []int8) {
	dst = dst[:kp*gemmMR]
	C := g.filterC
	span := g.dw == 1 && C == g.inC
	bOff, iy0, ix0 := convPixels(g, m0, rows)
	var src [gemmMR][]int8
	kk := 0
	for ky := range g.kh {
		if span && convSpan(g, in, pad, &bOff, &iy0, &ix0, ky, &src) {
			gemmPut4I8(dst, kk, &src)
			kk += len(src[0])
			continue
		}
		for kx := range g.kw {
			for i := range gemmMR {
				iy, ix := iy0[i]+ky*g.dh, ix0[i]+kx*g.dw
				src[i] = pad[:C]
				if iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW {
					base := ((bOff[i]+iy)*g.inW+ix)*g.inC + c0
					src[i] = in[base : base+C]
				}
			}
			gemmPut4I8(dst, kk, &src)
			kk += C
		}
	}
	for i := range gemmMR {
		gemmFillAI8(dst, i, kk, kp-kk, 0)
	}
}

// conv2DRefF32 is TFLite's reference float convolution (with groups).
func conv2DRefF32(g *convGeom, in, filt, bias []float32, lo, hi float32, out []float32) {
	for b := range g.batch {
		for oy := range g.outH {
			for ox := range g.outW {
				for oc := range g.outC {
					grp := oc / g.outCPerGroup
					var acc float32
					for ky := range g.kh {
						iy := oy*g.sh - g.padT + ky*g.dh
						if iy < 0 || iy >= g.inH {
							continue
						}
						for kx := range g.kw {
							ix := ox*g.sw - g.padL + kx*g.dw
							if ix < 0 || ix >= g.inW {
								continue
							}
							for c := range g.filterC {
								x := in[((b*g.inH+iy)*g.inW+ix)*g.inC+grp*g.filterC+c]
								w := filt[((oc*g.kh+ky)*g.kw+kx)*g.filterC+c]
								acc += x * w
							}
						}
					}
					if bias != nil {
						acc += bias[oc]
					}
					out[((b*g.outH+oy)*g.outW+ox)*g.outC+oc] = ClampF32(acc, lo, hi)
				}
			}
		}
	}
}

// conv2DRefI8 is TFLite's reference_integer_ops::ConvPerChannel with the
// output stage of the XNNPACK delegate that LiteRT runs it with:
// RequantizeFP32 by scale[oc], or without scale (a bias-less op)
// TFLite's MultiplyByQuantizedMultiplier (see gemmQuantParams).
func conv2DRefI8(g *convGeom, in []int8, inZP int32, filt []int8, bias []int32, scale []float32, mult []int32, shift []int, outZP, lo, hi int32, out []int8) {
	for b := range g.batch {
		for oy := range g.outH {
			for ox := range g.outW {
				for oc := range g.outC {
					grp := oc / g.outCPerGroup
					var acc int32
					for ky := range g.kh {
						iy := oy*g.sh - g.padT + ky*g.dh
						if iy < 0 || iy >= g.inH {
							continue
						}
						for kx := range g.kw {
							ix := ox*g.sw - g.padL + kx*g.dw
							if ix < 0 || ix >= g.inW {
								continue
							}
							for c := range g.filterC {
								x := int32(in[((b*g.inH+iy)*g.inW+ix)*g.inC+grp*g.filterC+c])
								w := int32(filt[((oc*g.kh+ky)*g.kw+kx)*g.filterC+c])
								acc += w * (x - inZP)
							}
						}
					}
					if bias != nil {
						acc += bias[oc]
					}
					acc = refRequant(acc, scale, mult, shift, oc) + outZP
					out[((b*g.outH+oy)*g.outW+ox)*g.outC+oc] = int8(max(lo, min(hi, acc)))
				}
			}
		}
	}
}
