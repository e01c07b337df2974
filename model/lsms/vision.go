// Package lsms builds TFLite graphs of the LSMS model (train/lsms/model.py)
// from the safetensors weights that train/export.py writes.
//
// BuildVision: image [1,S,S,1] float32 (HU windowed to [-160, 240] and
// mapped to [0, 1], bilinear-resized to S×S: train/lsms/data.py), word
// features [1,T,C_l] and word mask [1,T] float32 (1 word, 0 padding) →
// logits [1,S,S,num_classes]. BuildText (package bert) makes the word
// features; BuildSegment and BuildBundle put both into one file.
//
// Lowering, NHWC, float32, static shapes (tensors are named after the
// PyTorch module paths):
//
//   - convs with padding k//2 and stride 1: CONV_2D / DEPTHWISE_CONV_2D
//     SAME; stride-2 convs (stem, Down): PAD 1 + VALID (TFLite's SAME would
//     pad bottom/right only);
//   - BatchNorm (eval) folded into the preceding conv (stem, Down, decoder
//     squeeze and ham_out). The blocks' post-norms follow an ADD: norm1 is
//     folded into SVLA's mix conv (BN(m⊙v + v) = (s⊙(m+1))⊙v + t, so mix
//     gets weights s·W and bias s·(b+1), then MUL by v and ADD t), norm2 into
//     ffn.fc2 (s·W, s·b + t) plus a MUL of the residual by s;
//   - coordinates (Config.CoordChans, Config.AttnCoords): constants of the
//     input size, so the stem conv's and each ω_v1's response to them are
//     computed here and ADDed as constant maps;
//   - InstanceNorm (ω_v1, ω_v2, ω_f): MEAN over H,W, SUB, MEAN again (a
//     two-pass mean: ω_f's input can be constant over H,W, where the float32
//     MEAN's rounding error would be amplified 1/√eps-fold), SQUARED_DIFFERENCE,
//     MEAN, ADD eps, RSQRT, SUB, MUL;
//   - GELU: the GELU op, approximate=false (nn.GELU() is exact erf); the
//     TFLite GPU delegate rejects GELU, so Options.GPUGELU instead builds it
//     from RELU/ADD/SUB/MUL/DIV/LOGISTIC (graph.GeluComposite, error
//     ≤ 1.5e-7·|x|), which makes the vision graph fully GPU-delegable;
//   - word attention: FULLY_CONNECTED ω_l1 (with 1/√C_l folded in) and ω_l2
//     on [1,T,C_l], TRANSPOSE of L1 to [1,C,T], BATCH_MATMUL [1,HW,C]×[1,C,T],
//     ADD of the mask bias (mask−1)·10⁴ ([1,1,T], computed once), SOFTMAX over
//     words, BATCH_MATMUL with L2 [1,T,C];
//   - NMF: the 7 (nmf_steps) multiplicative updates unrolled as BATCH_MATMUL,
//     MUL, ADD eps, DIV, TRANSPOSE; the bases are carried as B [1,D,R] and
//     Bᵀ [1,R,D] so that every BATCH_MATMUL has a run-time first input (the
//     first step's B₀, B₀ᵀ and B₀ᵀB₀ are constants); Y is computed
//     transposed (coef·Bᵀ), already NHWC;
//   - resizes: RESIZE_BILINEAR half_pixel_centers=true, align_corners=false
//     (= F.interpolate(mode="bilinear", align_corners=False)).
package lsms

import (
	"fmt"
	"math"

	"github.com/lsms-edge/lsms/model/bert"
	"github.com/lsms-edge/lsms/model/graph"
	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/tflite"
)

// MaskBias is the additive softmax bias of a padding word (model.py's MASK_BIAS).
const MaskBias = -1e4

