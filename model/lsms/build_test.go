package lsms

import (
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/inspect"
)

// rejected lists the ops a delegate rejects, by op name.
func rejected(r *inspect.Report, gpu bool) map[string]int {
	out := map[string]int{}
	for _, op := range r.Ops {
		v := op.XNNPACK
		if gpu {
			v = op.GPU
		}
		if !v.OK {
			out[op.Op]++
		}
	}
	return out
}

func TestDelegation(t *testing.T) {
	w, cfg, _ := loadGolden(t)
	vis, err := BuildVision(w, cfg, goldenSize, goldenT)
	if err != nil {
		t.Fatal(err)
	}
	visGPU, err := BuildVision(w, cfg, goldenSize, goldenT, Options{GPUGELU: true})
	if err != nil {
		t.Fatal(err)
	}
	text, err := BuildText(w, cfg, goldenT)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		m        *tflite.Model
		gpu, xnn string // rejected op names, sorted, comma-separated
	}{
		{"vision", vis, "GELU", ""},
		{"vision GPUGELU", visGPU, "", ""},
		{"text", text, "GATHER,GELU", "GATHER"},
	} {
		r := inspect.Analyze(c.m)
		for _, d := range []struct {
			gpu  bool
			want string
		}{{true, c.gpu}, {false, c.xnn}} {
			got := rejected(r, d.gpu)
			var names []string
			for _, n := range []string{"GATHER", "GELU"} {
				if got[n] > 0 {
					names = append(names, n)
					delete(got, n)
				}
			}
			for n := range got {
				names = append(names, n)
			}
			if s := strings.Join(names, ","); s != d.want {
				t.Errorf("%s: GPU=%v rejects %q, want %q", c.name, d.gpu, s, d.want)
			}
		}
		t.Logf("%s: %d ops; GPU: %s; XNNPACK: %s", c.name, r.Operators, r.Delegates[0].Verdict, r.Delegates[1].Verdict)
	}
}

func TestBuildErrors(t *testing.T) {
	w, cfg, _ := loadGolden(t)
	if _, err := BuildVision(w, cfg, 16, goldenT); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("16x16 input: %v", err)
	}
	bad := cfg
	bad.Widths = append([]int{}, cfg.Widths...)
	bad.Widths[1]++
	if _, err := BuildVision(w, bad, goldenSize, goldenT); err == nil || !strings.Contains(err.Error(), "has shape") {
		t.Errorf("wrong width: %v", err)
	}
	bad = cfg
	bad.TextDim++
	if _, err := BuildVision(w, bad, goldenSize, goldenT); err == nil || !strings.Contains(err.Error(), "text_dim") {
		t.Errorf("text_dim mismatch: %v", err)
	}
	if _, err := BuildText(w, cfg, cfg.Text.MaxPositionEmbeddings+1); err == nil || !strings.Contains(err.Error(), "max_position_embeddings") {
		t.Errorf("T too large: %v", err)
	}
	// A file without the vision weights.
	empty, err := safetensors.Encode([]safetensors.Entry{safetensors.F32Entry("x", []int{1}, []float32{0})}, map[string]string{"format": ExportFormat})
	if err != nil {
		t.Fatal(err)
	}
	ef, err := safetensors.Parse(empty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BuildVision(ef, cfg, goldenSize, goldenT); err == nil || !strings.Contains(err.Error(), "missing tensor \"vision.stages.0.down.conv1.weight\"") {
		t.Errorf("missing weights: %v", err)
	}
	if _, err := BuildText(ef, cfg, goldenT); err == nil || !strings.Contains(err.Error(), "word_embeddings") {
		t.Errorf("missing text weights: %v", err)
	}
	if _, err := ConfigFromWeights(ef); err == nil {
		t.Error("config from metadata without config accepted")
	}
	if _, err := ParseConfig([]byte(`{"widths":[8,16],"depths":[1]}`)); err == nil {
		t.Error("inconsistent config accepted")
	}
	// The export's JSON gives the same config as the metadata.
	c2, err := LoadConfig("testdata/lsms.json")
	if err != nil {
		t.Fatal(err)
	}
	if c2.Name != cfg.Name || c2.HamChannels != cfg.HamChannels || c2.Text != cfg.Text {
		t.Errorf("lsms.json config %+v differs from metadata %+v", c2, cfg)
	}
}
