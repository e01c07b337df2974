// Package graph is a small shape-checked layer over tflite.Builder for
// writing float32 NHWC inference graphs: every op computes its output
// shape, constants are deduplicated where they are shared (scalars, axes,
// shapes), and tensor names are kept unique.
//
// Ops panic on inconsistent shapes (a bug in the caller); Build functions
// that take untrusted weights check shapes before calling them and may use
// Catch to turn a panic into an error.
package graph

import (
	"fmt"
	"math"
	"slices"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// Value is a tensor of the graph.
type Value struct {
	ID    int
	Shape []int
	Type  tflite.DType
}

// Activation is a fused activation.
type Activation = schema.ActivationFunctionType

// Fused activations.
const (
	None = schema.ActivationFunctionTypeNONE
	Relu = schema.ActivationFunctionTypeRELU
)

// Graph adds ops to the current subgraph of a Builder.
type Graph struct {
	B     *tflite.Builder
	cache map[string]Value
	names map[string]int
}

// New wraps b; ops go into b's current subgraph. Call New again after
// b.Subgraph (constants are cached per Graph, tensors belong to a subgraph).
func New(b *tflite.Builder) *Graph {
	return &Graph{B: b, cache: map[string]Value{}, names: map[string]int{}}
}

// unique returns name, or name#k if it is already used.
func (g *Graph) unique(name string) string {
	k := g.names[name]
	g.names[name] = k + 1
	if k == 0 {
		return name
	}
	return fmt.Sprintf("%s#%d", name, k+1)
}

func (g *Graph) tensor(name string, dt tflite.DType, shape []int) Value {
	return Value{ID: g.B.Tensor(g.unique(name), dt, shape, nil), Shape: slices.Clone(shape), Type: dt}
}

// Name returns the tensor name of v.
func (g *Graph) Name(v Value) string { return g.B.TensorAt(v.ID).Name }

// Input adds a subgraph input.
func (g *Graph) Input(name string, dt tflite.DType, shape ...int) Value {
	return Value{ID: g.B.Input(g.unique(name), dt, shape, nil), Shape: slices.Clone(shape), Type: dt}
}

// Output marks values as subgraph outputs.
func (g *Graph) Output(vs ...Value) {
	for _, v := range vs {
		g.B.Output(v.ID)
	}
}

// Const adds a float32 constant.
func (g *Graph) Const(name string, shape []int, data []float32) Value {
	if int64(len(data)) != tflite.NumElements(shape) {
		panic(fmt.Sprintf("graph.Const %q: %d values for shape %v", name, len(data), shape))
	}
	return Value{ID: g.B.Const(g.unique(name), tflite.Float32, shape, data, nil), Shape: slices.Clone(shape), Type: tflite.Float32}
}

// ConstI32 adds an int32 constant.
func (g *Graph) ConstI32(name string, shape []int, data []int32) Value {
	if int64(len(data)) != tflite.NumElements(shape) {
		panic(fmt.Sprintf("graph.ConstI32 %q: %d values for shape %v", name, len(data), shape))
	}
	return Value{ID: g.B.Const(g.unique(name), tflite.Int32, shape, data, nil), Shape: slices.Clone(shape), Type: tflite.Int32}
}

// Scalar returns a shared float32 constant of shape [1].
func (g *Graph) Scalar(v float32) Value {
	key := fmt.Sprintf("f32:%08x", math.Float32bits(v))
	if c, ok := g.cache[key]; ok {
		return c
	}
	c := g.Const(fmt.Sprintf("const/%g", v), []int{1}, []float32{v})
	g.cache[key] = c
	return c
}

// ints returns a shared int32 vector constant.
func (g *Graph) ints(kind string, v ...int) Value {
	key := fmt.Sprint(kind, v)
	if c, ok := g.cache[key]; ok {
		return c
	}
	d := make([]int32, len(v))
	for i, x := range v {
		d[i] = int32(x)
	}
	c := g.ConstI32(fmt.Sprintf("const/%s%v", kind, v), []int{len(v)}, d)
	g.cache[key] = c
	return c
}

func (g *Graph) op(code schema.BuiltinOperator, opts any, inputs []Value, out Value) *tflite.Operator {
	ids := make([]int, len(inputs))
	for i, v := range inputs {
		ids[i] = v.ID
	}
	return g.B.Op(code, opts, ids, out.ID)
}

func must(ok bool, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf(format, args...))
	}
}