// Options adjust the lowering; the zero value is the default.
type Options struct {
	// GPUGELU lowers the vision GELUs with graph.GeluComposite (23 ops the
	// TFLite GPU delegate accepts, as accurate as the GELU op) instead of
	// the GELU builtin, which the GPU delegate rejects (each one splits the
	// GPU partition). The text graph keeps GELU (it has a GATHER anyway).
	GPUGELU bool
}

func first(opts []Options) Options {
	if len(opts) > 0 {
		return opts[0]
	}
	return Options{}
}

// BuildVision builds the vision graph for S×S images (inputSize) and T
// words: inputs "image" [1,S,S,in_chans], "words" [1,T,C_l], "mask" [1,T];
// output "logits" [1,S,S,num_classes]; signature "vision".
func BuildVision(w *safetensors.File, cfg Config, inputSize int, T int, opts ...Options) (*tflite.Model, error) {
	b := tflite.NewBuilder("vision")
	g := graph.New(b)
	image := g.Input("image", tflite.Float32, 1, inputSize, inputSize, cfg.InChans)
	words := g.Input("words", tflite.Float32, 1, T, cfg.TextDim)
	mask := g.Input("mask", tflite.Float32, 1, T)
	logits, err := AddVision(g, w, cfg, image, words, mask, "logits", first(opts))
	if err != nil {
		return nil, err
	}
	g.Output(logits)
	b.Signature("vision")
	m := b.Model()
	m.Description = fmt.Sprintf("LSMS vision encoder + decoder (%s, %dx%d, T=%d)", cfg.Name, inputSize, inputSize, T)
	return m, nil
}

// BuildText builds the text graph of an LSMS export (bert.BuildText with
// cfg.Text).
func BuildText(w *safetensors.File, cfg Config, T int) (*tflite.Model, error) {
	return bert.BuildText(w, cfg.Text, T)
}

// BuildSegment builds text and vision as one subgraph: inputs "image",
// "ids" [1,T] int32, "mask" [1,T] float32; output "logits"; signature
// "segment".
func BuildSegment(w *safetensors.File, cfg Config, inputSize int, T int, opts ...Options) (*tflite.Model, error) {
	b := tflite.NewBuilder("segment")
	g := graph.New(b)
	image := g.Input("image", tflite.Float32, 1, inputSize, inputSize, cfg.InChans)
	ids := g.Input("ids", tflite.Int32, 1, T)
	mask := g.Input("mask", tflite.Float32, 1, T)
	words, err := bert.AddText(g, w, cfg.Text, ids, mask, "words")
	if err != nil {
		return nil, err
	}
	logits, err := AddVision(g, w, cfg, image, words, mask, "logits", first(opts))
	if err != nil {
		return nil, err
	}
	g.Output(logits)
	b.Signature("segment")
	m := b.Model()
	m.Description = fmt.Sprintf("LSMS text + vision (%s, %dx%d, T=%d)", cfg.Name, inputSize, inputSize, T)
	return m, nil
}

// BuildBundle puts the text graph (subgraph 0, signature "text") and the
// vision graph (subgraph 1, signature "vision") into one model, so that the
// word features of one text can serve several images.
func BuildBundle(w *safetensors.File, cfg Config, inputSize int, T int, opts ...Options) (*tflite.Model, error) {
	b := tflite.NewBuilder("text")
	g := graph.New(b)
	ids := g.Input("ids", tflite.Int32, 1, T)
	mask := g.Input("mask", tflite.Float32, 1, T)
	words, err := bert.AddText(g, w, cfg.Text, ids, mask, "words")
	if err != nil {
		return nil, err
	}
	g.Output(words)
	b.Signature("text")

	b.Subgraph("vision")
	g = graph.New(b)
	image := g.Input("image", tflite.Float32, 1, inputSize, inputSize, cfg.InChans)
	words = g.Input("words", tflite.Float32, 1, T, cfg.TextDim)
	mask = g.Input("mask", tflite.Float32, 1, T)
	logits, err := AddVision(g, w, cfg, image, words, mask, "logits", first(opts))
	if err != nil {
		return nil, err
	}
	g.Output(logits)
	b.Signature("vision")
	m := b.Model()
	m.Description = fmt.Sprintf("LSMS bundle: signatures text, vision (%s, %dx%d, T=%d)", cfg.Name, inputSize, inputSize, T)
	return m, nil
}

