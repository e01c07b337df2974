package quant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// DB is a ratio in decibels. +Inf (no noise at all) is written to JSON as
// null and read back from null as +Inf; −Inf (no signal, or non-finite
// quantized values) as -1e308.
type DB float64

// MarshalJSON implements json.Marshaler.
func (d DB) MarshalJSON() ([]byte, error) {
	f := float64(d)
	if math.IsInf(f, -1) {
		return []byte("-1e308"), nil
	}
	if math.IsInf(f, 1) || math.IsNaN(f) {
		return []byte("null"), nil
	}
	return json.Marshal(math.Round(f*100) / 100)
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *DB) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = DB(math.Inf(1))
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if f <= -1e308 {
		f = math.Inf(-1)
	}
	*d = DB(f)
	return nil
}

func (d DB) String() string {
	f := float64(d)
	switch {
	case math.IsInf(f, 1):
		return "exact"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return fmt.Sprintf("%.1f", f)
}

// TensorError is the quantization error of one tensor.
type TensorError struct {
	Name string `json:"name"`
	// Op and OpIndex are the op of the float model that produces the
	// tensor (OpIndex −1 for model inputs).
	Op      string `json:"op,omitempty"`
	OpIndex int    `json:"op_index"`
	// Type is the tensor's type in the quantized model.
	Type     string `json:"type"`
	Elements int    `json:"elements"`
	// SQNR is 10·log10(Σ float² / Σ (quantized − float)²) over all
	// compared inputs.
	SQNR      DB      `json:"sqnr_db"`
	MaxAbsErr float64 `json:"max_abs_err"`
	// RMS of the float values.
	RMS float64 `json:"rms"`
}

// InputError is the output error on one input.
type InputError struct {
	Input int `json:"input"`
	// SQNR of all model outputs together on this input.
	SQNR          DB `json:"sqnr_db"`
	signal, noise float64
}

// Report compares a float model with its quantized form.
type Report struct {
	Mode       string  `json:"mode"`
	Estimator  string  `json:"estimator,omitempty"`
	Percentile float64 `json:"percentile,omitempty"`
	// CalibrationInputs is the number of inputs calibration ran on,
	// Inputs the number the comparison ran on.
	CalibrationInputs int `json:"calibration_inputs,omitempty"`
	Inputs            int `json:"inputs"`
	// CalibrationSkipped and Skipped list the inputs left out of
	// calibration and comparison because the float model's outputs were
	// not finite on them.
	CalibrationSkipped []int `json:"calibration_skipped,omitempty"`
	Skipped            []int `json:"skipped,omitempty"`
	// CalibrationDropped lists the inputs Options.DropOutliers left out.
	CalibrationDropped []int `json:"calibration_dropped,omitempty"`
	// Serialized sizes in bytes and their ratio quantized/float.
	FloatBytes int     `json:"float_bytes"`
	QuantBytes int     `json:"quant_bytes"`
	SizeRatio  float64 `json:"size_ratio"`
	// Outputs are the model outputs, Worst the WorstLayers op outputs of
	// least SQNR, Tensors every compared tensor in float graph order.
	Outputs []TensorError `json:"outputs"`
	Worst   []TensorError `json:"worst"`
	Tensors []TensorError `json:"tensors"`
	// PerInput is the output SQNR of each compared input, in input order.
	PerInput []InputError `json:"per_input,omitempty"`
	// Summary is what Quantize did; Sensitivity the search's ranking.
	Summary     *Summary        `json:"summary,omitempty"`
	Sensitivity []OpSensitivity `json:"sensitivity,omitempty"`
	// Wall times of the stages, in seconds.
	CalibrateSeconds float64 `json:"calibrate_seconds,omitempty"`
	SearchSeconds    float64 `json:"search_seconds,omitempty"`
	QuantizeSeconds  float64 `json:"quantize_seconds,omitempty"`
	CompareSeconds   float64 `json:"compare_seconds,omitempty"`
}

// OutputQuantiles returns the smallest, 10th-percentile, median and
// largest per-input output SQNR (all +Inf without inputs).
func (r *Report) OutputQuantiles() [4]DB {
	if len(r.PerInput) == 0 {
		inf := DB(math.Inf(1))
		return [4]DB{inf, inf, inf, inf}
	}
	v := make([]float64, len(r.PerInput))
	for i, e := range r.PerInput {
		v[i] = float64(e.SQNR)
	}
	sort.Float64s(v)
	at := func(q float64) DB { return DB(v[int(q*float64(len(v)-1)+0.5)]) }
	return [4]DB{DB(v[0]), at(0.1), at(0.5), DB(v[len(v)-1])}
}

// JSON returns the report as indented JSON.
func (r *Report) JSON() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}

// Markdown renders the report as Markdown tables.
func (r *Report) Markdown() string {
	var b bytes.Buffer
	r.WriteMarkdown(&b)
	return b.String()
}

