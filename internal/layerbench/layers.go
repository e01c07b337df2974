package main

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// layer is one single-operator benchmark graph with its input.
type layer struct {
	Name  string // e.g. "conv3x3 60x60x64"
	Op    string // the operator being measured
	DType string // "float32" or "int8"
	MACs  int64  // multiply-accumulates of the operator (0: not a MAC op)
	model *tflite.Model
	in    []float32
	shape []int
	// outScale > 0: the float output is a dequantized int8 tensor of this
	// scale and is compared in units of it.
	outScale float32
}

// Quantization used by every int8 graph: the float input (uniform in
// [-1, 1]) is quantized with inScale/inZP, the operator's int8 output has
// outScale/outZP (its float values stay within about ±1.3, so little
// saturates), weights are symmetric per output channel and biases int32
// with scale inScale × weight scale.
const (
	inScale  = float32(2.0 / 250)
	inZP     = 2
	outScale = float32(1.4 / 127)
	outZP    = -1
)

// convShapes are the LSMS activation shapes (NHWC, batch 1).
var convShapes = [][]int{{1, 120, 120, 32}, {1, 60, 60, 64}, {1, 15, 15, 256}}

func shapeName(s []int) string { return fmt.Sprintf("%dx%dx%d", s[1], s[2], s[3]) }

// layers returns the benchmark set: CONV_2D 1×1 and 3×3, DEPTHWISE_CONV_2D
// 5×5, 1×21 and 21×1 on every conv shape, FULLY_CONNECTED 3600×64→256 and
// BATCH_MATMUL [1,3600,64]×[1,64,20], each float32 and int8; a
// QUANTIZE+DEQUANTIZE graph per conv shape shows what the int8 rows spend
// outside their operator. smoke adds ADD, MUL and SOFTMAX graphs (kernels
// that exist from the start) to check the harness end to end.
func layers(smoke bool) []*layer {
	rng := rand.New(rand.NewPCG(2024, 7))
	var out []*layer
	for _, dt := range []string{"float32", "int8"} {
		for _, s := range convShapes {
			for _, k := range []int{1, 3} {
				out = append(out, conv(rng, dt, s, k))
			}
		}
		for _, s := range convShapes {
			for _, k := range [][2]int{{5, 5}, {1, 21}, {21, 1}} {
				out = append(out, depthwise(rng, dt, s, k[0], k[1]))
			}
		}
		out = append(out, fullyConnected(rng, dt, 3600, 64, 256))
		out = append(out, batchMatMul(rng, dt, 3600, 64, 20))
	}
	for _, s := range convShapes {
		out = append(out, quantDequant(rng, s))
	}
	if smoke {
		s := convShapes[1]
		for _, dt := range []string{"float32", "int8"} {
			out = append(out, elementwise(rng, dt, s, "ADD", schema.BuiltinOperatorADD, &schema.AddOptionsT{}))
			out = append(out, elementwise(rng, dt, s, "MUL", schema.BuiltinOperatorMUL, &schema.MulOptionsT{}))
			out = append(out, softmax(rng, dt, s))
		}
	}
	return out
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func uniform(rng *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return v
}

// graph wraps one operator: a float32 input x of shape in; for int8 a
// QUANTIZE in front and a DEQUANTIZE behind. op adds the operator reading
// tensor x and returns its output tensor, which it creates with outTensor.
type graph struct {
	b  *tflite.Builder
	dt string
}

func newGraph(dt string, in []int) (*graph, int) {
	g := &graph{b: tflite.NewBuilder("main"), dt: dt}
	x := g.b.Input("x", tflite.Float32, in, nil)
	if dt == "int8" {
		q := g.b.Tensor("x_int8", tflite.Int8, in, perTensor(inScale, inZP))
		g.b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{x}, q)
		x = q
	}
	return g, x
}

// outTensor creates the operator's output tensor.
func (g *graph) outTensor(shape []int) int {
	if g.dt == "int8" {
		return g.b.Tensor("y_int8", tflite.Int8, shape, perTensor(outScale, outZP))
	}
	return g.b.Tensor("y", tflite.Float32, shape, nil)
}

// finish adds the DEQUANTIZE for int8, marks the output and returns the model.
func (g *graph) finish(y int) *tflite.Model {
	if g.dt == "int8" {
		f := g.b.Tensor("y", tflite.Float32, g.b.TensorAt(y).Shape, nil)
		g.b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{y}, f)
		y = f
	}
	g.b.Output(y)
	g.b.Signature("serving_default")
	return g.b.Model()
}

func perTensor(scale float32, zp int64) *tflite.Quantization {
	return &tflite.Quantization{Scale: []float32{scale}, ZeroPoint: []int64{zp}}
}