// AddVision adds the vision graph to g and returns the logits, a tensor
// named outName.
func AddVision(g *graph.Graph, w *safetensors.File, cfg Config, image, words, mask graph.Value, outName string, opt Options) (graph.Value, error) {
	if err := cfg.Validate(); err != nil {
		return graph.Value{}, err
	}
	if len(image.Shape) != 4 || image.Shape[0] != 1 || image.Shape[3] != cfg.InChans {
		return graph.Value{}, fmt.Errorf("lsms: image must be [1,H,W,%d], got %v", cfg.InChans, image.Shape)
	}
	if len(words.Shape) != 3 || words.Shape[0] != 1 || words.Shape[2] != cfg.TextDim {
		return graph.Value{}, fmt.Errorf("lsms: words must be [1,T,%d], got %v", cfg.TextDim, words.Shape)
	}
	T := words.Shape[1]
	if len(mask.Shape) != 2 || mask.Shape[0] != 1 || mask.Shape[1] != T {
		return graph.Value{}, fmt.Errorf("lsms: mask must be [1,%d], got %v", T, mask.Shape)
	}
	// The stem halves twice, every later stage once.
	if image.Shape[1] < 1<<(len(cfg.Widths)+1) || image.Shape[2] < 1<<(len(cfg.Widths)+1) {
		return graph.Value{}, fmt.Errorf("lsms: input %dx%d is too small for %d stages (at least %d)", image.Shape[1], image.Shape[2], len(cfg.Widths), 1<<(len(cfg.Widths)+1))
	}
	v := &vision{g: g, w: &graph.Weights{F: w, Prefix: "vision."}, cfg: cfg, T: T, opt: opt}
	var out graph.Value
	if err := graph.Catch(func() { out = v.build(image, words, mask, outName) }); err != nil {
		return graph.Value{}, fmt.Errorf("lsms: %w", err)
	}
	if v.w.Err != nil {
		return graph.Value{}, fmt.Errorf("lsms: %w", v.w.Err)
	}
	return out, nil
}

type vision struct {
	g     *graph.Graph
	w     *graph.Weights
	cfg   Config
	T     int
	words graph.Value
	bias  graph.Value // [1,1,T]
	opt   Options
}

func (v *vision) gelu(name string, x graph.Value) graph.Value {
	if v.opt.GPUGELU {
		return v.g.GeluComposite(name, x)
	}
	return v.g.Gelu(name, x, false)
}

const pfx = "vision."

func (v *vision) build(image, words, mask graph.Value, outName string) graph.Value {
	g, cfg := v.g, v.cfg
	v.words = words
	b := g.Add(pfx+"mask_bias.sub", mask, g.Scalar(-1), graph.None)
	b = g.Mul(pfx+"mask_bias.mul", b, g.Scalar(-MaskBias))
	v.bias = g.Reshape(pfx+"mask_bias", b, 1, 1, v.T)

	var feats []graph.Value
	x := image
	for i := range cfg.Widths {
		p := fmt.Sprintf("stages.%d", i)
		if i == 0 {
			x = v.stem(p+".down", x)
		} else {
			x = v.convBN(p+".down.conv", p+".down.bn", x, cfg.Widths[i-1], cfg.Widths[i], 3, 2, true, graph.None)
		}
		for j := range cfg.Depths[i] {
			x = v.block(fmt.Sprintf("%s.blocks.%d", p, j), x, cfg.Widths[i], cfg.MlpRatios[i])
		}
		feats = append(feats, x)
	}
	return v.decoder(feats, image.Shape[1], image.Shape[2], outName)
}

