package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/model/bundle"
	"github.com/lsms-edge/lsms/model/lsms"
	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/inspect"
)

func init() {
	register(&command{
		name:    "export",
		summary: "build a model bundle (text + vision .tflite, vocab, manifest) from trained weights",
		usage:   "--weights W.safetensors [--config C.json] --vocab vocab.txt --out BUNDLE [--size S] [--len T]",
		example: "lsms export --weights run/lsms.safetensors --config run/lsms.json --vocab data/refct/vocab.txt \\\n    --size 160 --len 48 --out models/lsms-synth-f32",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			weights := fs.String("weights", "", "safetensors written by train/export.py (required)")
			config := fs.String("config", "", "the JSON written beside the weights (default: W with .json, else the weights' metadata)")
			vocab := fs.String("vocab", "", "WordPiece vocab.txt the model was trained with (required)")
			out := fs.String("out", "", "bundle directory to write (required)")
			name := fs.String("name", "", "model name in the manifest (default: the --out folder name)")
			size := fs.Int("size", 0, "input size S (default: the config's preprocess size)")
			T := fs.Int("len", 0, "token length T (default: the config's ids shape)")
			threshold := fs.Float64("threshold", 0, "probability threshold (default: the config's, else 0.5)")
			combined := fs.Bool("combined", false, "also write lsms.tflite: text and vision in one file with signatures \"text\" and \"vision\"")
			gpuGELU := fs.Bool("gpu-gelu", false, "build GELU from ops the TFLite GPU delegate accepts (tanh form is not used; exact erf via a polynomial)")
			asJSON := fs.Bool("json", false, "print the manifest as JSON")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *weights == "" || *vocab == "" || *out == "" {
					return usagef("--weights, --vocab and --out are required")
				}
				return exportBundle(exportOpts{weights: *weights, config: *config, vocab: *vocab, out: *out, name: *name,
					size: *size, T: *T, threshold: *threshold, combined: *combined, gpuGELU: *gpuGELU, json: *asJSON}, stdout)
			}
		},
	})
}

type exportOpts struct {
	weights, config, vocab, out, name string
	size, T                           int
	threshold                         float64
	combined, gpuGELU, json           bool
}

// exportMeta is what export reads from train/export.py's JSON besides the model config.
type exportMeta struct {
	Format string          `json:"format"`
	Model  json.RawMessage `json:"model"`
	Input  struct {
		IDs struct {
			Shape []int `json:"shape"`
		} `json:"ids"`
	} `json:"input"`
	Preprocess struct {
		HUWindow [2]float64  `json:"hu_window"`
		Resize   string      `json:"resize"`
		Size     int         `json:"size"`
		ROI      *[4]float64 `json:"roi"`
	} `json:"preprocess"`
	Postprocess struct {
		Threshold float64 `json:"threshold"`
	} `json:"postprocess"`
}

