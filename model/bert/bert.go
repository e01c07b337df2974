// Package bert builds the TFLite graph of a BERT text encoder (post-LN,
// exact-erf GELU, absolute positions; train/lsms/text.py, which keeps
// HuggingFace's parameter names) from safetensors weights:
//
//	ids [1,T] int32, mask [1,T] float32 (1 word, 0 padding)
//	  → word features [1,T,hidden] (the last hidden layer, every token)
//
// Lowering (float32, static shapes):
//
//   - embeddings: GATHER of the word embeddings by ids, plus one constant
//     [1,T,hidden] holding position_embeddings[0:T] + token_type_embeddings[0]
//     (all token types are 0, as in LSMS);
//   - LayerNorm over the last axis: MEAN, SQUARED_DIFFERENCE, MEAN, ADD eps,
//     RSQRT, SUB, MUL, then MUL γ and ADD β;
//   - self-attention per layer: FULLY_CONNECTED q/k/v on [T,hidden]
//     (1/√head_dim folded into the query weights), RESHAPE + TRANSPOSE to
//     heads, BATCH_MATMUL q·kᵀ, ADD of the mask bias (mask−1)·10⁴ (the
//     PyTorch side adds (1−mask)·(−10⁴)), SOFTMAX, BATCH_MATMUL with v,
//     TRANSPOSE + RESHAPE back, dense, residual ADD, LayerNorm;
//   - feed-forward: FULLY_CONNECTED, GELU (approximate=false, matching
//     nn.GELU()), FULLY_CONNECTED, residual ADD, LayerNorm.
//
// GATHER is the one op the TFLite GPU delegate rejects; the text graph is
// small and meant for the CPU.
package bert

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/lsms-edge/lsms/model/graph"
	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/tflite"
)

// MaskBias is the additive attention bias of a padding token.
const MaskBias = -1e4

// Config is a BERT configuration (HuggingFace / train/lsms/text.py names).
type Config struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	PadTokenID            int     `json:"pad_token_id"`
	// HiddenAct is "gelu" (exact erf; also assumed when empty) or
	// "gelu_new" / "gelu_pytorch_tanh" (the tanh approximation).
	HiddenAct string `json:"hidden_act,omitempty"`
}

// Validate checks that the configuration describes a buildable model.
func (c Config) Validate() error {
	switch {
	case c.VocabSize <= 0 || c.HiddenSize <= 0 || c.NumHiddenLayers < 0 || c.IntermediateSize <= 0 || c.MaxPositionEmbeddings <= 0:
		return fmt.Errorf("bert: config needs positive vocab_size, hidden_size, intermediate_size, max_position_embeddings (got %+v)", c)
	case c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("bert: hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.TypeVocabSize <= 0:
		return fmt.Errorf("bert: type_vocab_size %d", c.TypeVocabSize)
	case !(c.LayerNormEps > 0):
		return fmt.Errorf("bert: layer_norm_eps %g", c.LayerNormEps)
	}
	if _, err := c.approximate(); err != nil {
		return err
	}
	return nil
}

func (c Config) approximate() (bool, error) {
	switch c.HiddenAct {
	case "", "gelu":
		return false, nil
	case "gelu_new", "gelu_pytorch_tanh":
		return true, nil
	}
	return false, fmt.Errorf("bert: hidden_act %q is not supported (gelu, gelu_new, gelu_pytorch_tanh)", c.HiddenAct)
}

// ParseConfig decodes a JSON BERT configuration (HF config.json or the
// "text" object of an LSMS config); missing fields take BERT-base defaults.
func ParseConfig(data []byte) (Config, error) {
	c := Config{VocabSize: 30522, HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12,
		IntermediateSize: 3072, MaxPositionEmbeddings: 512, TypeVocabSize: 2, LayerNormEps: 1e-12}
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("bert: config: %w", err)
	}
	return c, c.Validate()
}

