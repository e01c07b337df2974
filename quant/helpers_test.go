package quant_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lsms-edge/lsms/internal/litert"
	"github.com/lsms-edge/lsms/model/graph"
	"github.com/lsms-edge/lsms/quant"
	"github.com/lsms-edge/lsms/quant/internal/litecheck"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// sample is one model input set, by input name.
type sample = map[string]any

func dataset(s []sample) quant.Dataset {
	return func(i int) (map[string]any, error) {
		if i < 0 || i >= len(s) {
			return nil, fmt.Errorf("no input %d", i)
		}
		return s[i], nil
	}
}

func randn(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * scale)
	}
	return v
}

func uniform(rng *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return v
}

// cnnModel is a small image graph touching most of the int8 rules:
// CONV_2D (SAME, relu; PAD + VALID stride 2), DEPTHWISE_CONV_2D, GELU,
// RESIZE_BILINEAR, CONCATENATION of branches with different ranges, MEAN,
// RESHAPE, FULLY_CONNECTED, SOFTMAX, LOGISTIC, TANH, an attention block
// (TRANSPOSE, BATCH_MATMUL, masked ADD, SOFTMAX) and an instance norm
// (MEAN, SQUARED_DIFFERENCE, ADD eps, RSQRT, SUB, MUL). Inputs: "image"
// [1,12,12,3] and "mask" [1,36] (1 keep, 0 masked); outputs "probs",
// "gate", "tanh", "attn", "norm".
func cnnModel(seed uint64) *tflite.Model {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := tflite.NewBuilder("main")
	g := graph.New(b)
	x := g.Input("image", tflite.Float32, 1, 12, 12, 3)
	mask := g.Input("mask", tflite.Float32, 1, 36)
	c1 := g.Conv2D("conv1", x, randn(rng, 8*3*3*3, 0.3), [4]int{8, 3, 3, 3}, randn(rng, 8, 0.1), 1, graph.Same, graph.Relu)
	p := g.Pad("conv2.pad", c1, [][2]int{{0, 0}, {1, 1}, {1, 1}, {0, 0}})
	c2 := g.Conv2D("conv2", p, randn(rng, 16*3*3*8, 0.2), [4]int{16, 3, 3, 8}, randn(rng, 16, 0.1), 2, graph.Valid, graph.None)
	d := g.DepthwiseConv2D("dw", c2, randn(rng, 3*3*16, 0.3), 3, 3, randn(rng, 16, 0.1), 1, graph.Same, graph.None)
	ge := g.Gelu("gelu", d, false)
	r := g.ResizeBilinear("up", ge, 12, 12, false, true)
	big := g.Mul("big", c1, g.Scalar(3))
	cat := g.Concat("cat", 3, r, big)
	m := g.Mean("pool", cat, 1, 2)
	f := g.Reshape("flat", m, 1, 24)
	fc := g.FullyConnected("fc", f, randn(rng, 10*24, 0.4), 10, 24, randn(rng, 10, 0.1), graph.None)
	probs := g.Softmax("probs", fc)
	gate := g.Logistic("gate", fc)
	th := b.Tensor("tanh", tflite.Float32, []int{1, 10}, nil)
	b.Op(schema.BuiltinOperatorTANH, nil, []int{fc.ID}, th)

	// Attention over the 36 positions of c2, with a mask bias.
	q := g.Reshape("q", c2, 1, 36, 16)
	kt := g.Transpose("k_t", q, 0, 2, 1)
	s := g.BatchMatMul("scores", q, kt)
	bias := g.Mul("mask_bias", g.Add("mask_m1", mask, g.Scalar(-1), graph.None), g.Scalar(1e4))
	s = g.Add("scores.masked", s, g.Reshape("mask_bias.r", bias, 1, 1, 36), graph.None)
	a := g.BatchMatMul("attn", g.Softmax("attn.probs", s), q)

	// Instance norm of c2.
	mean := g.Mean("in.mean", c2, 1, 2)
	v := g.Mean("in.var", g.SquaredDifference("in.sqdiff", c2, mean), 1, 2)
	rs := g.Rsqrt("in.rstd", g.Add("in.var_eps", v, g.Scalar(1e-5), graph.None))
	norm := g.Mul("norm", g.Sub("in.centered", c2, mean), rs)

	g.Output(probs, gate)
	b.Output(th)
	g.Output(a, norm)
	b.Signature("serving")
	return b.Model()
}

func cnnInputs(seed uint64, n int) []sample {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]sample, n)
	for i := range out {
		mask := make([]float32, 36)
		keep := 4 + rng.IntN(30)
		for j := range keep {
			mask[j] = 1
		}
		out[i] = sample{"image": uniform(rng, 12*12*3, 0, 1), "mask": mask}
	}
	return out
}