// Broadcast returns the numpy-style broadcast of two shapes.
func Broadcast(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		x, y := 1, 1
		if k := len(a) - n + i; k >= 0 {
			x = a[k]
		}
		if k := len(b) - n + i; k >= 0 {
			y = b[k]
		}
		switch {
		case x == y, y == 1:
			out[i] = x
		case x == 1:
			out[i] = y
		default:
			return nil, false
		}
	}
	return out, true
}

func (g *Graph) binary(code schema.BuiltinOperator, opts any, name string, a, b Value) Value {
	s, ok := Broadcast(a.Shape, b.Shape)
	must(ok, "graph: %s %q: shapes %v and %v do not broadcast", tflite.OpName(code), name, a.Shape, b.Shape)
	out := g.tensor(name, a.Type, s)
	g.op(code, opts, []Value{a, b}, out)
	return out
}

// Add is a + b (broadcast) with a fused activation.
func (g *Graph) Add(name string, a, b Value, act Activation) Value {
	return g.binary(schema.BuiltinOperatorADD, &schema.AddOptionsT{FusedActivationFunction: act}, name, a, b)
}

// Sub is a − b.
func (g *Graph) Sub(name string, a, b Value) Value {
	return g.binary(schema.BuiltinOperatorSUB, &schema.SubOptionsT{}, name, a, b)
}

// Mul is a · b.
func (g *Graph) Mul(name string, a, b Value) Value {
	return g.binary(schema.BuiltinOperatorMUL, &schema.MulOptionsT{}, name, a, b)
}

// Div is a / b.
func (g *Graph) Div(name string, a, b Value) Value {
	return g.binary(schema.BuiltinOperatorDIV, &schema.DivOptionsT{}, name, a, b)
}

// SquaredDifference is (a − b)².
func (g *Graph) SquaredDifference(name string, a, b Value) Value {
	return g.binary(schema.BuiltinOperatorSQUARED_DIFFERENCE, &schema.SquaredDifferenceOptionsT{}, name, a, b)
}

func (g *Graph) unary(code schema.BuiltinOperator, opts any, name string, x Value) Value {
	out := g.tensor(name, x.Type, x.Shape)
	g.op(code, opts, []Value{x}, out)
	return out
}

// Rsqrt is 1/√x.
func (g *Graph) Rsqrt(name string, x Value) Value {
	return g.unary(schema.BuiltinOperatorRSQRT, nil, name, x)
}

// Relu is max(x, 0).
func (g *Graph) Relu(name string, x Value) Value {
	return g.unary(schema.BuiltinOperatorRELU, nil, name, x)
}

// Gelu is x·Φ(x) (approximate: the tanh form).
func (g *Graph) Gelu(name string, x Value, approximate bool) Value {
	return g.unary(schema.BuiltinOperatorGELU, &schema.GeluOptionsT{Approximate: approximate}, name, x)
}

// Softmax is the softmax over the last axis (beta 1).
func (g *Graph) Softmax(name string, x Value) Value {
	return g.unary(schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, name, x)
}

// Mean reduces over axes, keeping them as size 1.
func (g *Graph) Mean(name string, x Value, axes ...int) Value {
	s := slices.Clone(x.Shape)
	for _, a := range axes {
		must(a >= 0 && a < len(s), "graph: MEAN %q: axis %d of %v", name, a, x.Shape)
		s[a] = 1
	}
	out := g.tensor(name, x.Type, s)
	g.op(schema.BuiltinOperatorMEAN, &schema.ReducerOptionsT{KeepDims: true}, []Value{x, g.ints("axes", axes...)}, out)
	return out
}

