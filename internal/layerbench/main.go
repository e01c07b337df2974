// Command layerbench times single-operator graphs at LSMS layer shapes in
// this repository's interpreter (runtime/interp) and in LiteRT.js (the
// official TFLite runtime in WebAssembly, XNNPACK inside, driven by
// internal/litert), checks that both compute the same outputs, and prints
// a table:
//
//	go run ./internal/layerbench [-threads 1] [-runs 20] [-warmup 3] [-json]
//
// Layers: CONV_2D 1×1 and 3×3 and DEPTHWISE_CONV_2D 5×5, 1×21 and 21×1 on
// 1×120×120×32, 1×60×60×64 and 1×15×15×256 (SAME, stride 1, as many output
// channels as input), FULLY_CONNECTED [3600,64]×[256,64]ᵀ and BATCH_MATMUL
// [1,3600,64]×[1,64,20] (constant right-hand side), each in float32 and
// int8. An int8 graph is float input → QUANTIZE → operator (per-channel
// int8 weights, int32 bias) → DEQUANTIZE, so both sides' int8 times include
// a QUANTIZE and a DEQUANTIZE; the quant+dequant rows time just those.
//
// Each side's time is the median of -runs timed runs after -warmup untimed
// ones, with the input set beforehand: Interpreter.Invoke for ours, the
// compiled model's run call inside Node for LiteRT (all cases in one Node
// process). Under Node 20 LiteRT.js loads its compat wasm build (no
// relaxed SIMD) with one thread; the header says what ran.
//
// Outputs must agree: float32 within 1e-4 × max|LiteRT|, int8 (compared
// after DEQUANTIZE, in units of the output scale) within one unit. An
// operator our interpreter does not support yet shows "unsupported"; a
// mismatch shows in the check column and makes the exit status 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lsms-edge/lsms/internal/benchstat"
	"github.com/lsms-edge/lsms/internal/litert"
	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/runtime/kernels"
	"github.com/lsms-edge/lsms/tflite"
)

const (
	floatRelTol = 1e-4
	int8MaxUnit = 1
)

type config struct {
	threads, runs, warmup int
	jsonOut, smoke        bool
	filter                *regexp.Regexp
	timeout               time.Duration
}

// Row is one line of the report.
type Row struct {
	Layer string `json:"layer"`
	Op    string `json:"op"`
	DType string `json:"dtype"`
	MACs  int64  `json:"macs"`
	// Ours is "ok", "unsupported" or "error"; OursMs is its median.
	Ours      string  `json:"ours"`
	OursErr   string  `json:"ours_error,omitempty"`
	OursMs    float64 `json:"ours_ms,omitempty"`
	LiteRT    string  `json:"litert"`
	LiteRTErr string  `json:"litert_error,omitempty"`
	LiteRTMs  float64 `json:"litert_ms,omitempty"`
	// Ratio is OursMs / LiteRTMs.
	Ratio   float64 `json:"ratio,omitempty"`
	OursGOP float64 `json:"ours_gops,omitempty"`
	// Check is "ok", "mismatch" or "" (not compared); Diff is the largest
	// difference: relative to max|LiteRT| for float32, in output units for int8.
	Check    string  `json:"check,omitempty"`
	Diff     float64 `json:"diff"`
	OffByOne float64 `json:"int8_off_by_one_frac,omitempty"`
}

// Meta describes the run.
type Meta struct {
	OursThreads   int    `json:"ours_threads"`
	GOMAXPROCS    int    `json:"gomaxprocs"`
	Runs          int    `json:"runs"`
	Warmup        int    `json:"warmup"`
	CPU           string `json:"cpu"`
	LiteRTVersion string `json:"litert_version"`
	LiteRTVariant string `json:"litert_variant"`
	LiteRTThreads int    `json:"litert_threads"`
	LiteRTNote    string `json:"litert_note,omitempty"`
}

// Report is what -json prints.
type Report struct {
	Meta Meta  `json:"meta"`
	Rows []Row `json:"rows"`
}

func main() {
	var cfg config
	var filter string
	flag.IntVar(&cfg.threads, "threads", 1, "threads for our interpreter")
	flag.IntVar(&cfg.runs, "runs", 20, "timed runs per layer and runtime (median reported)")
	flag.IntVar(&cfg.warmup, "warmup", 3, "untimed runs before the timed ones")
	flag.BoolVar(&cfg.jsonOut, "json", false, "print JSON instead of a table")
	flag.BoolVar(&cfg.smoke, "smoke", false, "also run ADD, MUL and SOFTMAX graphs (harness check)")
	flag.StringVar(&filter, "filter", "", "only layers whose \"name dtype\" matches this regexp")
	flag.DurationVar(&cfg.timeout, "timeout", 30*time.Minute, "limit for the LiteRT batch")
	flag.Parse()
	if cfg.runs < 1 || cfg.warmup < 0 || cfg.threads < 1 {
		fmt.Fprintln(os.Stderr, "layerbench: -runs and -threads must be >= 1, -warmup >= 0")
		os.Exit(2)
	}
	if filter != "" {
		re, err := regexp.Compile(filter)
		if err != nil {
			fmt.Fprintln(os.Stderr, "layerbench: -filter:", err)
			os.Exit(2)
		}
		cfg.filter = re
	}
	rep, err := bench(cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "layerbench:", err)
		os.Exit(1)
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printTable(os.Stdout, rep)
	}
	for _, r := range rep.Rows {
		if r.Check == "mismatch" {
			os.Exit(1)
		}
	}
}