// textModel is a BERT-like graph: int32 ids → GATHER of an embedding
// table, ADD of positions, LayerNorm, FULLY_CONNECTED, GELU,
// FULLY_CONNECTED, residual ADD. Input "ids" [1,6] int32; output "out".
func textModel(seed uint64) *tflite.Model {
	rng := rand.New(rand.NewPCG(seed, 3))
	b := tflite.NewBuilder("main")
	g := graph.New(b)
	ids := g.Input("ids", tflite.Int32, 1, 6)
	table := g.Const("emb", []int{20, 16}, randn(rng, 20*16, 0.5))
	x := g.Gather("emb.lookup", table, ids, 0)
	x = g.Add("emb.pos", x, g.Const("pos", []int{1, 6, 16}, randn(rng, 6*16, 0.2)), graph.None)
	mean := g.Mean("ln.mean", x, 2)
	v := g.Mean("ln.var", g.SquaredDifference("ln.sqdiff", x, mean), 2)
	rs := g.Rsqrt("ln.rstd", g.Add("ln.var_eps", v, g.Scalar(1e-12), graph.None))
	x = g.Mul("ln", g.Sub("ln.centered", x, mean), rs)
	h := g.FullyConnected("ffn.in", x, randn(rng, 32*16, 0.25), 32, 16, randn(rng, 32, 0.1), graph.None)
	h = g.Gelu("ffn.act", h, false)
	o := g.FullyConnected("ffn.out", h, randn(rng, 16*32, 0.2), 16, 32, randn(rng, 16, 0.1), graph.None)
	g.Output(g.Add("out", o, x, graph.None))
	return b.Model()
}

func textInputs(seed uint64, n int) []sample {
	rng := rand.New(rand.NewPCG(seed, 5))
	out := make([]sample, n)
	for i := range out {
		ids := make([]int32, 6)
		for j := range ids {
			ids[j] = int32(rng.IntN(20))
		}
		out[i] = sample{"ids": ids}
	}
	return out
}

// mlpModel is dominated by its weights (about 84k float32 values).
func mlpModel(seed uint64) *tflite.Model {
	rng := rand.New(rand.NewPCG(seed, 9))
	b := tflite.NewBuilder("main")
	g := graph.New(b)
	x := g.Input("x", tflite.Float32, 1, 64)
	h := g.FullyConnected("fc1", x, randn(rng, 256*64, 0.15), 256, 64, randn(rng, 256, 0.1), graph.Relu)
	h = g.FullyConnected("fc2", h, randn(rng, 256*256, 0.08), 256, 256, randn(rng, 256, 0.1), graph.Relu)
	g.Output(g.FullyConnected("fc3", h, randn(rng, 10*256, 0.1), 10, 256, randn(rng, 10, 0.1), graph.None))
	return b.Model()
}

func mlpInputs(seed uint64, n int) []sample {
	rng := rand.New(rand.NewPCG(seed, 13))
	out := make([]sample, n)
	for i := range out {
		out[i] = sample{"x": randn(rng, 64, 1)}
	}
	return out
}

// runOurs runs m on one sample and returns its outputs (float32).
func runOurs(t *testing.T, m *tflite.Model, in sample) [][]float32 {
	t.Helper()
	it, err := interp.New(m, interp.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for name, v := range in {
		k, ok := it.InputIndex(name)
		if !ok {
			t.Fatalf("no input %q", name)
		}
		if err := it.SetInput(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, it.NumOutputs())
	for k := range out {
		out[k] = make([]float32, it.OutputTensor(k).NumElements())
		if err := it.Output(k, out[k]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// vsLiteRT runs m in LiteRT and with our interpreter on each sample and
// compares the outputs (litecheck.Outputs).
func vsLiteRT(t *testing.T, m *tflite.Model, samples []sample) litecheck.Agreement {
	t.Helper()
	litert.Require(t)
	ag, err := litecheck.Outputs(m, samples)
	if err != nil {
		t.Fatal(err)
	}
	return ag
}

// checkAgreement fails t unless int8 outputs are within one unit of
// LiteRT's on at most 1 % of the elements (and never further), and float
// outputs within relTol.
func checkAgreement(t *testing.T, what string, ag litecheck.Agreement, relTol float64) {
	t.Helper()
	t.Logf("%s vs LiteRT: %v", what, ag)
	if !ag.Within(0.01, relTol) {
		t.Errorf("%s: outputs differ from LiteRT's beyond one unit on 1 %% of the elements (or float %g): %v", what, relTol, ag)
	}
}

// checkPerOp runs every op of m alone in LiteRT on the inputs our
// interpreter gave it and fails t unless each agrees within one unit on
// at most 1 % of its elements (float ops within relTol).
func checkPerOp(t *testing.T, what string, m *tflite.Model, s sample, relTol float64) {
	t.Helper()
	litert.Require(t)
	ops, err := litecheck.PerOp(m, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ops {
		if !o.Within(0.01, relTol) {
			t.Errorf("%s: operator %d (%s) %q alone vs LiteRT: %v", what, o.Index, o.Op, o.Name, o.Agreement)
		}
	}
	t.Logf("%s: %d ops, each alone vs LiteRT: %v", what, len(ops), litecheck.Total(ops))
}

// tensorByName finds a tensor of subgraph 0.
func tensorByName(t *testing.T, m *tflite.Model, name string) (int, *tflite.Tensor) {
	t.Helper()
	for i, tt := range m.Subgraphs[0].Tensors {
		if tt.Name == name {
			return i, tt
		}
	}
	t.Fatalf("no tensor %q", name)
	return -1, nil
}

// producer returns the op of subgraph 0 that writes tensor ti.
func producer(m *tflite.Model, ti int) *tflite.Operator {
	for _, op := range m.Subgraphs[0].Operators {
		for _, o := range op.Outputs {
			if o == ti {
				return op
			}
		}
	}
	return nil
}

// opByOutput finds the op of subgraph 0 whose first output is named name.
func opByOutput(t *testing.T, m *tflite.Model, name string) *tflite.Operator {
	t.Helper()
	ti, _ := tensorByName(t, m, name)
	op := producer(m, ti)
	if op == nil {
		t.Fatalf("no op writes %q", name)
	}
	return op
}