// convBN is conv k×k (bias or not) + BatchNorm folded, stride 1 (SAME) or
// 2 (PAD k//2 + VALID).
func (v *vision) convBN(conv, bn string, x graph.Value, cin, cout, k, stride int, bias bool, act graph.Activation) graph.Value {
	wt := v.w.Get(conv+".weight", cout, cin, k, k)
	var bs []float32
	if bias {
		bs = v.w.Get(conv+".bias", cout)
	}
	aff := v.bn(bn, cout)
	w2, b2 := aff.FoldInto(graph.OIHWToOHWI(wt, cout, cin, k, k), bs)
	return v.conv(conv, x, w2, b2, cout, cin, k, stride, act)
}

func (v *vision) conv(name string, x graph.Value, w, b []float32, cout, cin, k, stride int, act graph.Activation) graph.Value {
	pad := graph.Same
	if stride != 1 {
		p := k / 2
		x = v.g.Pad(pfx+name+".pad", x, [][2]int{{0, 0}, {p, p}, {p, p}, {0, 0}})
		pad = graph.Valid
	}
	return v.g.Conv2D(pfx+name, x, w, [4]int{cout, k, k, cin}, b, stride, pad, act)
}

// conv1x1 is a 1×1 conv with bias, weights OIHW [c_out,c_in,1,1].
func (v *vision) conv1x1(name string, x graph.Value, cin, cout int) graph.Value {
	return v.g.Conv2D(pfx+name, x, v.w.Get(name+".weight", cout, cin, 1, 1), [4]int{cout, 1, 1, cin}, v.w.Get(name+".bias", cout), 1, graph.Same, graph.None)
}

func (v *vision) dw(name string, x graph.Value, c, kh, kw int) graph.Value {
	wt := graph.DepthwiseToTFLite(v.w.Get(name+".weight", c, 1, kh, kw), c, kh, kw)
	return v.g.DepthwiseConv2D(pfx+name, x, wt, kh, kw, v.w.Get(name+".bias", c), 1, graph.Same, graph.None)
}

func (v *vision) bn(name string, c int) graph.Affine {
	return graph.BatchNorm(v.w.Get(name+".weight", c), v.w.Get(name+".bias", c), v.w.Get(name+".running_mean", c), v.w.Get(name+".running_var", c), v.cfg.NormEps)
}

func (v *vision) stem(p string, x graph.Value) graph.Value {
	c := v.cfg.Widths[0]
	if v.cfg.CoordChans == 0 {
		x = v.convBN(p+".conv1", p+".bn1", x, v.cfg.InChans, c/2, 3, 2, true, graph.None)
	} else {
		x = v.coordStem(p, x, c/2)
	}
	x = v.gelu(pfx+p+".act", x)
	return v.convBN(p+".conv2", p+".bn2", x, c/2, c, 3, 2, true, graph.None)
}

// instanceNorm: (x − mean_hw)·rsqrt(var_hw + eps), no affine.
//
// The mean is taken in two passes (x − m₁, then minus the mean m₂ of that):
// a channel that is (nearly) constant over H×W — ω_f's input once the word
// attention saturates on one word everywhere — has var ≪ eps, so the output
// is ≈ (x − mean)/√eps and any rounding error of MEAN (a float32 sum of H·W
// values, off by up to ~n·ulp(|x|)) is amplified √(1/eps)-fold into the
// block (PyTorch's accurate mean gives ≈ 0 there). m₂ corrects that error.
func (v *vision) instanceNorm(name string, x graph.Value) graph.Value {
	g := v.g
	mean := g.Mean(name+".mean", x, 1, 2)
	c := g.Sub(name+".centered0", x, mean)
	mean2 := g.Mean(name+".mean2", c, 1, 2)
	variance := g.Mean(name+".var", g.SquaredDifference(name+".sqdiff", c, mean2), 1, 2)
	r := g.Rsqrt(name+".rstd", g.Add(name+".var_eps", variance, g.Scalar(float32(v.cfg.NormEps)), graph.None))
	return g.Mul(name, g.Sub(name+".centered", c, mean2), r)
}