// weights adds a constant weight tensor: float32 as is, or int8 quantized
// symmetrically per slice along dim (per output channel). It returns the
// tensor and, for int8, the per-channel scales.
func (g *graph) weights(name string, shape []int, dim int, w []float32) (int, []float32) {
	if g.dt != "int8" {
		return g.b.Const(name, tflite.Float32, shape, w, nil), nil
	}
	inner := 1
	for _, d := range shape[dim+1:] {
		inner *= d
	}
	nch := shape[dim]
	scales := make([]float32, nch)
	for i, v := range w {
		c := (i / inner) % nch
		scales[c] = max(scales[c], float32(math.Abs(float64(v))))
	}
	for c := range scales {
		scales[c] = max(scales[c], 1e-6) / 127
	}
	q := make([]int8, len(w))
	for i, v := range w {
		c := (i / inner) % nch
		q[i] = int8(max(-127, min(127, math.RoundToEven(float64(v/scales[c])))))
	}
	zps := make([]int64, nch)
	return g.b.Const(name, tflite.Int8, shape, q, &tflite.Quantization{Scale: scales, ZeroPoint: zps, Dim: dim}), scales
}

// bias adds a constant bias: float32, or int32 with scale inScale × wScale[c].
func (g *graph) bias(b []float32, wScales []float32) int {
	shape := []int{len(b)}
	if g.dt != "int8" {
		return g.b.Const("bias", tflite.Float32, shape, b, nil)
	}
	q := make([]int32, len(b))
	scales := make([]float32, len(b))
	for c, v := range b {
		scales[c] = inScale * wScales[c]
		q[c] = int32(math.RoundToEven(float64(v / scales[c])))
	}
	return g.b.Const("bias", tflite.Int32, shape, q, &tflite.Quantization{Scale: scales, ZeroPoint: make([]int64, len(b)), Dim: 0})
}

func (l *layer) finishLayer(g *graph, y int, in []int, rng *rand.Rand) *layer {
	l.DType = g.dt
	l.model = g.finish(y)
	l.shape = in
	l.in = uniform(rng, numel(in), -1, 1)
	if g.dt == "int8" {
		l.outScale = outScale
	}
	return l
}

// conv: CONV_2D k×k, SAME, stride 1, as many output channels as input.
func conv(rng *rand.Rand, dt string, in []int, k int) *layer {
	h, w, c := in[1], in[2], in[3]
	g, x := newGraph(dt, in)
	a := 1 / math.Sqrt(float64(k*k*c))
	wt, ws := g.weights("filter", []int{c, k, k, c}, 0, uniform(rng, c*k*k*c, -a, a))
	bias := g.bias(uniform(rng, c, -0.1, 0.1), ws)
	y := g.outTensor([]int{1, h, w, c})
	g.b.Op(schema.BuiltinOperatorCONV_2D, &schema.Conv2DOptionsT{Padding: schema.PaddingSAME, StrideW: 1, StrideH: 1, DilationWFactor: 1, DilationHFactor: 1}, []int{x, wt, bias}, y)
	l := &layer{Name: fmt.Sprintf("conv%dx%d %s", k, k, shapeName(in)), Op: "CONV_2D", MACs: int64(h * w * c * c * k * k)}
	return l.finishLayer(g, y, in, rng)
}

// depthwise: DEPTHWISE_CONV_2D kh×kw, SAME, stride 1, multiplier 1.
func depthwise(rng *rand.Rand, dt string, in []int, kh, kw int) *layer {
	h, w, c := in[1], in[2], in[3]
	g, x := newGraph(dt, in)
	a := 1 / math.Sqrt(float64(kh*kw))
	wt, ws := g.weights("filter", []int{1, kh, kw, c}, 3, uniform(rng, kh*kw*c, -a, a))
	bias := g.bias(uniform(rng, c, -0.1, 0.1), ws)
	y := g.outTensor([]int{1, h, w, c})
	g.b.Op(schema.BuiltinOperatorDEPTHWISE_CONV_2D, &schema.DepthwiseConv2DOptionsT{Padding: schema.PaddingSAME, StrideW: 1, StrideH: 1, DepthMultiplier: 1, DilationWFactor: 1, DilationHFactor: 1}, []int{x, wt, bias}, y)
	l := &layer{Name: fmt.Sprintf("dw%dx%d %s", kh, kw, shapeName(in)), Op: "DEPTHWISE_CONV_2D", MACs: int64(h * w * c * kh * kw)}
	return l.finishLayer(g, y, in, rng)
}

