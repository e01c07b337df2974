package kernels

import (
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

func init() {
	Register(schema.BuiltinOperatorDEPTHWISE_CONV_2D, func() Kernel { return &depthwiseConv2D{} })
}

// DEPTHWISE_CONV_2D works on zero-padded copies of the input: a task
// (batch, block of dwCB input channels, band of output rows) gathers the
// rows its band needs into a buffer laid out [row][column][dwCB channels]
// (padding positions hold 0, i.e. the input zero point for int8, so no
// border checks remain, and the width is rounded up so that every output
// block is whole), then computes each channel's outputs in register blocks
// of consecutive output columns, walking a precomputed list of tap
// offsets. Output channel oc reads input channel oc/depthMul.
//
// For int8 the buffer holds x−zp of two outputs' inputs in the two 32-bit
// lanes of an int64 (v[x] + v[x+strideW]·2³²), so one 64-bit multiply by
// the weight accumulates two adjacent outputs (see gemm.go).

const (
	dwCB  = 8 // input channels per task
	dwBF  = 6 // float32 outputs per register block
	dwBI8 = 8 // int8 outputs per register block (four lane pairs)
)

type depthwiseConv2D struct {
	g    convGeom
	isI8 bool

	in, filt, bias, out *Tensor
	wConst, bConst      bool

	khkw       int
	wp         int   // buffer width in columns
	offs       []int // tap offsets in the buffer (elements)
	bandH      int   // output rows per task
	bandIn     int   // input rows per band (max)
	nCB, nBand int
	grp, nGrp  int // channel blocks per task, and task groups

	wF     []float32 // weights as [oc][ky*kw+kx]
	biasF  []float32
	lo, hi float32

	wI   []int64
	q    gemmQuant // colAdd = bias
	inZP int32

	// vector layout (depthwise_simd.go)
	simd  bool
	offsB []int     // tap offsets in the buffer (bytes)
	wS    []float32 // float32 weights [block][tap][dwCB]
	biasS []float32 // float32 bias [block][dwCB]
	wSI   []int32   // int8 weights [block][tap][dwCB], VPMADDWD pairs
	reqS  []int32   // int8 output stage [block][dwReqLen]

	planeOff, planeStride int
	scratch               []byte
	slots                 gemmSlots
	run                   func(lo, hi int)
}

func (k *depthwiseConv2D) Prepare(ctx *Context, n *Node) (int, error) {
	if err := CheckInputs(n, 2, 3); err != nil {
		return 0, err
	}
	if err := CheckOutputs(n, 1); err != nil {
		return 0, err
	}
	o, err := Options[schema.DepthwiseConv2DOptionsT](n)
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
	if in.Rank() != 4 || filt.Rank() != 4 || filt.Shape[0] != 1 {
		return 0, n.Errorf("input %v must have rank 4 and filter %v shape [1,h,w,c]", in.Shape, filt.Shape)
	}
	if err := CheckActivation(n, o.FusedActivationFunction); err != nil {
		return 0, err
	}
	g := &k.g
	g.batch, g.inH, g.inW, g.inC = in.Shape[0], in.Shape[1], in.Shape[2], in.Shape[3]
	g.kh, g.kw, g.outC = filt.Shape[1], filt.Shape[2], filt.Shape[3]
	if g.inC <= 0 || g.outC%g.inC != 0 {
		return 0, n.Errorf("filter has %d channels, not a multiple of the input's %d", g.outC, g.inC)
	}
	g.depthMul = g.outC / g.inC
	if o.DepthMultiplier != 0 && int(o.DepthMultiplier) != g.depthMul {
		return 0, n.Errorf("depth multiplier %d disagrees with %d input and %d output channels", o.DepthMultiplier, g.inC, g.outC)
	}
	if bias != nil && bias.NumElements() != g.outC {
		return 0, n.Errorf("bias has %d elements, want %d", bias.NumElements(), g.outC)
	}
	if err := convSetup(n, g, o.Padding, o.StrideH, o.StrideW, o.DilationHFactor, o.DilationWFactor); err != nil {
		return 0, err
	}
	SetShape(out, []int{g.batch, g.outH, g.outW, g.outC})
	k.khkw = g.kh * g.kw
	k.wConst = filt.Const
	k.bConst = bias == nil || bias.Const

	k.simd = g.depthMul == 1 && dwUseSIMD(k.isI8)
	block, elem := dwBF, 4
	switch {
	case k.simd:
		block = dwSB
	case k.isI8:
		block, elem = dwBI8, 8
	}
	k.wp = ((g.outW+block-1)/block*block-1)*g.sw + (g.kw-1)*g.dw + 1
	// An odd number of cache lines per buffer row keeps the rows of a
	// tall window in different L1 sets (a 4 KiB row stride would put them
	// all in one).
	for (k.wp*dwCB*elem)%128 != 64 {
		k.wp++
	}
	// Bands of at least 4× the window height keep the rows gathered twice
	// (the window overlap) under a third, unless that leaves too few tasks.
	k.nCB = (g.inC + dwCB - 1) / dwCB
	// In the vector layout a task covers the channel blocks of one 64-byte
	// line of input (16 float32 or 64 int8 channels), gathered and
	// computed row by row, so that each line of a wide tensor comes from
	// memory once and its output lines are completed together.
	k.grp = 1
	if k.simd {
		k.grp = 2
		if k.isI8 {
			k.grp = 8
		}
		k.grp = min(k.grp, k.nCB)
	}
	k.nGrp = (k.nCB + k.grp - 1) / k.grp
	k.bandH = min(g.outH, max(16, 4*(g.kh-1)*g.dh))
	for k.bandH > 4 && g.batch*k.nGrp*((g.outH+k.bandH-1)/k.bandH) < 2*gemmThreads(ctx) {
		k.bandH = (k.bandH + 1) / 2
	}
	for {
		k.bandIn = (k.bandH-1)*g.sh + (g.kh-1)*g.dh + 1
		k.planeStride = gemmAlign(k.bandIn * k.wp * dwCB * elem)
		// the group's buffers within a share of L2
		if k.bandH <= 4 || k.grp*k.planeStride <= 256<<10 {
			break
		}
		k.bandH = (k.bandH + 1) / 2
	}
	k.nBand = (g.outH + k.bandH - 1) / k.bandH
	k.offs = make([]int, 0, k.khkw)
	k.offsB = make([]int, 0, k.khkw)
	for ky := range g.kh {
		for kx := range g.kw {
			k.offs = append(k.offs, (ky*g.dh*k.wp+kx*g.dw)*dwCB)
			k.offsB = append(k.offsB, (ky*g.dh*k.wp+kx*g.dw)*dwCB*4)
		}
	}

	if k.isI8 {
		if err := convCheckWeightZP(n, filt); err != nil {
			return 0, err
		}
		if len(filt.Scale) > 1 && filt.QDim != 3 {
			return 0, n.Errorf("filter is quantized along dimension %d, want 3", filt.QDim)
		}
		if k.khkw >= 1<<16 {
			return 0, n.Unsupportedf("kernel of %d taps is too large for int8", k.khkw)
		}
		muls, err := gemmQuantParams(n, in, filt, out, g.outC, bias != nil)
		if err != nil {
			return 0, err
		}
		k.inZP = in.ZeroPoint[0]
		lo, hi := ActivationRangeInt8(o.FusedActivationFunction, out.Scale[0], out.ZeroPoint[0])
		k.q = gemmNewQuant(make([]int32, g.outC), muls, out.ZeroPoint[0], lo, hi)
		k.run = k.runI8
		if k.simd {
			k.wSI = make([]int32, k.nCB*k.khkw*dwCB)
			k.reqS = make([]int32, k.nCB*dwReqLen)
			k.run = k.runI8SIMD
		} else {
			k.wI = make([]int64, g.outC*k.khkw)
		}
		if k.wConst && k.bConst {
			k.prepWeights()
		}
	} else {
		k.lo, k.hi, _ = ActivationRangeFloat(o.FusedActivationFunction)
		k.run = k.runF32
		if k.simd {
			k.wS = make([]float32, k.nCB*k.khkw*dwCB)
			k.biasS = make([]float32, k.nCB*dwCB)
			k.run = k.runF32SIMD
		} else {
			k.wF = make([]float32, g.outC*k.khkw)
		}
		if k.wConst {
			k.prepWeights()
		}
		if bias != nil && bias.Const {
			k.biasF = bias.F32()
			if k.simd {
				k.prepBiasSIMD()
			}
		}
	}
	var s gemmScratch
	k.planeOff = s.add(gemmThreads(ctx) * k.grp * k.planeStride)
	return s.off, nil
}

// prepWeights transposes the filter [1,kh,kw,oc] to [oc][kh*kw].
func (k *depthwiseConv2D) prepWeights() {
	if k.simd {
		k.prepSIMD()
		return
	}
	oc := k.g.outC
	if k.isI8 {
		w := k.filt.I8()
		for t := range k.khkw {
			for c := range oc {
				k.wI[c*k.khkw+t] = int64(w[t*oc+c])
			}
		}
		var bias []int32
		if k.bias != nil {
			bias = k.bias.I32()
		}
		for c := range oc {
			k.q.colAdd[c] = 0
			if bias != nil {
				k.q.colAdd[c] = bias[c]
			}
		}
		return
	}
	w := k.filt.F32()
	for t := range k.khkw {
		for c := range oc {
			k.wF[c*k.khkw+t] = w[t*oc+c]
		}
	}
}

func (k *depthwiseConv2D) Eval(ctx *Context, n *Node) error {
	if k.isI8 {
		if !k.wConst || !k.bConst {
			k.prepWeights()
		}
	} else {
		if !k.wConst {
			k.prepWeights()
		}
		if k.bias != nil && !k.bias.Const {
			k.biasF = k.bias.F32()
			if k.simd {
				k.prepBiasSIMD()
			}
		}
	}
	k.scratch = n.Scratch
	k.slots.reset()
	ctx.Pool.Run(k.g.batch*k.nGrp*k.nBand, 1, k.run)
	return nil
}

// task decodes a task index into batch, first channel block, block
// count (k.grp at most), first output row and row count. Channel groups
// vary fastest: consecutive tasks read and write the neighbouring parts
// of the same rows.
func (k *depthwiseConv2D) task(t int) (b, cb0, ncb, oy0, nrows int) {
	gi := t % k.nGrp
	t /= k.nGrp
	band := t % k.nBand
	b = t / k.nBand
	cb0 = gi * k.grp
	ncb = min(k.grp, k.nCB-cb0)
	oy0 = band * k.bandH
	nrows = min(k.bandH, k.g.outH-oy0)
	return
}

// block returns the first channel and the channel count of block cb.
func (k *depthwiseConv2D) block(cb int) (c0, nc int) {
	c0 = cb * dwCB
	return c0, min(dwCB, k.g.inC-c0)
}

// gatherBounds returns the buffer columns [lo,hi) that hold input columns.
func (k *depthwiseConv2D) gatherBounds() (lo, hi int) {
	g := &k.g
	return min(max(g.padL, 0), k.wp), max(min(g.padL+g.inW, k.wp), 0)
}

func (k *depthwiseConv2D) runF32(lo, hi int) {
	g := &k.g
	s := k.slots.take()
	buf := gemmF32At(k.scratch, k.planeOff+s*k.planeStride, k.bandIn*k.wp*dwCB)
	in, out := k.in.F32(), k.out.F32()
	xlo, xhi := k.gatherBounds()
	rowLen := k.wp * dwCB
	for t := lo; t < hi; t++ {
		b, cb, _, oy0, nrows := k.task(t) // one block per task here
		c0, nc := k.block(cb)
		rowsIn := (nrows-1)*g.sh + (g.kh-1)*g.dh + 1
		iy0 := oy0*g.sh - g.padT
		for r := range rowsIn {
			row := buf[r*rowLen : (r+1)*rowLen]
			iy := iy0 + r
			if iy < 0 || iy >= g.inH {
				clear(row)
				continue
			}
			clear(row[:xlo*dwCB])
			clear(row[xhi*dwCB:])
			src := in[((b*g.inH+iy)*g.inW+xlo-g.padL)*g.inC+c0:]
			for xp := xlo; xp < xhi; xp++ {
				d := row[xp*dwCB : xp*dwCB+nc]
				copy(d, src[:nc])
				src = src[min(g.inC, len(src)):]
			}
		}
		for r := range nrows {
			k.rowF32(buf, r*g.sh*rowLen, out[(b*g.outH+oy0+r)*g.outW*g.outC:], c0, nc)
		}
	}
}

func (k *depthwiseConv2D) rowF32(buf []float32, base int, out []float32, c0, nc int) {
	g := &k.g
	oc := g.outC
	step := g.sw * dwCB
	for ox := 0; ox < g.outW; ox += dwBF {
		p := buf[base+ox*step:]
		o := out[ox*oc:]
		for c := range nc {
			pc := p[c:]
			for m := range g.depthMul {
				ch := (c0+c)*g.depthMul + m
				w := k.wF[ch*k.khkw : (ch+1)*k.khkw]
				var acc [dwBF]float32
				if step == dwCB {
					acc[0], acc[1], acc[2], acc[3], acc[4], acc[5] = dwTapsF32(pc, k.offs, w)
				} else {
					acc[0], acc[1], acc[2], acc[3], acc[4], acc[5] = dwTapsStridedF32(pc, k.offs, w, step)
				}
				var bias float32
				if k.biasF != nil {
					bias = k.biasF[ch]
				}
				if ox+dwBF <= g.outW {
					oo := o[ch : 5*oc+ch+1]
					oo[0] = ClampF32(acc[0]+bias, k.lo, k.hi)
					oo[oc] = ClampF32(acc[1]+bias, k.lo, k.hi)
					oo[2*oc] = ClampF32(acc[2]+bias, k.lo, k.hi)
					oo[3*oc] = ClampF32(acc[3]+bias, k.lo, k.hi)
					oo[4*oc] = ClampF32(acc[4]+bias, k.lo, k.hi)
					oo[5*oc] = ClampF32(acc[5]+bias, k.lo, k.hi)
					continue
				}
				for j := range g.outW - ox {
					o[j*oc+ch] = ClampF32(acc[j]+bias, k.lo, k.hi)
				}
			}
		}
	}
}

func (k *depthwiseConv2D) runI8(lo, hi int) {
	g := &k.g
	s := k.slots.take()
	buf := gemmI64At(k.scratch, k.planeOff+s*k.planeStride, k.bandIn*k.wp*dwCB)
	in, out := k.in.I8(), k.out.I8()
	zp := int64(k.inZP)
	xlo, xhi := k.gatherBounds()
	rowLen := k.wp * dwCB
	pairOff := g.sw * dwCB
	for t := lo; t < hi; t++ {
		b, cb, _, oy0, nrows := k.task(t) // one block per task here
		c0, nc := k.block(cb)
		rowsIn := (nrows-1)*g.sh + (g.kh-1)*g.dh + 1
		iy0 := oy0*g.sh - g.padT
		for r := range rowsIn {
			row := buf[r*rowLen : (r+1)*rowLen]
			iy := iy0 + r
			if iy < 0 || iy >= g.inH {
				clear(row)
				continue
			}
			clear(row[:xlo*dwCB])
			clear(row[xhi*dwCB:])
			src := in[((b*g.inH+iy)*g.inW+xlo-g.padL)*g.inC+c0:]
			for xp := xlo; xp < xhi; xp++ {
				d := row[xp*dwCB : xp*dwCB+nc]
				for c, v := range src[:len(d)] {
					d[c] = int64(v) - zp
				}
				src = src[min(g.inC, len(src)):]
			}
			// Pair lanes in place: p[x] = v[x] + v[x+sw]·2³² (ascending x
			// reads v[x+sw] before it is paired).
			if pairOff < len(row) {
				hiLane := row[pairOff:]
				lowLane := row[:len(hiLane)]
				for i, v := range hiLane {
					lowLane[i] += v << 32
				}
			}
		}
		for r := range nrows {
			k.rowI8(buf, r*g.sh*rowLen, out[(b*g.outH+oy0+r)*g.outW*g.outC:], c0, nc)
		}
	}
}

func (k *depthwiseConv2D) rowI8(buf []int64, base int, out []int8, c0, nc int) {
	g := &k.g
	q := &k.q
	oc := g.outC
	step := g.sw * dwCB
	var acc [dwBI8]int32
	for ox := 0; ox < g.outW; ox += dwBI8 {
		p := buf[base+ox*step:]
		o := out[ox*oc:]
		n := min(dwBI8, g.outW-ox)
		for c := range nc {
			pc := p[c:]
			for m := range g.depthMul {
				ch := (c0+c)*g.depthMul + m
				w := k.wI[ch*k.khkw : (ch+1)*k.khkw]
				var a0, a1, a2, a3 int64
				if step == dwCB {
					a0, a1, a2, a3 = dwTapsI8(pc, k.offs, w)
				} else {
					a0, a1, a2, a3 = dwTapsStridedI8(pc, k.offs, w, step)
				}
				acc[0], acc[1] = gemmSplit(a0)
				acc[2], acc[3] = gemmSplit(a1)
				acc[4], acc[5] = gemmSplit(a2)
				acc[6], acc[7] = gemmSplit(a3)
				bias, mul := q.colAdd[ch], &q.mul[ch]
				for j, v := range acc[:n] {
					v = mul.apply(v+bias) + q.zp
					o[j*oc+ch] = int8(max(q.lo, min(q.hi, v)))
				}
			}
		}
	}
}

// The tap loops are separate functions so that their accumulators get
// registers of their own (inlined into the row loops they spill).

// dwTapsF32 sums the taps of six outputs dwCB elements apart.
//
//go:noinline
func dwTapsF32(p []float32, offs []int, w []float32) (a0, a1, a2, a3, a4, a5 float32) {
	w = w[:len(offs)]
	for t, off := range offs {
		wv := w[t]
		x := p[off : off+5*dwCB+1]
		a0 += x[0] * wv
		a1 += x[dwCB] * wv
		a2 += x[2*dwCB] * wv
		a3 += x[3*dwCB] * wv
		a4 += x[4*dwCB] * wv
		a5 += x[5*dwCB] * wv
	}
	return
}

// dwTapsStridedF32 sums the taps of six outputs step elements apart.
//
//go:noinline
func dwTapsStridedF32(p []float32, offs []int, w []float32, step int) (a0, a1, a2, a3, a4, a5 float32) {
	w = w[:len(offs)]
	for t, off := range offs {
		wv := w[t]
		x := p[off : off+5*step+1]
		a0 += x[0] * wv
		a1 += x[step] * wv
		a2 += x[2*step] * wv
		a3 += x[3*step] * wv
		a4 += x[4*step] * wv
		a5 += x[5*step] * wv
	}
	return
}

// dwTapsI8 sums the taps of four lane pairs (eight outputs) 2·dwCB
// elements apart.
//
//go:noinline
func dwTapsI8(p []int64, offs []int, w []int64) (a0, a1, a2, a3 int64) {
	w = w[:len(offs)]
	for t, off := range offs {
		wv := w[t]
		x := p[off : off+6*dwCB+1]
		a0 += x[0] * wv
		a1 += x[2*dwCB] * wv
		a2 += x[4*dwCB] * wv
		a3 += x[6*dwCB] * wv
	}
	return
}

// dwTapsStridedI8 sums the taps of four lane pairs 2·step elements apart.
//
//go:noinline
func dwTapsStridedI8(p []int64, offs []int, w []int64, step int) (a0, a1, a2, a3 int64) {
	w = w[:len(offs)]
	for t, off := range offs {
		wv := w[t]
		x := p[off : off+6*step+1]
		a0 += x[0] * wv
		a1 += x[2*step] * wv
		a2 += x[4*step] * wv
		a3 += x[6*step] * wv
	}
	return
}

// depthwiseRefF32 is TFLite's reference float depthwise convolution.
func depthwiseRefF32(g *convGeom, in, filt, bias []float32, lo, hi float32, out []float32) {
	for b := range g.batch {
		for oy := range g.outH {
			for ox := range g.outW {
				for ic := range g.inC {
					for m := range g.depthMul {
						oc := ic*g.depthMul + m
						var acc float32
						for ky := range g.kh {
							iy := oy*g.sh - g.padT + ky*g.dh
							for kx := range g.kw {
								ix := ox*g.sw - g.padL + kx*g.dw
								if iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW {
									continue
								}
								acc += in[((b*g.inH+iy)*g.inW+ix)*g.inC+ic] * filt[(ky*g.kw+kx)*g.outC+oc]
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
}

// depthwiseRefI8 is TFLite's reference_integer_ops::DepthwiseConvPerChannel
// with the XNNPACK delegate's output stage: RequantizeFP32 by scale[oc]
// (see gemmQuantParams).
func depthwiseRefI8(g *convGeom, in []int8, inZP int32, filt []int8, bias []int32, scale []float32, mult []int32, shift []int, outZP, lo, hi int32, out []int8) {
	for b := range g.batch {
		for oy := range g.outH {
			for ox := range g.outW {
				for ic := range g.inC {
					for m := range g.depthMul {
						oc := ic*g.depthMul + m
						var acc int32
						for ky := range g.kh {
							iy := oy*g.sh - g.padT + ky*g.dh
							for kx := range g.kw {
								ix := ox*g.sw - g.padL + kx*g.dw
								if iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW {
									continue
								}
								x := int32(in[((b*g.inH+iy)*g.inW+ix)*g.inC+ic])
								w := int32(filt[(ky*g.kw+kx)*g.outC+oc])
								acc += w * (x - inZP)
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
}