func (v *vision) convIN(name string, x graph.Value, c int) graph.Value {
	return v.instanceNorm(pfx+name+".1", v.conv1x1(name+".0", x, c, c))
}

func (v *vision) block(p string, x graph.Value, c, ratio int) graph.Value {
	g, cfg := v.g, v.cfg
	P := pfx + p
	a := p + ".attn"
	A := pfx + a
	h, w := x.Shape[1], x.Shape[2]

	// SVLA.
	pre := v.dw(a+".pre", x, c, cfg.PreKernel, cfg.PreKernel)
	var attV graph.Value
	for j, d := range cfg.Kernels {
		u := fmt.Sprintf("%s.units.%d", a, j)
		y := v.dw(u+".v", v.dw(u+".h", pre, c, 1, d), c, d, 1)
		if j == 0 {
			attV = y
		} else {
			attV = g.Add(fmt.Sprintf("%s.att_v.%d", A, j), attV, y, graph.None)
		}
	}
	var v1 graph.Value
	if cfg.AttnCoords {
		xy := v.w.Get(a+".v1_xy.weight", c, 2, 1, 1)
		m := g.Const(A+".v1_xy.map", []int{1, h, w, c}, coordMap(xy, c, h, w))
		v1 = v.instanceNorm(A+".v1.1", g.Add(A+".v1.coords", v.conv1x1(a+".v1.0", pre, c, c), m, graph.None))
	} else {
		v1 = v.convIN(a+".v1", pre, c)
	}
	v1 = g.Reshape(A+".v1.flat", v1, 1, h*w, c)
	s := 1 / math.Sqrt(float64(cfg.TextDim))
	l1w := v.w.Get(a+".l1.weight", c, cfg.TextDim)
	l1b := v.w.Get(a+".l1.bias", c)
	l1 := g.FullyConnected(A+".l1", v.words, graph.F32(scale(l1w, s)), c, cfg.TextDim, graph.F32(scale(l1b, s)), graph.None) // [1,T,C]
	l1t := g.Transpose(A+".l1.t", l1, 0, 2, 1)                                                                               // [1,C,T]
	l2 := g.FullyConnected(A+".l2", v.words, v.w.Get(a+".l2.weight", c, cfg.TextDim), c, cfg.TextDim, v.w.Get(a+".l2.bias", c), graph.None)
	alpha := g.BatchMatMul(A+".alpha", v1, l1t) // [1,HW,T], already / √C_l
	alpha = g.Add(A+".alpha.masked", alpha, v.bias, graph.None)
	attn := g.Softmax(A+".softmax", alpha)
	attL := g.Reshape(A+".att_l", g.BatchMatMul(A+".att_l.flat", attn, l2), 1, h, w, c)
	attL = v.convIN(a+".f", attL, c)
	if cfg.Pixelmap {
		attL = g.Mul(A+".pixelmap", attL, v.convIN(a+".v2", pre, c))
	}
	sum := g.Add(A+".sum", g.Add(A+".pre+att_v", pre, attV, graph.None), attL, graph.None)

	n1 := v.bn(p+".norm1", c)
	n2 := v.bn(p+".norm2", c)
	hid := c * ratio
	if !foldPostNorms {
		m := v.conv1x1(a+".mix", sum, c, c)
		x1 := g.Add(P+".residual1", g.Mul(A, m, x), x, graph.None)
		x1 = g.Add(P+".norm1", g.Mul(P+".norm1.mul", x1, g.Const(P+".norm1.scale", []int{c}, graph.F32(n1.Scale))), g.Const(P+".norm1.shift", []int{c}, graph.F32(n1.Shift)), graph.None)
		f := v.conv1x1(p+".ffn.fc1", x1, c, hid)
		f = v.dw(p+".ffn.dw", f, hid, 3, 3)
		f = v.gelu(P+".ffn.act", f)
		f = v.conv1x1(p+".ffn.fc2", f, hid, c)
		x2 := g.Add(P+".residual2", f, x1, graph.None)
		return g.Add(P+".norm2", g.Mul(P+".norm2.mul", x2, g.Const(P+".norm2.scale", []int{c}, graph.F32(n2.Scale))), g.Const(P+".norm2.shift", []int{c}, graph.F32(n2.Shift)), graph.None)
	}

	// mix conv ⊙ v, residual and norm1, folded: (s⊙(mix+1))⊙v + t, with
	// s·W and s·(b+1) computed in float64.
	mw := v.w.Get(a+".mix.weight", c, c, 1, 1)
	mb := v.w.Get(a+".mix.bias", c)
	w2, _ := n1.FoldInto(mw, nil)
	b2 := make([]float32, c)
	for i := range b2 {
		b2[i] = float32((float64(mb[i]) + 1) * n1.Scale[i])
	}
	mix := g.Conv2D(A+".mix+"+p+".norm1", sum, w2, [4]int{c, 1, 1, c}, b2, 1, graph.Same, graph.None)
	x1 := g.Mul(A, mix, x)
	x1 = g.Add(P+".norm1", x1, g.Const(P+".norm1.shift", []int{c}, graph.F32(n1.Shift)), graph.None)

	// FFN, residual and norm2: fc2 gets s·W, s·b + t; the residual is scaled by s.
	f := v.conv1x1(p+".ffn.fc1", x1, c, hid)
	f = v.dw(p+".ffn.dw", f, hid, 3, 3)
	f = v.gelu(P+".ffn.act", f)
	fw, fb := n2.FoldInto(v.w.Get(p+".ffn.fc2.weight", c, hid, 1, 1), v.w.Get(p+".ffn.fc2.bias", c))
	f = g.Conv2D(P+".ffn.fc2+norm2", f, fw, [4]int{c, 1, 1, hid}, fb, 1, graph.Same, graph.None)
	res := g.Mul(P+".norm2.residual", x1, g.Const(P+".norm2.scale", []int{c}, graph.F32(n2.Scale)))
	return g.Add(P+".norm2", f, res, graph.None)
}