// fullyConnected: input [rows, in] × weights [out, in] + bias → [rows, out].
func fullyConnected(rng *rand.Rand, dt string, rows, inC, outC int) *layer {
	in := []int{rows, inC}
	g, x := newGraph(dt, in)
	a := 1 / math.Sqrt(float64(inC))
	wt, ws := g.weights("weights", []int{outC, inC}, 0, uniform(rng, outC*inC, -a, a))
	bias := g.bias(uniform(rng, outC, -0.1, 0.1), ws)
	y := g.outTensor([]int{rows, outC})
	g.b.Op(schema.BuiltinOperatorFULLY_CONNECTED, &schema.FullyConnectedOptionsT{}, []int{x, wt, bias}, y)
	l := &layer{Name: fmt.Sprintf("fc %dx%d->%d", rows, inC, outC), Op: "FULLY_CONNECTED", MACs: int64(rows * inC * outC)}
	return l.finishLayer(g, y, in, rng)
}

// batchMatMul: [1, rows, k] × constant [1, k, n] → [1, rows, n]. The int8
// right-hand side is quantized per tensor (BATCH_MATMUL has no per-channel
// quantization).
func batchMatMul(rng *rand.Rand, dt string, rows, k, n int) *layer {
	in := []int{1, rows, k}
	g, x := newGraph(dt, in)
	a := 1 / math.Sqrt(float64(k))
	w := uniform(rng, k*n, -a, a)
	var rhs int
	if dt == "int8" {
		s := float32(a / 127)
		q := make([]int8, len(w))
		for i, v := range w {
			q[i] = int8(max(-127, min(127, math.RoundToEven(float64(v/s)))))
		}
		rhs = g.b.Const("rhs", tflite.Int8, []int{1, k, n}, q, perTensor(s, 0))
	} else {
		rhs = g.b.Const("rhs", tflite.Float32, []int{1, k, n}, w, nil)
	}
	y := g.outTensor([]int{1, rows, n})
	g.b.Op(schema.BuiltinOperatorBATCH_MATMUL, &schema.BatchMatMulOptionsT{}, []int{x, rhs}, y)
	l := &layer{Name: fmt.Sprintf("bmm %dx%dx%d", rows, k, n), Op: "BATCH_MATMUL", MACs: int64(rows * k * n)}
	return l.finishLayer(g, y, in, rng)
}

// quantDequant: float → QUANTIZE → int8 → DEQUANTIZE → float, the part of
// an int8 row's time that is not its operator (for equal input and output
// shapes, as in the conv rows).
func quantDequant(rng *rand.Rand, in []int) *layer {
	g, x := newGraph("int8", in)
	f := g.b.Tensor("y", tflite.Float32, in, nil)
	g.b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{x}, f)
	g.b.Output(f)
	g.b.Signature("serving_default")
	l := &layer{Name: "quant+dequant " + shapeName(in), Op: "QUANTIZE+DEQUANTIZE", DType: "int8", model: g.b.Model(), shape: in, in: uniform(rng, numel(in), -1, 1), outScale: inScale}
	return l
}

// elementwise: x op c for a constant c of x's shape (smoke cases).
func elementwise(rng *rand.Rand, dt string, in []int, name string, op schema.BuiltinOperator, opts any) *layer {
	g, x := newGraph(dt, in)
	c := uniform(rng, numel(in), -1, 1)
	var ct int
	if dt == "int8" {
		q := make([]int8, len(c))
		for i, v := range c {
			q[i] = int8(math.RoundToEven(float64(v * 127)))
		}
		ct = g.b.Const("c", tflite.Int8, in, q, perTensor(1.0/127, 0))
	} else {
		ct = g.b.Const("c", tflite.Float32, in, c, nil)
	}
	y := g.outTensor(in)
	g.b.Op(op, opts, []int{x, ct}, y)
	l := &layer{Name: fmt.Sprintf("%s %s", name, shapeName(in)), Op: name}
	return l.finishLayer(g, y, in, rng)
}

// softmax over the channels (smoke case); int8 output uses TFLite's fixed
// output quantization (1/256, -128).
func softmax(rng *rand.Rand, dt string, in []int) *layer {
	g, x := newGraph(dt, in)
	var y int
	if dt == "int8" {
		y = g.b.Tensor("y_int8", tflite.Int8, in, perTensor(1.0/256, -128))
	} else {
		y = g.outTensor(in)
	}
	g.b.Op(schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []int{x}, y)
	l := &layer{Name: "SOFTMAX " + shapeName(in), Op: "SOFTMAX"}
	l = l.finishLayer(g, y, in, rng)
	if dt == "int8" {
		l.outScale = 1.0 / 256
	}
	return l
}