// Prefix finds the name prefix of the BERT tensors in w: "text." (an LSMS
// export), "bert." (a HuggingFace checkpoint) or "".
func Prefix(w *safetensors.File) (string, error) {
	for _, p := range []string{"text.", "bert.", ""} {
		if w.Has(p + "embeddings.word_embeddings.weight") {
			return p, nil
		}
	}
	return "", fmt.Errorf("bert: no embeddings.word_embeddings.weight (with prefix text., bert. or none) in the weights")
}

// BuildText builds the text-encoder graph for T tokens: inputs "ids"
// [1,T] int32 and "mask" [1,T] float32, output "words" [1,T,hidden], with a
// signature "text".
func BuildText(w *safetensors.File, cfg Config, T int) (*tflite.Model, error) {
	b := tflite.NewBuilder("text")
	g := graph.New(b)
	ids := g.Input("ids", tflite.Int32, 1, T)
	mask := g.Input("mask", tflite.Float32, 1, T)
	words, err := AddText(g, w, cfg, ids, mask, "words")
	if err != nil {
		return nil, err
	}
	g.Output(words)
	b.Signature("text")
	m := b.Model()
	m.Description = fmt.Sprintf("LSMS text encoder (BERT %d layers, hidden %d, T=%d)", cfg.NumHiddenLayers, cfg.HiddenSize, T)
	return m, nil
}

// AddText adds the encoder to g (ids [1,T] int32, mask [1,T] float32) and
// returns the word features [1,T,hidden], a tensor named outName.
func AddText(g *graph.Graph, w *safetensors.File, cfg Config, ids, mask graph.Value, outName string) (graph.Value, error) {
	if err := cfg.Validate(); err != nil {
		return graph.Value{}, err
	}
	if len(ids.Shape) != 2 || ids.Shape[0] != 1 || ids.Type != tflite.Int32 {
		return graph.Value{}, fmt.Errorf("bert: ids must be [1,T] int32, got %v %v", ids.Shape, ids.Type)
	}
	T := ids.Shape[1]
	if T < 1 || T > cfg.MaxPositionEmbeddings {
		return graph.Value{}, fmt.Errorf("bert: T=%d outside [1, max_position_embeddings=%d]", T, cfg.MaxPositionEmbeddings)
	}
	prefix, err := Prefix(w)
	if err != nil {
		return graph.Value{}, err
	}
	approx, _ := cfg.approximate()
	e := &encoder{g: g, w: &graph.Weights{F: w, Prefix: prefix}, cfg: cfg, T: T, approx: approx, prefix: prefix}
	var out graph.Value
	if err := graph.Catch(func() { out = e.build(ids, mask, outName) }); err != nil {
		return graph.Value{}, fmt.Errorf("bert: %w", err)
	}
	if e.w.Err != nil {
		return graph.Value{}, fmt.Errorf("bert: %w", e.w.Err)
	}
	return out, nil
}

type encoder struct {
	g      *graph.Graph
	w      *graph.Weights
	cfg    Config
	T      int
	approx bool
	prefix string
}

func (e *encoder) build(ids, mask graph.Value, outName string) graph.Value {
	g, w, c, T, H := e.g, e.w, e.cfg, e.T, e.cfg.HiddenSize
	p := e.prefix
	// Embeddings.
	table := g.Const(p+"embeddings.word_embeddings.weight", []int{c.VocabSize, H}, w.Get("embeddings.word_embeddings.weight", c.VocabSize, H))
	x := g.Gather(p+"embeddings.word_embeddings", table, ids, 0) // [1,T,H]
	pos := w.Get("embeddings.position_embeddings.weight", c.MaxPositionEmbeddings, H)
	tt := w.Get("embeddings.token_type_embeddings.weight", c.TypeVocabSize, H)
	add := make([]float32, T*H)
	for t := range T {
		for k := range H {
			add[t*H+k] = pos[t*H+k] + tt[k]
		}
	}
	x = g.Add(p+"embeddings.add", x, g.Const(p+"embeddings.position+token_type", []int{1, T, H}, add), graph.None)
	x = e.layerNorm(p+"embeddings.LayerNorm", x, 2)
	x = g.Reshape(p+"embeddings", x, T, H)

	// Attention bias (mask − 1)·10⁴, [1,1,T] against scores [heads,T,T].
	bias := g.Add(p+"attention_bias.sub", mask, g.Scalar(-1), graph.None)
	bias = g.Mul(p+"attention_bias.mul", bias, g.Scalar(-MaskBias))
	bias = g.Reshape(p+"attention_bias", bias, 1, 1, T)

	for l := range c.NumHiddenLayers {
		x = e.layer(fmt.Sprintf("encoder.layer.%d.", l), x, bias)
	}
	return g.Reshape(outName, x, 1, T, H)
}