// foldPostNorms folds the blocks' BatchNorms into mix / fc2 (see the
// package comment); false keeps them as MUL + ADD after the residual ADD.
var foldPostNorms = true

func scale(v []float32, s float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x) * s
	}
	return out
}

func (v *vision) decoder(feats []graph.Value, H, W int, outName string) graph.Value {
	g, cfg := v.g, v.cfg
	h, w := feats[0].Shape[1], feats[0].Shape[2]
	var s []graph.Value
	cin := 0
	for _, i := range cfg.DecStages {
		f := feats[i]
		if f.Shape[1] != h || f.Shape[2] != w {
			f = g.ResizeBilinear(fmt.Sprintf("%sdecoder.align.%d", pfx, i), f, h, w, false, true)
		}
		s = append(s, f)
		cin += cfg.Widths[i]
	}
	x := s[0]
	if len(s) > 1 {
		x = g.Concat(pfx+"decoder.concat", 3, s...)
	}
	D := cfg.HamChannels
	x = v.convBN("decoder.squeeze.0", "decoder.squeeze.1", x, cin, D, 1, 1, false, graph.Relu)

	// Hamburger.
	hp := "decoder.hamburger"
	y := g.Conv2D(pfx+hp+".ham_in", x, v.w.Get(hp+".ham_in.weight", D, D, 1, 1), [4]int{D, 1, 1, D}, v.w.Get(hp+".ham_in.bias", D), 1, graph.Same, graph.Relu)
	y = v.nmf(pfx+hp+".ham", y)
	y = v.convBN(hp+".ham_out.0", hp+".ham_out.1", y, D, D, 1, 1, false, graph.None)
	x = g.Add(pfx+hp, x, y, graph.Relu)

	nc := cfg.NumClasses
	x = g.Conv2D(pfx+"decoder.seg", x, v.w.Get("decoder.seg.weight", nc, D, 1, 1), [4]int{nc, 1, 1, D}, v.w.Get("decoder.seg.bias", nc), 1, graph.Same, graph.None)
	if x.Shape[1] == H && x.Shape[2] == W {
		return g.Reshape(outName, x, 1, H, W, nc)
	}
	return g.ResizeBilinear(outName, x, H, W, false, true)
}

