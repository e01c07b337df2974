package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Meta describes the run.
type Meta struct {
	Config       string `json:"config"`
	Ckpt         string `json:"ckpt,omitempty"`
	T            int    `json:"T"`
	Seed         int    `json:"seed"`
	Threads      int    `json:"threads"`
	Runs         int    `json:"runs"`
	Warmup       int    `json:"warmup"`
	GOMAXPROCS   int    `json:"gomaxprocs"`
	CPU          string `json:"cpu"`
	Load         string `json:"loadavg_start"`
	LoadEnd      string `json:"loadavg_end"`
	Dir          string `json:"dir"`
	Start        string `json:"start"`
	LiteRT       string `json:"litert,omitempty"`
	ORTVersion   string `json:"onnxruntime,omitempty"`
	TorchVersion string `json:"pytorch,omitempty"`
}

// Row is one runtime, data type and size.
type Row struct {
	Size     int       `json:"size"`
	Runtime  string    `json:"runtime"` // ours, litert, onnxruntime, pytorch
	DType    string    `json:"dtype"`
	Threads  int       `json:"threads"`
	TimesMS  []float64 `json:"times_ms,omitempty"`
	MedianMS float64   `json:"median_ms,omitempty"`
	MinMS    float64   `json:"min_ms,omitempty"`
	// VsORT is MedianMS over ONNX Runtime float32's at the same size,
	// VsLiteRTInt8 over LiteRT int8's (0: not available).
	VsORT        float64 `json:"vs_onnxruntime_fp32,omitempty"`
	VsLiteRTInt8 float64 `json:"vs_litert_int8,omitempty"`
	// RelDiff is max|out − PyTorch| / max|PyTorch| (for PyTorch: its own
	// run against the saved logits).
	RelDiff float64 `json:"rel_diff_vs_pytorch"`
	HasDiff bool    `json:"has_diff"`
	Note    string  `json:"note,omitempty"`
	Err     string  `json:"error,omitempty"`
	// Profile (ours, with -profile): op type and share of one forward,
	// largest first.
	Profile []OpShare `json:"profile,omitempty"`
}

// OpShare is one op type's time in a profiled forward.
type OpShare struct {
	Op    string  `json:"op"`
	MS    float64 `json:"ms"`
	Share float64 `json:"share"`
}

// Check is one acceptance ratio of the issue at the largest size.
type Check struct {
	What  string  `json:"what"`
	Ratio float64 `json:"ratio"`
	Limit float64 `json:"limit"`
	Met   bool    `json:"met"`
}

// Report is what -json prints.
type Report struct {
	Meta   Meta    `json:"meta"`
	Rows   []Row   `json:"rows"`
	Checks []Check `json:"checks"`
}

func (r *Row) setTimes(ms []float64) {
	if len(ms) == 0 {
		return
	}
	r.TimesMS = ms
	r.MedianMS = median(ms)
	r.MinMS = slices.Min(ms)
}

func (r *Row) setDiff(out, want []float32) {
	if len(out) != len(want) {
		r.Note = strings.TrimSpace(r.Note + fmt.Sprintf(" output has %d values, PyTorch %d", len(out), len(want)))
		return
	}
	d := 0.0
	for i := range out {
		e := math.Abs(float64(out[i]) - float64(want[i]))
		if math.IsNaN(e) {
			e = math.Inf(1)
		}
		d = math.Max(d, e)
	}
	r.RelDiff = d / maxAbs(want)
	r.HasDiff = true
}