// Reshape changes the shape (same element count).
func (g *Graph) Reshape(name string, x Value, shape ...int) Value {
	must(tflite.NumElements(shape) == tflite.NumElements(x.Shape), "graph: RESHAPE %q: %v to %v", name, x.Shape, shape)
	out := g.tensor(name, x.Type, shape)
	ns := make([]int32, len(shape))
	for i, d := range shape {
		ns[i] = int32(d)
	}
	g.op(schema.BuiltinOperatorRESHAPE, &schema.ReshapeOptionsT{NewShape: ns}, []Value{x, g.ints("shape", shape...)}, out)
	return out
}

// Transpose permutes dimensions: out.Shape[i] = x.Shape[perm[i]].
func (g *Graph) Transpose(name string, x Value, perm ...int) Value {
	must(len(perm) == len(x.Shape), "graph: TRANSPOSE %q: perm %v for %v", name, perm, x.Shape)
	s := make([]int, len(perm))
	for i, p := range perm {
		s[i] = x.Shape[p]
	}
	out := g.tensor(name, x.Type, s)
	g.op(schema.BuiltinOperatorTRANSPOSE, &schema.TransposeOptionsT{}, []Value{x, g.ints("perm", perm...)}, out)
	return out
}

// BatchMatMul is a[..., m, k] × b[..., k, n] with broadcast batch dimensions.
func (g *Graph) BatchMatMul(name string, a, b Value) Value {
	return g.BatchMatMulAdj(name, a, b, false, false)
}

// BatchMatMulAdj is BatchMatMul with TFLite's adjoint flags: adjX reads a
// as [..., k, m] (its last two dimensions transposed), adjY reads b as
// [..., n, k].
func (g *Graph) BatchMatMulAdj(name string, a, b Value, adjX, adjY bool) Value {
	ra, rb := len(a.Shape), len(b.Shape)
	must(ra >= 2 && rb >= 2, "graph: BATCH_MATMUL %q: %v × %v", name, a.Shape, b.Shape)
	m, k := a.Shape[ra-2], a.Shape[ra-1]
	if adjX {
		m, k = k, m
	}
	k2, n := b.Shape[rb-2], b.Shape[rb-1]
	if adjY {
		k2, n = n, k2
	}
	must(k == k2, "graph: BATCH_MATMUL %q: %v (adj_x=%v) × %v (adj_y=%v)", name, a.Shape, adjX, b.Shape, adjY)
	batch, ok := Broadcast(a.Shape[:ra-2], b.Shape[:rb-2])
	must(ok, "graph: BATCH_MATMUL %q: batch dimensions of %v and %v", name, a.Shape, b.Shape)
	s := append(batch, m, n)
	out := g.tensor(name, a.Type, s)
	g.op(schema.BuiltinOperatorBATCH_MATMUL, &schema.BatchMatMulOptionsT{AdjX: adjX, AdjY: adjY}, []Value{a, b}, out)
	return out
}

// Concat joins values along axis.
func (g *Graph) Concat(name string, axis int, xs ...Value) Value {
	s := slices.Clone(xs[0].Shape)
	for _, x := range xs[1:] {
		must(len(x.Shape) == len(s), "graph: CONCATENATION %q: ranks differ", name)
		for i := range s {
			if i == axis {
				s[i] += x.Shape[i]
			} else {
				must(s[i] == x.Shape[i], "graph: CONCATENATION %q: %v and %v", name, xs[0].Shape, x.Shape)
			}
		}
	}
	out := g.tensor(name, xs[0].Type, s)
	g.op(schema.BuiltinOperatorCONCATENATION, &schema.ConcatenationOptionsT{Axis: int32(axis)}, xs, out)
	return out
}

// ResizeBilinear resizes an NHWC value to h×w. PyTorch's
// F.interpolate(mode="bilinear", align_corners=False) is halfPixel=true,
// alignCorners=false.
func (g *Graph) ResizeBilinear(name string, x Value, h, w int, alignCorners, halfPixel bool) Value {
	must(len(x.Shape) == 4, "graph: RESIZE_BILINEAR %q: rank %d", name, len(x.Shape))
	out := g.tensor(name, x.Type, []int{x.Shape[0], h, w, x.Shape[3]})
	op := g.op(schema.BuiltinOperatorRESIZE_BILINEAR, &schema.ResizeBilinearOptionsT{AlignCorners: alignCorners, HalfPixelCenters: halfPixel},
		[]Value{x, g.ints("size", h, w)}, out)
	if halfPixel {
		op.Code.Version = 3 // the version that introduced half_pixel_centers
	}
	return out
}