func selectLayers(cfg config) []*layer {
	var ls []*layer
	for _, l := range layers(cfg.smoke) {
		if cfg.filter == nil || cfg.filter.MatchString(l.Name+" "+l.DType) {
			ls = append(ls, l)
		}
	}
	return ls
}

// bench runs the selected layers in our interpreter, then all of them in
// one LiteRT batch, and compares. Progress goes to logw.
func bench(cfg config, logw io.Writer) (*Report, error) {
	ls := selectLayers(cfg)
	if len(ls) == 0 {
		return nil, errors.New("no layers selected")
	}
	rep := &Report{Meta: Meta{
		OursThreads: cfg.threads, GOMAXPROCS: runtime.GOMAXPROCS(0), Runs: cfg.runs, Warmup: cfg.warmup,
		CPU: benchstat.CPUName(), LiteRTVersion: litertVersion(),
	}}
	rows := make([]Row, len(ls))
	ours := make([][]float32, len(ls))
	data := make([][]byte, len(ls))
	for i, l := range ls {
		rows[i] = Row{Layer: l.Name, Op: l.Op, DType: l.DType, MACs: l.MACs}
		b, err := l.model.Marshal()
		if err != nil {
			return nil, fmt.Errorf("%s %s: marshal: %w", l.Name, l.DType, err)
		}
		data[i] = b
		m, err := tflite.Read(b)
		if err != nil {
			return nil, fmt.Errorf("%s %s: read back: %w", l.Name, l.DType, err)
		}
		fmt.Fprintf(logw, "ours   %-24s %-7s ", l.Name, l.DType)
		ms, out, err := runOurs(m, l.in, cfg)
		switch {
		case err == nil:
			rows[i].Ours, rows[i].OursMs, ours[i] = "ok", ms, out
			if l.MACs > 0 {
				rows[i].OursGOP = 2 * float64(l.MACs) / (ms * 1e6)
			}
			fmt.Fprintf(logw, "%9.3f ms\n", ms)
		case errors.Is(err, kernels.ErrUnsupported):
			rows[i].Ours, rows[i].OursErr = "unsupported", err.Error()
			fmt.Fprintln(logw, "unsupported")
		default:
			rows[i].Ours, rows[i].OursErr = "error", err.Error()
			fmt.Fprintln(logw, "error:", err)
		}
	}

	if err := litert.Available(); err != nil {
		rep.Meta.LiteRTNote = "LiteRT harness unavailable: " + err.Error()
		for i := range rows {
			rows[i].LiteRT = "n/a"
		}
		rep.Rows = rows
		return rep, nil
	}
	cases := make([]litert.Case, len(ls))
	for i, l := range ls {
		cases[i] = litert.Case{
			Model:  data[i],
			Inputs: []*npy.Array{{DType: "float32", Shape: l.shape, Data: l.in}},
			// The low-level path times compiledModel.run alone, inputs
			// already in wasm memory: the counterpart of Invoke.
			API:    "lowlevel",
			Warmup: cfg.warmup,
			Repeat: cfg.runs,
		}
	}
	fmt.Fprintf(logw, "LiteRT: %d layers in one Node process...\n", len(cases))
	timeout := cfg.timeout
	if timeout <= 0 {
		timeout = litert.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := litert.RunContext(ctx, cases)
	if err != nil {
		return nil, err
	}
	for i, r := range res {
		row := &rows[i]
		if r.Err != nil {
			row.LiteRT, row.LiteRTErr = "error", r.Err.Error()
			continue
		}
		row.LiteRT = "ok"
		row.LiteRTMs = median(r.RunTimes)
		if rep.Meta.LiteRTVariant == "" {
			rep.Meta.LiteRTVariant, rep.Meta.LiteRTThreads = r.Variant, r.Threads
		}
		if row.Ours == "ok" {
			row.Ratio = row.OursMs / row.LiteRTMs
			compare(row, ours[i], r.Outputs, ls[i].outScale)
		}
	}
	rep.Rows = rows
	return rep, nil
}

// runOurs prepares an interpreter, sets the input, runs warm-up and timed
// Invokes and returns the median in milliseconds and the output.
func runOurs(m *tflite.Model, in []float32, cfg config) (ms float64, out []float32, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	it, err := interp.New(m, interp.Options{Threads: cfg.threads})
	if err != nil {
		return 0, nil, err
	}
	defer it.Close()
	if err := it.SetInput(0, in); err != nil {
		return 0, nil, err
	}
	for range cfg.warmup {
		if err := it.Invoke(); err != nil {
			return 0, nil, err
		}
	}
	runtime.GC()
	times := make([]time.Duration, cfg.runs)
	for k := range times {
		t0 := time.Now()
		if err := it.Invoke(); err != nil {
			return 0, nil, err
		}
		times[k] = time.Since(t0)
	}
	out = make([]float32, it.OutputTensor(0).NumElements())
	if err := it.Output(0, out); err != nil {
		return 0, nil, err
	}
	return median(times), out, nil
}

// median in milliseconds.
func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return float64(m) / float64(time.Millisecond)
}