// median of v (the mean of the middle two for an even count).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// finish sorts the rows, fills the ratios and the acceptance checks.
func (rep *Report) finish() {
	order := map[string]int{"ours": 0, "onnxruntime": 1, "pytorch": 2, "litert": 3}
	slices.SortStableFunc(rep.Rows, func(a, b Row) int {
		if a.Size != b.Size {
			return b.Size - a.Size
		}
		if order[a.Runtime] != order[b.Runtime] {
			return order[a.Runtime] - order[b.Runtime]
		}
		return strings.Compare(a.DType, b.DType)
	})
	find := func(size int, rt, dt string) float64 {
		for _, r := range rep.Rows {
			if r.Size == size && r.Runtime == rt && r.DType == dt && r.Err == "" {
				return r.MedianMS
			}
		}
		return 0
	}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.Err != "" || r.MedianMS == 0 {
			continue
		}
		if o := find(r.Size, "onnxruntime", "float32"); o > 0 {
			r.VsORT = r.MedianMS / o
		}
		if l := find(r.Size, "litert", "int8"); l > 0 {
			r.VsLiteRTInt8 = r.MedianMS / l
		}
	}
	if len(rep.Rows) == 0 {
		return
	}
	size := rep.Rows[0].Size // largest
	add := func(what string, num, den float64, limit float64) {
		if num > 0 && den > 0 {
			rep.Checks = append(rep.Checks, Check{What: fmt.Sprintf("%s at %d×%d", what, size, size), Ratio: num / den, Limit: limit, Met: num/den <= limit})
		}
	}
	oursI8, oursF := find(size, "ours", "int8"), find(size, "ours", "float32")
	ort, litI8 := find(size, "onnxruntime", "float32"), find(size, "litert", "int8")
	add("ours int8 / ONNX Runtime float32", oursI8, ort, 1.0)
	add("ours int8 / LiteRT int8", oursI8, litI8, 0.5)
	add("ours float32 / ONNX Runtime float32", oursF, ort, 1.5)
}

func printReport(w io.Writer, rep *Report) {
	m := rep.Meta
	src := fmt.Sprintf("random %s weights (seed %d)", m.Config, m.Seed)
	if m.Ckpt != "" {
		src = m.Ckpt
	}
	fmt.Fprintf(w, "LSMS vision forward, batch 1, T=%d, %s; %d thread(s) per runtime; median of %d runs after %d warm-up\n",
		m.T, src, m.Threads, m.Runs, m.Warmup)
	fmt.Fprintf(w, "CPU %s, GOMAXPROCS %d; load average %s at start, %s at end\n", m.CPU, m.GOMAXPROCS, m.Load, m.LoadEnd)
	fmt.Fprintf(w, "ONNX Runtime %s (onnxruntime-node, CPU EP); PyTorch %s (eager); LiteRT.js %s\n",
		orNA(m.ORTVersion), orNA(m.TorchVersion), orNA(m.LiteRT))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\truntime\tdtype\tthreads\tmedian ms\tmin ms\t× ORT fp32\t× LiteRT int8\tmax|Δ| vs PyTorch\t")
	for _, r := range rep.Rows {
		if r.Err != "" {
			fmt.Fprintf(tw, "%d\t%s\t%s\t\t\t\t\t\t\t  error: %s\n", r.Size, r.Runtime, r.DType, firstLine(r.Err))
			continue
		}
		diff := "-"
		if r.HasDiff {
			diff = fmt.Sprintf("%.1e", r.RelDiff)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%.2f\t%.2f\t%s\t%s\t%s\t\n", r.Size, r.Runtime, r.DType, r.Threads,
			r.MedianMS, r.MinMS, ratio(r.VsORT), ratio(r.VsLiteRTInt8), diff)
	}
	tw.Flush()
	fmt.Fprintln(w, "max|Δ|: largest difference from PyTorch's float32 logits over their largest magnitude (PyTorch: run to run).")
	for _, r := range rep.Rows {
		if r.Runtime == "ours" && r.DType == "int8" && r.Note != "" {
			fmt.Fprintf(w, "ours int8 %d: %s\n", r.Size, r.Note)
		}
	}
	for _, r := range rep.Rows {
		if len(r.Profile) == 0 {
			continue
		}
		var parts []string
		for _, p := range r.Profile {
			if p.Share >= 0.005 {
				parts = append(parts, fmt.Sprintf("%s %.1f ms (%.0f%%)", p.Op, p.MS, 100*p.Share))
			}
		}
		fmt.Fprintf(w, "profile ours %s %d: %s\n", r.DType, r.Size, strings.Join(parts, ", "))
	}
	for _, c := range rep.Checks {
		verdict := "met"
		if !c.Met {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "acceptance: %s = %.2f (≤ %.2f) %s\n", c.What, c.Ratio, c.Limit, verdict)
	}
}

func ratio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