// Gather takes slices of params along axis at indices.
func (g *Graph) Gather(name string, params, indices Value, axis int) Value {
	s := append(append(slices.Clone(params.Shape[:axis]), indices.Shape...), params.Shape[axis+1:]...)
	out := g.tensor(name, params.Type, s)
	g.op(schema.BuiltinOperatorGATHER, &schema.GatherOptionsT{Axis: int32(axis)}, []Value{params, indices}, out)
	return out
}

// Pad pads with zeros: pads[i] = {before, after} for dimension i.
func (g *Graph) Pad(name string, x Value, pads [][2]int) Value {
	must(len(pads) == len(x.Shape), "graph: PAD %q: %d paddings for %v", name, len(pads), x.Shape)
	s := slices.Clone(x.Shape)
	flat := make([]int32, 0, 2*len(pads))
	for i, p := range pads {
		s[i] += p[0] + p[1]
		flat = append(flat, int32(p[0]), int32(p[1]))
	}
	key := fmt.Sprint("pads", flat)
	pv, ok := g.cache[key]
	if !ok {
		pv = g.ConstI32(fmt.Sprintf("const/pads%v", pads), []int{len(pads), 2}, flat)
		g.cache[key] = pv
	}
	out := g.tensor(name, x.Type, s)
	g.op(schema.BuiltinOperatorPAD, &schema.PadOptionsT{}, []Value{x, pv}, out)
	return out
}

// Padding of a convolution.
type Padding = schema.Padding

// Paddings.
const (
	Same  = schema.PaddingSAME
	Valid = schema.PaddingVALID
)

func convOut(in, k, stride int, pad Padding) int {
	if pad == Same {
		return (in + stride - 1) / stride
	}
	return (in-k)/stride + 1
}

// Conv2D is a convolution of NHWC x with OHWI weights w (shape [o,kh,kw,i])
// and a bias of o values (required: pass zeros for a bias-free conv).
func (g *Graph) Conv2D(name string, x Value, w []float32, wShape [4]int, bias []float32, stride int, pad Padding, act Activation) Value {
	must(len(x.Shape) == 4 && x.Shape[3] == wShape[3] && len(bias) == wShape[0], "graph: CONV_2D %q: input %v, weights %v, %d biases", name, x.Shape, wShape, len(bias))
	wv := g.Const(name+"/weights", wShape[:], w)
	bv := g.Const(name+"/bias", []int{wShape[0]}, bias)
	out := g.tensor(name, x.Type, []int{x.Shape[0], convOut(x.Shape[1], wShape[1], stride, pad), convOut(x.Shape[2], wShape[2], stride, pad), wShape[0]})
	g.op(schema.BuiltinOperatorCONV_2D, &schema.Conv2DOptionsT{Padding: pad, StrideH: int32(stride), StrideW: int32(stride),
		DilationHFactor: 1, DilationWFactor: 1, FusedActivationFunction: act}, []Value{x, wv, bv}, out)
	return out
}

// DepthwiseConv2D is a depthwise convolution (multiplier 1) of NHWC x with
// weights w of shape [1,kh,kw,c] and c biases.
func (g *Graph) DepthwiseConv2D(name string, x Value, w []float32, kh, kw int, bias []float32, stride int, pad Padding, act Activation) Value {
	c := x.Shape[3]
	must(len(x.Shape) == 4 && len(w) == kh*kw*c && len(bias) == c, "graph: DEPTHWISE_CONV_2D %q: input %v, %d weights %dx%d, %d biases", name, x.Shape, len(w), kh, kw, len(bias))
	wv := g.Const(name+"/weights", []int{1, kh, kw, c}, w)
	bv := g.Const(name+"/bias", []int{c}, bias)
	out := g.tensor(name, x.Type, []int{x.Shape[0], convOut(x.Shape[1], kh, stride, pad), convOut(x.Shape[2], kw, stride, pad), c})
	g.op(schema.BuiltinOperatorDEPTHWISE_CONV_2D, &schema.DepthwiseConv2DOptionsT{Padding: pad, StrideH: int32(stride), StrideW: int32(stride),
		DepthMultiplier: 1, DilationHFactor: 1, DilationWFactor: 1, FusedActivationFunction: act}, []Value{x, wv, bv}, out)
	return out
}