// compare fills row.Check and row.Diff from our output and LiteRT's.
func compare(row *Row, ours []float32, ref []*npy.Array, scale float32) {
	row.Check = "mismatch"
	if len(ref) != 1 {
		row.LiteRTErr = fmt.Sprintf("LiteRT gave %d outputs", len(ref))
		return
	}
	r, ok := ref[0].Data.([]float32)
	if !ok || len(r) != len(ours) {
		row.LiteRTErr = fmt.Sprintf("LiteRT output is %s%v, ours has %d float32 elements", ref[0].DType, ref[0].Shape, len(ours))
		return
	}
	if scale > 0 {
		worst, off := 0.0, 0
		for j := range r {
			d := math.Abs(float64(ours[j])-float64(r[j])) / float64(scale)
			if math.IsNaN(d) {
				d = math.Inf(1)
			}
			worst = max(worst, d)
			if d > 0.5 {
				off++
			}
		}
		row.Diff = math.Round(worst)
		row.OffByOne = float64(off) / float64(len(r))
		if worst <= int8MaxUnit+0.5 {
			row.Check = "ok"
		}
		return
	}
	maxRef, maxErr := 0.0, 0.0
	for j := range r {
		maxRef = max(maxRef, math.Abs(float64(r[j])))
		e := math.Abs(float64(ours[j]) - float64(r[j]))
		if math.IsNaN(e) {
			e = math.Inf(1)
		}
		maxErr = max(maxErr, e)
	}
	row.Diff = maxErr / max(maxRef, 1e-30)
	if maxErr <= floatRelTol*maxRef {
		row.Check = "ok"
	}
}

func printTable(w io.Writer, rep *Report) {
	m := rep.Meta
	lv := m.LiteRTVersion
	if lv == "" {
		lv = "?"
	}
	fmt.Fprintf(w, "ours: runtime/interp, threads=%d, GOMAXPROCS=%d; LiteRT.js %s: %s, %d thread(s); CPU %s\n",
		m.OursThreads, m.GOMAXPROCS, lv, orDash(m.LiteRTVariant), m.LiteRTThreads, orDash(m.CPU))
	fmt.Fprintf(w, "median of %d runs after %d warm-up each\n", m.Runs, m.Warmup)
	if m.LiteRTNote != "" {
		fmt.Fprintln(w, m.LiteRTNote)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tdtype\tMACs\tours ms\tLiteRT ms\tours/LiteRT\tours GOP/s\tcheck\t")
	for _, r := range rep.Rows {
		macs := "-"
		if r.MACs > 0 {
			macs = fmt.Sprintf("%.1fM", float64(r.MACs)/1e6)
		}
		oursMs := r.Ours
		if r.Ours == "ok" {
			oursMs = fmt.Sprintf("%.3f", r.OursMs)
		}
		lrtMs := r.LiteRT
		if r.LiteRT == "ok" {
			lrtMs = fmt.Sprintf("%.3f", r.LiteRTMs)
		}
		ratio, gops := "-", "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		if r.OursGOP > 0 {
			gops = fmt.Sprintf("%.2f", r.OursGOP)
		}
		check := "-"
		switch {
		case r.Check == "" && r.LiteRTErr != "":
			check = "LiteRT failed"
		case r.Check == "":
		case r.DType == "int8":
			check = fmt.Sprintf("%s (max %.0fu, %.2f%% off by 1)", strings.ToUpper(r.Check), r.Diff, 100*r.OffByOne)
		default:
			check = fmt.Sprintf("%s (rel %.1e)", strings.ToUpper(r.Check), r.Diff)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Layer, r.DType, macs, oursMs, lrtMs, ratio, gops, check)
	}
	tw.Flush()
	fmt.Fprintln(w, "int8 rows include a QUANTIZE of the input and a DEQUANTIZE of the output on both sides (quant+dequant rows time that alone).")
	fmt.Fprintln(w, "ours: Interpreter.Invoke; LiteRT: compiledModel.run in Node (inputs already in wasm memory). GOP/s = 2×MACs/time.")
	for _, r := range rep.Rows {
		if r.Ours == "error" || r.LiteRT == "error" || r.LiteRTErr != "" {
			fmt.Fprintf(w, "%s %s: ours: %s; LiteRT: %s\n", r.Layer, r.DType, orDash(firstLine(r.OursErr)), orDash(firstLine(r.LiteRTErr)))
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func litertVersion() string {
	root, err := litert.RepoRoot()
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(root + "/tools/litert/node_modules/@litertjs/core/package.json")
	if err != nil {
		return ""
	}
	var pkg struct {
		Version string `json:"version"`
	}
	json.Unmarshal(b, &pkg)
	return pkg.Version
}