func (e *encoder) linear(name string, x graph.Value, out, in int, scale float64) graph.Value {
	wt := e.w.Get(name+".weight", out, in)
	b := e.w.Get(name+".bias", out)
	if scale != 1 {
		wt = graph.F32(mulAll(wt, scale))
		b = graph.F32(mulAll(b, scale))
	}
	return e.g.FullyConnected(e.prefix+name, x, wt, out, in, b, graph.None)
}

func mulAll(v []float32, s float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x) * s
	}
	return out
}

func (e *encoder) layer(p string, x, bias graph.Value) graph.Value {
	g, c, T, H := e.g, e.cfg, e.T, e.cfg.HiddenSize
	nh := c.NumAttentionHeads
	hd := H / nh
	P := e.prefix + p
	q := e.linear(p+"attention.self.query", x, H, H, 1/math.Sqrt(float64(hd)))
	k := e.linear(p+"attention.self.key", x, H, H, 1)
	v := e.linear(p+"attention.self.value", x, H, H, 1)
	q = g.Transpose(P+"attention.self.query.heads", g.Reshape(P+"attention.self.query.split", q, T, nh, hd), 1, 0, 2) // [nh,T,hd]
	k = g.Transpose(P+"attention.self.key.heads_t", g.Reshape(P+"attention.self.key.split", k, T, nh, hd), 1, 2, 0)   // [nh,hd,T]
	v = g.Transpose(P+"attention.self.value.heads", g.Reshape(P+"attention.self.value.split", v, T, nh, hd), 1, 0, 2) // [nh,T,hd]
	s := g.BatchMatMul(P+"attention.self.scores", q, k)                                                               // [nh,T,T]
	s = g.Add(P+"attention.self.scores.masked", s, bias, graph.None)
	s = g.Softmax(P+"attention.self.probs", s)
	ctx := g.BatchMatMul(P+"attention.self.context.heads", s, v) // [nh,T,hd]
	ctx = g.Reshape(P+"attention.self", g.Transpose(P+"attention.self.context", ctx, 1, 0, 2), T, H)
	a := e.linear(p+"attention.output.dense", ctx, H, H, 1)
	a = g.Add(P+"attention.output.residual", a, x, graph.None)
	a = e.layerNorm(P+"attention.output.LayerNorm", a, 1)

	h := e.linear(p+"intermediate.dense", a, c.IntermediateSize, H, 1)
	h = g.Gelu(P+"intermediate.intermediate_act_fn", h, e.approx)
	o := e.linear(p+"output.dense", h, H, c.IntermediateSize, 1)
	o = g.Add(P+"output.residual", o, a, graph.None)
	return e.layerNorm(P+"output.LayerNorm", o, 1)
}

// layerNorm normalises over the last axis (axis) and applies γ, β.
func (e *encoder) layerNorm(name string, x graph.Value, axis int) graph.Value {
	g, H := e.g, e.cfg.HiddenSize
	rel := name[len(e.prefix):]
	gamma := e.w.Get(rel+".weight", H)
	beta := e.w.Get(rel+".bias", H)
	mean := g.Mean(name+".mean", x, axis)
	variance := g.Mean(name+".var", g.SquaredDifference(name+".sqdiff", x, mean), axis)
	r := g.Rsqrt(name+".rstd", g.Add(name+".var_eps", variance, g.Scalar(float32(e.cfg.LayerNormEps)), graph.None))
	y := g.Mul(name+".norm", g.Sub(name+".centered", x, mean), r)
	y = g.Mul(name+".scale", y, g.Const(name+".weight", []int{H}, gamma))
	return g.Add(name, y, g.Const(name+".bias", []int{H}, beta), graph.None)
}