func exportBundle(o exportOpts, stdout io.Writer) error {
	w, err := safetensors.Open(o.weights)
	if err != nil {
		return err
	}
	defer w.Close()
	cfgPath := o.config
	if cfgPath == "" {
		p := strings.TrimSuffix(o.weights, filepath.Ext(o.weights)) + ".json"
		if _, err := os.Stat(p); err == nil {
			cfgPath = p
		}
	}
	var meta exportMeta
	var cfg lsms.Config
	if cfgPath != "" {
		data, err := os.ReadFile(cfgPath)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &meta); err != nil {
			return fmt.Errorf("%s: %v", cfgPath, err)
		}
		if cfg, err = lsms.ParseConfig(data); err != nil {
			return fmt.Errorf("%s: %w", cfgPath, err)
		}
	} else if cfg, err = lsms.ConfigFromWeights(w); err != nil {
		return err
	}
	S, T := o.size, o.T
	if S == 0 {
		S = meta.Preprocess.Size
	}
	if T == 0 && len(meta.Input.IDs.Shape) == 2 {
		T = meta.Input.IDs.Shape[1]
	}
	if S <= 0 || T <= 0 {
		return usagef("input size and token length unknown: pass --size and --len")
	}
	if T > cfg.Text.MaxPositionEmbeddings {
		return fmt.Errorf("--len %d exceeds the text encoder's max_position_embeddings %d", T, cfg.Text.MaxPositionEmbeddings)
	}
	hu := meta.Preprocess.HUWindow
	if hu[1] <= hu[0] {
		return fmt.Errorf("config has no preprocess.hu_window (want the JSON train/export.py writes)")
	}
	if err := bundle.CheckROI(meta.Preprocess.ROI); err != nil {
		return fmt.Errorf("config preprocess.%v", err)
	}
	th := o.threshold
	if th == 0 {
		th = meta.Postprocess.Threshold
	}
	if th == 0 {
		th = 0.5
	}
	vocabData, err := os.ReadFile(o.vocab)
	if err != nil {
		return err
	}
	if n := strings.Count(strings.TrimRight(string(vocabData), "\n"), "\n") + 1; n != cfg.Text.VocabSize {
		return fmt.Errorf("%s has %d tokens, the text encoder's vocab_size is %d", o.vocab, n, cfg.Text.VocabSize)
	}
	opt := lsms.Options{GPUGELU: o.gpuGELU}
	build := func(f func() (*tflite.Model, error)) ([]byte, error) {
		m, err := f()
		if err != nil {
			return nil, err
		}
		return m.Marshal()
	}
	text, err := build(func() (*tflite.Model, error) { return lsms.BuildText(w, cfg, T) })
	if err != nil {
		return fmt.Errorf("text graph: %w", err)
	}
	vision, err := build(func() (*tflite.Model, error) { return lsms.BuildVision(w, cfg, S, T, opt) })
	if err != nil {
		return fmt.Errorf("vision graph: %w", err)
	}
	files := []bundle.Content{
		{Role: bundle.RoleText, Path: "lsms_text.tflite", Data: text},
		{Role: bundle.RoleVision, Path: "lsms_vision.tflite", Data: vision},
		{Role: bundle.RoleVocab, Path: "vocab.txt", Data: vocabData},
	}
	if o.combined {
		both, err := build(func() (*tflite.Model, error) { return lsms.BuildBundle(w, cfg, S, T, opt) })
		if err != nil {
			return fmt.Errorf("combined graph: %w", err)
		}
		files = append(files, bundle.Content{Role: bundle.RoleCombined, Path: "lsms.tflite", Data: both})
	}
	name := o.name
	if name == "" {
		name = filepath.Base(filepath.Clean(o.out))
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	resize := meta.Preprocess.Resize
	if resize == "" {
		resize = "bilinear, align_corners=false, half-pixel centres, no antialias"
	}
	wsum, err := fileSHA256(o.weights)
	if err != nil {
		return err
	}
	m := bundle.Manifest{
		Name: name, Precision: "float32", Model: cfgJSON, InputSize: S,
		Preprocess: bundle.Preprocess{HUWindow: hu, Resize: resize, ROI: meta.Preprocess.ROI},
		Tokenizer:  bundle.Tokenizer{Vocab: "vocab.txt", T: T, Lowercase: true, StripAccents: true},
		Threshold:  th,
		Provenance: map[string]string{"weights_sha256": wsum, "weights": filepath.Base(o.weights), "gelu": geluName(o.gpuGELU)},
	}
	b, err := bundle.Write(o.out, m, files)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(b.Manifest)
	}
	fmt.Fprintf(stdout, "wrote bundle %s (%s, %dx%d, T=%d), %.2f MB:\n", o.out, cfg.Name, S, S, T, float64(b.Size())/1e6)
	for _, f := range b.Manifest.Files {
		line := fmt.Sprintf("  %-8s %-20s %10d bytes  sha256 %s…", f.Role, f.Path, f.Bytes, f.SHA256[:16])
		if strings.HasSuffix(f.Path, ".tflite") {
			if m, err := tflite.Read(dataOf(files, f.Path)); err == nil {
				for _, d := range inspect.Analyze(m).Delegates {
					if d.Name == inspect.GPU {
						line += "  GPU: " + d.Verdict
					}
				}
			}
		}
		fmt.Fprintln(stdout, line)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func geluName(gpu bool) string {
	if gpu {
		return "gpu-delegable"
	}
	return "exact (erf)"
}

func dataOf(files []bundle.Content, path string) []byte {
	for _, f := range files {
		if f.Path == path {
			return f.Data
		}
	}
	return nil
}
