package bert

import (
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/tflite"
)

// End-to-end parity of the text graph with PyTorch is in model/lsms
// (TestParityPyTorch, TestParityLiteRT); these are the unit checks.

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4,
		"intermediate_size": 64, "max_position_embeddings": 16, "hidden_act": "gelu", "model_type": "bert"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.TypeVocabSize != 2 || c.LayerNormEps != 1e-12 || c.NumAttentionHeads != 4 {
		t.Errorf("defaults: %+v", c)
	}
	for _, bad := range []string{
		`{"hidden_size": 30, "num_attention_heads": 4}`,
		`{"hidden_act": "relu"}`,
		`{"layer_norm_eps": 0}`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestPrefixAndShapes(t *testing.T) {
	cfg := Config{VocabSize: 8, HiddenSize: 4, NumHiddenLayers: 0, NumAttentionHeads: 2, IntermediateSize: 8,
		MaxPositionEmbeddings: 6, TypeVocabSize: 2, LayerNormEps: 1e-12}
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i%5) * 0.25
		}
		return v
	}
	entries := func(prefix string, vocab int) []safetensors.Entry {
		return []safetensors.Entry{
			safetensors.F32Entry(prefix+"embeddings.word_embeddings.weight", []int{vocab, 4}, ones(vocab*4)),
			safetensors.F32Entry(prefix+"embeddings.position_embeddings.weight", []int{6, 4}, ones(24)),
			safetensors.F32Entry(prefix+"embeddings.token_type_embeddings.weight", []int{2, 4}, ones(8)),
			safetensors.F32Entry(prefix+"embeddings.LayerNorm.weight", []int{4}, ones(4)),
			safetensors.F32Entry(prefix+"embeddings.LayerNorm.bias", []int{4}, ones(4)),
		}
	}
	for _, prefix := range []string{"bert.", ""} {
		b, err := safetensors.Encode(entries(prefix, 8), nil)
		if err != nil {
			t.Fatal(err)
		}
		f, err := safetensors.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := Prefix(f); err != nil || p != prefix {
			t.Errorf("prefix %q: got %q, %v", prefix, p, err)
		}
		m, err := BuildText(f, cfg, 5)
		if err != nil {
			t.Fatal(err)
		}
		sg := m.Subgraphs[0]
		out := sg.Tensors[sg.Outputs[0]]
		if out.Type != tflite.Float32 || len(out.Shape) != 3 || out.Shape[1] != 5 || out.Shape[2] != 4 {
			t.Errorf("output %v %v", out.Type, out.Shape)
		}
	}
	b, _ := safetensors.Encode(entries("text.", 9), nil)
	f, _ := safetensors.Parse(b)
	if _, err := BuildText(f, cfg, 5); err == nil || !strings.Contains(err.Error(), "has shape [9 4], the config needs [8 4]") {
		t.Errorf("vocab mismatch: %v", err)
	}
}