// nmf runs Hamburger's NMF on x [1,h,w,D] (non-negative), returning
// (B·coefᵀ)ᵀ reshaped to [1,h,w,D].
func (v *vision) nmf(name string, x graph.Value) graph.Value {
	g, cfg := v.g, v.cfg
	h, w, D, R := x.Shape[1], x.Shape[2], x.Shape[3], cfg.NMFRank
	N := h * w
	b0 := v.w.Get("decoder.hamburger.ham.bases", D, R)
	b0t := make([]float32, R*D)
	btb := make([]float32, R*R)
	for d := range D {
		for r := range R {
			b0t[r*D+d] = b0[d*R+r]
		}
	}
	for r := range R {
		for q := range R {
			s := 0.0
			for d := range D {
				s += float64(b0[d*R+r]) * float64(b0[d*R+q])
			}
			btb[r*R+q] = float32(s)
		}
	}
	B := g.Const(name+".bases", []int{D, R}, b0)
	BT := g.Const(name+".bases_t", []int{R, D}, b0t)
	BTB := g.Const(name+".bases_gram", []int{R, R}, btb)
	eps := g.Scalar(float32(cfg.NMFEps))

	// The bases are kept transposed (Bᵀ, [1,R,D]) and coef as [1,N,R];
	// the products that need B or coefᵀ read them through BATCH_MATMUL's
	// adjoint flags instead of TRANSPOSE ops (two fewer passes over the
	// N×R coefficients per step).
	xt := g.Reshape(name+".x", x, 1, N, D) // Xᵀ
	coef := g.Softmax(name+".coef0", g.BatchMatMul(name+".coef0.logits", xt, B))

	// coef ← coef ⊙ (Xᵀ B) / (coef (BᵀB) + eps)
	coefStep := func(p string, BT, BTB graph.Value, coef graph.Value) graph.Value {
		num := g.BatchMatMulAdj(p+".num", xt, BT, false, true) // [1,N,R]
		if BTB.ID < 0 {
			BTB = g.BatchMatMulAdj(p+".gram", BT, BT, false, true) // [1,R,R]
		}
		den := g.BatchMatMul(p+".den", coef, BTB)
		return g.Div(p, g.Mul(p+".mul", coef, num), g.Add(p+".den_eps", den, eps, graph.None))
	}
	noGram := graph.Value{ID: -1}
	for it := range cfg.NMFSteps {
		p := fmt.Sprintf("%s.step%d", name, it)
		gram := noGram
		if it == 0 {
			gram = BTB
		}
		coef = coefStep(p+".coef", BT, gram, coef)
		// Bases, transposed: Bᵀ ← Bᵀ ⊙ (coefᵀ Xᵀ) / ((coefᵀcoef) Bᵀ + eps).
		num := g.BatchMatMulAdj(p+".bases.num", coef, xt, true, false)    // [1,R,D]
		ctc := g.BatchMatMulAdj(p+".bases.gram", coef, coef, true, false) // [1,R,R]
		den := g.BatchMatMul(p+".bases.den", ctc, BT)                     // [1,R,D]
		BT = g.Div(p+".bases_t", g.Mul(p+".bases.mul", BT, num), g.Add(p+".bases.den_eps", den, eps, graph.None))
	}
	gram := noGram
	if cfg.NMFSteps == 0 {
		gram = BTB
	}
	coef = coefStep(name+".coef", BT, gram, coef)
	y := g.BatchMatMul(name+".recon", coef, BT) // [1,N,D] = (B coefᵀ)ᵀ
	return g.Reshape(name, y, 1, h, w, D)
}

