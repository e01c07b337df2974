package quant

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mode selects what Quantize produces.
type Mode int

// Modes.
const (
	// Int8 is full-integer quantization (int8 weights and activations).
	Int8 Mode = iota
	// Float16 stores float32 constants as float16.
	Float16
	// Dynamic stores weights as int8 and computes in float32.
	Dynamic
)

var modeNames = []string{"int8", "fp16", "dynamic"}

func (m Mode) String() string {
	if m >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "int8", "fp16" (or "float16") and "dynamic".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "int8":
		return Int8, nil
	case "fp16", "float16":
		return Float16, nil
	case "dynamic":
		return Dynamic, nil
	}
	return 0, fmt.Errorf("quant: unknown mode %q (int8, fp16, dynamic)", s)
}

// Estimator turns a tensor's calibration statistics into a range.
type Estimator int

// Estimators.
const (
	// MinMax takes the smallest and largest value seen.
	MinMax Estimator = iota
	// Percentile clips to the Options.Percentile and 100 − Percentile
	// percentiles of the values seen.
	Percentile
	// MSE picks the clipping range that minimises the expected squared
	// error (clipping plus rounding) over the histogram of values seen.
	MSE
)

var estimatorNames = []string{"minmax", "percentile", "mse"}

func (e Estimator) String() string {
	if e >= 0 && int(e) < len(estimatorNames) {
		return estimatorNames[e]
	}
	return fmt.Sprintf("Estimator(%d)", int(e))
}

// ParseEstimator parses "minmax", "mse", "percentile" and
// "percentile:P" (P in percent, e.g. percentile:99.9); it returns the
// percentile (0 when not given).
func ParseEstimator(s string) (Estimator, float64, error) {
	name, arg, hasArg := strings.Cut(strings.ToLower(s), ":")
	switch name {
	case "minmax", "min-max", "min_max":
		if !hasArg {
			return MinMax, 0, nil
		}
	case "mse":
		if !hasArg {
			return MSE, 0, nil
		}
	case "percentile":
		if !hasArg {
			return Percentile, 0, nil
		}
		p, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(p > 50 && p <= 100) {
			return 0, 0, fmt.Errorf("quant: percentile %q must be a number in (50, 100]", arg)
		}
		return Percentile, p, nil
	}
	return 0, 0, fmt.Errorf("quant: unknown estimator %q (minmax, percentile[:P], mse)", s)
}

// DefaultPercentile is the percentile the Percentile estimator uses when
// Options.Percentile is 0.
const DefaultPercentile = 99.99

// DefaultSearchInputs is how many inputs the sensitivity search runs per
// candidate op when Options.SearchInputs is 0.
const DefaultSearchInputs = 4

// Options configure calibration, quantization and comparison.
type Options struct {
	Mode      Mode
	Estimator Estimator
	// Percentile for the Percentile estimator, in percent (50, 100];
	// 0 means DefaultPercentile.
	Percentile float64
	// DropOutliers is the fraction [0, 1) of calibration inputs to leave
	// out because the float model's activations on them are far above
	// those on the typical input (see Calibrate); 0 keeps every input with
	// finite outputs. It costs a second pass over the inputs.
	DropOutliers float64
	// FloatOps keeps ops in float32 (Int8 mode). An entry is an op type
	// ("SOFTMAX"), the name of an op's first output tensor
	// ("vision.stages.0.blocks.0.attn.softmax"), a name pattern where '*'
	// stands for any characters ("vision.decoder.*", "*.rstd") or an op
	// index ("#12"). An entry that matches no op is an error.
	FloatOps []string
	// AutoFloat keeps the AutoFloat ops with the largest output error when
	// quantized alone (Sensitivity) in float32, in addition to FloatOps.
	AutoFloat int
	// SearchInputs is the number of calibration inputs each candidate of
	// the sensitivity search runs on; 0 means DefaultSearchInputs.
	SearchInputs int
	// Signature selects the subgraph to quantize by signature key; empty
	// means subgraph 0. Other subgraphs are copied unchanged.
	Signature string
	// Threads for the interpreter runs; 0 means 1.
	Threads int
	// Progress, if set, is called as work completes: stage is
	// "calibrate", "search" or "compare", done counts up to total.
	Progress func(stage string, done, total int)
}

func (o *Options) percentile() float64 {
	if o.Percentile == 0 {
		return DefaultPercentile
	}
	return o.Percentile
}

func (o *Options) progress(stage string, done, total int) {
	if o.Progress != nil {
		o.Progress(stage, done, total)
	}
}

func (o *Options) check() error {
	if o.Mode < Int8 || o.Mode > Dynamic {
		return fmt.Errorf("quant: unknown mode %d", int(o.Mode))
	}
	if o.Estimator < MinMax || o.Estimator > MSE {
		return fmt.Errorf("quant: unknown estimator %d", int(o.Estimator))
	}
	if o.Percentile != 0 && !(o.Percentile > 50 && o.Percentile <= 100) {
		return fmt.Errorf("quant: percentile %g must be in (50, 100]", o.Percentile)
	}
	if !(o.DropOutliers >= 0 && o.DropOutliers < 1) {
		return fmt.Errorf("quant: DropOutliers %g must be in [0, 1)", o.DropOutliers)
	}
	if o.AutoFloat < 0 || o.SearchInputs < 0 || o.Threads < 0 {
		return fmt.Errorf("quant: negative AutoFloat, SearchInputs or Threads")
	}
	return nil
}

// Errors.
var (
	// ErrUnsupportedOp marks an op the Int8 rewrite does not know how to
	// quantize; name it in Options.FloatOps to keep it in float32.
	ErrUnsupportedOp = errors.New("quant: unsupported op")
	// ErrNotFloat marks a model that already holds quantized or float16
	// tensors.
	ErrNotFloat = errors.New("quant: model is not a float32 model")
	// ErrCalibration marks calibration data that does not fit the model.
	ErrCalibration = errors.New("quant: calibration")
	// ErrNoMatch marks a FloatOps entry that matches no op.
	ErrNoMatch = errors.New("quant: float op pattern matches no op")
)
