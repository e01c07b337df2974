package lsms

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/lsms-edge/lsms/model/bert"
	"github.com/lsms-edge/lsms/model/safetensors"
)

// ExportFormat is the __metadata__ "format" of train/export.py's files.
const ExportFormat = "lsms-edge-weights/v1"

// Config mirrors train/lsms/model.py's LSMSConfig (its to_dict JSON).
type Config struct {
	Name        string  `json:"name"`
	InChans     int     `json:"in_chans"`
	Widths      []int   `json:"widths"`
	Depths      []int   `json:"depths"`
	MlpRatios   []int   `json:"mlp_ratios"`
	Kernels     []int   `json:"kernels"`
	PreKernel   int     `json:"pre_kernel"`
	TextDim     int     `json:"text_dim"`
	Pixelmap    bool    `json:"pixelmap"`
	DecStages   []int   `json:"dec_stages"`
	DecScale    int     `json:"dec_scale"`
	HamChannels int     `json:"ham_channels"`
	NMFRank     int     `json:"nmf_rank"`
	NMFSteps    int     `json:"nmf_steps"`
	NMFEps      float64 `json:"nmf_eps"`
	NumClasses  int     `json:"num_classes"`
	NormEps     float64 `json:"norm_eps"`
	// CoordChans is 0, or 2 when the stem also takes the input's pixel-centre
	// coordinates (x, y in (−1, 1)) as channels; the graph folds them into a
	// constant (see coordStem).
	CoordChans int `json:"coord_chans"`
	// AttnCoords: every SVLA's ω_v1 also sees its stage's pixel-centre
	// coordinates through a 1×1 conv without bias (attn.v1_xy); the graph adds
	// its precomputed response before the instance norm (see coordMap).
	AttnCoords bool        `json:"attn_coords"`
	Text       bert.Config `json:"text"`
}

// defaults are LSMSConfig's defaults (for fields a JSON file omits).
func defaults() Config {
	return Config{InChans: 1, Widths: []int{64, 128, 320, 512}, Depths: []int{3, 3, 5, 2}, MlpRatios: []int{8, 8, 4, 4},
		Kernels: []int{7, 11, 21}, PreKernel: 5, TextDim: 768, Pixelmap: true, DecStages: []int{1, 2, 3}, DecScale: 4,
		HamChannels: 256, NMFRank: 64, NMFSteps: 7, NMFEps: 1e-6, NumClasses: 1, NormEps: 1e-5,
		Text: bert.Config{VocabSize: 30522, HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, IntermediateSize: 3072,
			MaxPositionEmbeddings: 512, TypeVocabSize: 2, LayerNormEps: 1e-12}}
}

// ParseConfig decodes an LSMSConfig JSON object, or an export's lsms.json
// (whose "model" member is that object).
func ParseConfig(data []byte) (Config, error) {
	var probe struct {
		Format string          `json:"format"`
		Model  json.RawMessage `json:"model"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Config{}, fmt.Errorf("lsms: config: %w", err)
	}
	if len(probe.Model) > 0 {
		data = probe.Model
	}
	c := defaults()
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("lsms: config: %w", err)
	}
	return c, c.Validate()
}

// LoadConfig reads ParseConfig's input from a file.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ConfigFromWeights reads the config that train/export.py stores in the
// safetensors __metadata__ ("format" = ExportFormat, "config" = JSON).
func ConfigFromWeights(w *safetensors.File) (Config, error) {
	if f := w.Metadata["format"]; f != ExportFormat {
		return Config{}, fmt.Errorf("lsms: weights metadata format %q, want %q (or pass the config explicitly)", f, ExportFormat)
	}
	s, ok := w.Metadata["config"]
	if !ok {
		return Config{}, fmt.Errorf("lsms: weights metadata has no \"config\"")
	}
	return ParseConfig([]byte(s))
}

// Validate checks the configuration.
func (c Config) Validate() error {
	n := len(c.Widths)
	switch {
	case n == 0 || len(c.Depths) != n || len(c.MlpRatios) != n:
		return fmt.Errorf("lsms: widths, depths and mlp_ratios need the same non-zero length (got %v, %v, %v)", c.Widths, c.Depths, c.MlpRatios)
	case c.InChans <= 0 || c.NumClasses <= 0 || c.HamChannels <= 0 || c.NMFRank <= 0 || c.NMFSteps < 0 || c.TextDim <= 0:
		return fmt.Errorf("lsms: in_chans, num_classes, ham_channels, nmf_rank, text_dim must be positive, nmf_steps non-negative")
	case c.PreKernel <= 0 || c.PreKernel%2 == 0:
		return fmt.Errorf("lsms: pre_kernel %d must be odd", c.PreKernel)
	case len(c.Kernels) == 0:
		return fmt.Errorf("lsms: no ConvUnit kernels")
	case len(c.DecStages) == 0:
		return fmt.Errorf("lsms: no decoder stages")
	case !(c.NormEps > 0) || !(c.NMFEps > 0):
		return fmt.Errorf("lsms: norm_eps and nmf_eps must be positive")
	case c.CoordChans != 0 && c.CoordChans != 2:
		return fmt.Errorf("lsms: coord_chans %d must be 0 or 2", c.CoordChans)
	case c.TextDim != c.Text.HiddenSize:
		return fmt.Errorf("lsms: text_dim %d differs from text.hidden_size %d", c.TextDim, c.Text.HiddenSize)
	}
	for i, w := range c.Widths {
		if w <= 0 || c.Depths[i] < 0 || c.MlpRatios[i] <= 0 {
			return fmt.Errorf("lsms: stage %d: width %d, depth %d, mlp ratio %d", i, w, c.Depths[i], c.MlpRatios[i])
		}
	}
	if c.Widths[0]%2 != 0 {
		return fmt.Errorf("lsms: widths[0] %d must be even (the stem's first conv has widths[0]/2 channels)", c.Widths[0])
	}
	for _, k := range c.Kernels {
		if k <= 0 || k%2 == 0 {
			return fmt.Errorf("lsms: ConvUnit kernel %d must be odd", k)
		}
	}
	for _, s := range c.DecStages {
		if s < 0 || s >= n {
			return fmt.Errorf("lsms: decoder stage %d outside [0,%d)", s, n)
		}
	}
	return c.Text.Validate()
}

// VisionFloatOps and TextFloatOps are the ops of the LSMS graphs that the
// shipped int8 bundle keeps in float32 (quant.Options.FloatOps patterns;
// scripts/release-model.sh passes the same list to lsms quantize). Measured
// on the shipped model (docs/quant-report.md): int8 everywhere else costs
// 2.0 Dice points and leaves the logits at 1.6 dB SQNR; with these float
// the int8 bundle is within 0.5 points of float at every text level.
//   - the masked attention scores and their softmax: the −10⁴ padding bias
//     would share one int8 scale with the real scores (0 dB);
//   - ω_f's instance norm (attn.f.1*): its input is nearly constant over
//     H×W once the word attention saturates, and 1/√eps magnifies the
//     rounding;
//   - the NMF iterations of the Hamburger head (ill-conditioned divisions).
var (
	VisionFloatOps = []string{"*.alpha.masked", "*.attn.softmax", "vision.*.attn.f.1*", "vision.decoder.hamburger.ham.*"}
	TextFloatOps   = []string{"text.*.scores.masked", "text.*.probs"}
)