// coordStem is the stem's first conv + BN when the model also takes the
// pixel-centre coordinates as input channels (Config.CoordChans = 2: x then
// y, (2j+1)/W − 1 and (2i+1)/H − 1, after the image channels). Those
// channels are a constant of the input size, so the conv's response to them
// — zero padding included — is computed here once: conv(image) with the
// image's share of the folded weights, plus that constant map (ADD).
func (v *vision) coordStem(p string, x graph.Value, cout int) graph.Value {
	cin, cc := v.cfg.InChans, v.cfg.CoordChans
	all := cin + cc
	wt := v.w.Get(p+".conv1.weight", cout, all, 3, 3)
	bs := v.w.Get(p+".conv1.bias", cout)
	w2, b2 := v.bn(p+".bn1", cout).FoldInto(graph.OIHWToOHWI(wt, cout, all, 3, 3), bs)
	img := make([]float32, 0, cout*9*cin)
	for t := 0; t < cout*9; t++ { // OHWI: the first cin inputs of each tap
		img = append(img, w2[t*all:t*all+cin]...)
	}
	y := v.conv(p+".conv1", x, img, b2, cout, cin, 3, 2, graph.None)
	m := coordResponse(w2, cout, all, cin, x.Shape[1], x.Shape[2])
	return v.g.Add(pfx+p+".conv1.coords", y, v.g.Const(pfx+p+".conv1.coord_map", []int{1, y.Shape[1], y.Shape[2], cout}, m), graph.None)
}

// centre is the coordinate of pixel i's centre on an axis of n pixels,
// (2i+1)/n − 1, in (−1, 1) (model.py's coord_planes).
func centre(i, n int) float64 { return float64(2*i+1)/float64(n) - 1 }

// coordMap is a bias-free 1×1 conv with weights w ([c,2,1,1]: x, y) of the
// pixel-centre coordinate planes of an h×w map: NHWC [1, h, w, c], in float64.
func coordMap(w []float32, c, h, wd int) []float32 {
	out := make([]float32, h*wd*c)
	for i := range h {
		y := centre(i, h)
		for j := range wd {
			x := centre(j, wd)
			for o := range c {
				out[(i*wd+j)*c+o] = float32(float64(w[2*o])*x + float64(w[2*o+1])*y)
			}
		}
	}
	return out
}

// coordResponse is a 3×3 stride-2 conv (padding 1) of the coordinate planes
// of an h×w input with the OHWI weights w[:, :, :, first:] ([cout,3,3,all]):
// an NHWC [1, ho, wo, cout] map, summed in float64.
func coordResponse(w []float32, cout, all, first, h, wd int) []float32 {
	ho, wo := (h-1)/2+1, (wd-1)/2+1
	out := make([]float32, ho*wo*cout)
	coord := func(c, i, j int) float64 {
		if c == 0 {
			return centre(j, wd)
		}
		return centre(i, h)
	}
	for i := range ho {
		for j := range wo {
			for o := range cout {
				sum := 0.0
				for ky := range 3 {
					yi := 2*i + ky - 1
					if yi < 0 || yi >= h {
						continue
					}
					for kx := range 3 {
						xj := 2*j + kx - 1
						if xj < 0 || xj >= wd {
							continue
						}
						for c := 0; first+c < all; c++ {
							sum += float64(w[((o*3+ky)*3+kx)*all+first+c]) * coord(c, yi, xj)
						}
					}
				}
				out[(i*wo+j)*cout+o] = float32(sum)
			}
		}
	}
	return out
}