// FullyConnected is x·wᵀ + bias with w of shape [out, in] (PyTorch's Linear
// layout). The output keeps x's leading dimensions ([..., out]).
func (g *Graph) FullyConnected(name string, x Value, w []float32, out, in int, bias []float32, act Activation) Value {
	must(x.Shape[len(x.Shape)-1] == in && len(w) == out*in && len(bias) == out, "graph: FULLY_CONNECTED %q: input %v, weights %dx%d, %d biases", name, x.Shape, out, in, len(bias))
	wv := g.Const(name+"/weights", []int{out, in}, w)
	bv := g.Const(name+"/bias", []int{out}, bias)
	s := slices.Clone(x.Shape)
	s[len(s)-1] = out
	o := g.tensor(name, x.Type, s)
	g.op(schema.BuiltinOperatorFULLY_CONNECTED, &schema.FullyConnectedOptionsT{FusedActivationFunction: act, KeepNumDims: len(s) != 2}, []Value{x, wv, bv}, o)
	return o
}

// Catch runs f and turns a panic raised by the graph ops into an error.
func Catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if s, ok := r.(string); ok {
				err = fmt.Errorf("%s", s)
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// Logistic is 1/(1+e^−x).
func (g *Graph) Logistic(name string, x Value) Value {
	return g.unary(schema.BuiltinOperatorLOGISTIC, nil, name, x)
}

// Abramowitz & Stegun 7.1.26: erfc(z) ≈ t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))·e^{−z²},
// t = 1/(1 + p·z), z ≥ 0, absolute error ≤ 1.5e-7.
const (
	asP  = 0.3275911
	asA1 = 0.254829592
	asA2 = -0.284496736
	asA3 = 1.421413741
	asA4 = -1.453152027
	asA5 = 1.061405429
)

// GeluComposite is exact-erf GELU built only from ops the TFLite GPU
// delegate accepts (RELU, ADD, SUB, MUL, DIV, LOGISTIC; 23 ops):
//
//	gelu(x) = relu(x) − |x|·½·erfc(|x|/√2),  |x| = 2·relu(x) − x,
//
// erfc from Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7, so the GELU
// error is below 1e-7·|x|) and e^{−x²/2} = σ(−x²/2)/(1 − σ(−x²/2)).
func (g *Graph) GeluComposite(name string, x Value) Value {
	r := g.Relu(name+".relu", x)
	a := g.Sub(name+".abs", g.Add(name+".relu2", r, r, None), x)
	t := g.Div(name+".t", g.Scalar(1), g.Add(name+".t_den", g.Mul(name+".pz", a, g.Scalar(float32(asP/math.Sqrt2))), g.Scalar(1), None))
	// ½·polynomial (the ½ of ½·erfc folded into the coefficients).
	p := g.Mul(name+".poly5", t, g.Scalar(0.5*asA5))
	for i, c := range []float64{asA4, asA3, asA2, asA1} {
		p = g.Add(fmt.Sprintf("%s.poly%d", name, 4-i), p, g.Scalar(float32(0.5*c)), None)
		p = g.Mul(fmt.Sprintf("%s.poly%d.t", name, 4-i), p, t)
	}
	ny := g.Mul(name+".neg_half_x2", g.Mul(name+".x2", x, x), g.Scalar(-0.5))
	s := g.Logistic(name+".sigmoid", ny)
	e := g.Div(name+".exp", s, g.Sub(name+".one_minus_sigmoid", g.Scalar(1), s))
	q := g.Mul(name+".half_erfc", p, e)
	return g.Sub(name, r, g.Mul(name+".abs_x_half_erfc", q, a))
}