// WriteMarkdown writes the Markdown rendering of the report to w.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	title := r.Mode
	if r.Estimator != "" {
		title += ", " + r.Estimator
		if r.Estimator == Percentile.String() && r.Percentile > 0 {
			title += fmt.Sprintf(" %g", r.Percentile)
		}
	}
	fmt.Fprintf(&b, "# Quantization report (%s)\n\n", title)
	fmt.Fprintf(&b, "| model | bytes | of float |\n|---|---:|---:|\n")
	fmt.Fprintf(&b, "| float32 | %d | 100.0 %% |\n", r.FloatBytes)
	fmt.Fprintf(&b, "| %s | %d | %.1f %% |\n\n", r.Mode, r.QuantBytes, 100*r.SizeRatio)
	if r.CalibrationInputs > 0 {
		fmt.Fprintf(&b, "Calibrated on %d inputs", r.CalibrationInputs)
		if r.CalibrateSeconds > 0 {
			fmt.Fprintf(&b, " in %.1f s", r.CalibrateSeconds)
		}
		b.WriteString(". ")
	}
	if r.SearchSeconds > 0 {
		fmt.Fprintf(&b, "Sensitivity search: %.1f s. ", r.SearchSeconds)
	}
	if r.Inputs > 0 {
		fmt.Fprintf(&b, "Compared on %d inputs.", r.Inputs)
	}
	if len(r.CalibrationDropped) > 0 {
		fmt.Fprintf(&b, " %d calibration inputs left out as outliers (the float model's activations on them are far above the typical input's).", len(r.CalibrationDropped))
	}
	if len(r.CalibrationSkipped)+len(r.Skipped) > 0 {
		fmt.Fprintf(&b, " Left out because the float model's outputs are not finite on them: %d calibration and %d comparison inputs.", len(r.CalibrationSkipped), len(r.Skipped))
	}
	b.WriteString("\n\n")
	if s := r.Summary; s != nil {
		if s.Int8Ops > 0 || s.FloatOps > 0 {
			fmt.Fprintf(&b, "Ops: %d int8, %d float32", s.Int8Ops, s.FloatOps)
			if len(s.Float) > 0 {
				by := map[string]int{}
				for _, f := range s.Float {
					by[f.Op]++
				}
				keys := make([]string, 0, len(by))
				for k := range by {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				parts := make([]string, len(keys))
				for i, k := range keys {
					parts[i] = fmt.Sprintf("%s %d", k, by[k])
				}
				fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
			}
			fmt.Fprintf(&b, "; %d QUANTIZE/DEQUANTIZE added.\n\n", s.Added)
		} else if s.Added > 0 {
			fmt.Fprintf(&b, "%d constants stored as %s, each read through a DEQUANTIZE.\n\n", s.Added, r.Mode)
		}
		if len(s.ConstsKept) > 0 {
			fmt.Fprintf(&b, "Constants kept float32 (float16 cannot hold them): %s.\n\n", strings.Join(s.ConstsKept, ", "))
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "Note: %s.\n\n", n)
		}
	}
	table := func(title string, es []TensorError) {
		if len(es) == 0 {
			return
		}
		fmt.Fprintf(&b, "## %s\n\n| op | # | tensor | type | SQNR dB | max abs err | rms |\n|---|---:|---|---|---:|---:|---:|\n", title)
		for _, e := range es {
			fmt.Fprintf(&b, "| %s | %d | `%s` | %s | %s | %.3g | %.3g |\n", e.Op, e.OpIndex, e.Name, e.Type, e.SQNR, e.MaxAbsErr, e.RMS)
		}
		b.WriteString("\n")
	}
	table("Outputs", r.Outputs)
	if len(r.PerInput) > 1 {
		q := r.OutputQuantiles()
		fmt.Fprintf(&b, "Output SQNR per input: worst %s dB, 10th percentile %s dB, median %s dB, best %s dB.\n\n", q[0], q[1], q[2], q[3])
	}
	table(fmt.Sprintf("%d worst layers", len(r.Worst)), r.Worst)
	if s := r.Summary; s != nil && len(s.Float) > 0 {
		fmt.Fprintf(&b, "## Ops kept float32\n\n| # | op | name | why |\n|---:|---|---|---|\n")
		for _, f := range s.Float {
			fmt.Fprintf(&b, "| %d | %s | `%s` | %s |\n", f.Index, f.Op, f.Name, f.Reason)
		}
		b.WriteString("\n")
	}
	if len(r.Sensitivity) > 0 {
		n := min(len(r.Sensitivity), 2*WorstLayers)
		fmt.Fprintf(&b, "## Sensitivity (output SQNR with one op in int8; %d most sensitive of %d)\n\n| # | op | name | SQNR dB |\n|---:|---|---|---:|\n", n, len(r.Sensitivity))
		for _, s := range r.Sensitivity[:n] {
			fmt.Fprintf(&b, "| %d | %s | `%s` | %s |\n", s.Index, s.Op, s.Name, s.SQNR)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
