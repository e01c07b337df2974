// Command edgecheck measures package quant on a trained LSMS export: it
// builds the text and vision graphs from the weights, calibrates on CT
// slices of a synthetic set (16-bit PNGs of HU+offset, windowed to
// [-160, 240] HU and resized as the model's preprocessing says, word
// features from the float text graph on the set's token ids; train split),
// quantizes to int8, fp16 and dynamic, compares each with the float model
// on held-out slices (val split), times our interpreter on both (1 thread,
// with a per-op-type profile), and runs the int8 graphs in LiteRT: the
// whole model on a few inputs, and every op alone on the inputs our
// interpreter computed for it:
//
//	go run ./quant/internal/edgecheck -weights /tmp/edge/lsms.safetensors -data data/refct \
//	    -size 160 -T 48 -calib 200 -eval 60 -drop 0.15 -evalmax 100 -out /tmp/qe
//
// -drop leaves out that fraction of calibration inputs as outliers
// (Options.DropOutliers); -evalmax keeps only evaluation slices on which
// the float vision graph's logits stay below that magnitude (a model that
// blows up on some inputs would otherwise dominate the pooled SQNR);
// -autofloat, -float and -estimator set the other options. The models and
// the reports (Markdown and JSON) go to -out. For measurements only: the
// weights and data are not part of the repository's tests.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lsms-edge/lsms/internal/litert"
	"github.com/lsms-edge/lsms/model"
	"github.com/lsms-edge/lsms/model/lsms"
	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/quant"
	"github.com/lsms-edge/lsms/quant/internal/litecheck"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
)

type record struct {
	Image     string `json:"image"`
	Split     string `json:"split"`
	HUOffset  int    `json:"hu_offset"`
	CaseIndex int    `json:"case_index"`
}

type tokens struct {
	Record int     `json:"record"`
	Level  string  `json:"level"`
	IDs    []int32 `json:"ids"`
	Mask   []int32 `json:"attention_mask"`
}

type sample struct {
	rec record
	tok tokens
}

func main() {
	weights := flag.String("weights", "", "lsms.safetensors")
	data := flag.String("data", "data/refct", "synthetic CT set (manifest.jsonl, tokens.jsonl)")
	size := flag.Int("size", 160, "input size S")
	T := flag.Int("T", 48, "token count")
	nCal := flag.Int("calib", 200, "calibration inputs (train split)")
	nEval := flag.Int("eval", 50, "evaluation inputs (val split)")
	nLite := flag.Int("litert", 4, "inputs to run through LiteRT")
	est := flag.String("estimator", "minmax", "minmax, percentile[:P], mse")
	autoFloat := flag.Int("autofloat", 0, "sensitivity search: keep this many ops float32")
	search := flag.Int("search-inputs", 4, "inputs per candidate of the sensitivity search")
	drop := flag.Float64("drop", 0, "fraction of calibration inputs to drop as outliers")
	evalMax := flag.Float64("evalmax", 0, "keep only evaluation inputs on which the float vision graph's max |logit| is below this (0: all)")
	floatOps := flag.String("float", "", "comma-separated float ops")
	bench := flag.Int("bench", 20, "invokes to time per model")
	out := flag.String("out", "/tmp/qe", "output folder")
	only := flag.String("only", "text,vision", "graphs to measure")
	modes := flag.String("modes", "int8,fp16,dynamic", "modes to measure")
	flag.Parse()
	if *weights == "" {
		log.Fatal("-weights is required")
	}
	e, pct, err := quant.ParseEstimator(*est)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	w, err := safetensors.Open(*weights)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	cfg, err := lsms.ConfigFromWeights(w)
	if err != nil {
		log.Fatal(err)
	}
	cal, eval := loadSamples(*data, *T, *nCal, *nEval)
	log.Printf("%d calibration and %d evaluation samples", len(cal), len(eval))

	text, err := lsms.BuildText(w, cfg, *T)
	if err != nil {
		log.Fatal(err)
	}
	vision, err := lsms.BuildVision(w, cfg, *size, *T)
	if err != nil {
		log.Fatal(err)
	}
	textIn := func(ss []sample) quant.Dataset {
		return func(i int) (map[string]any, error) {
			return map[string]any{"ids": ss[i].tok.IDs, "mask": maskOf(ss[i].tok)}, nil
		}
	}
	// Word features from the float text graph.
	tit, err := interp.New(text, interp.Options{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	words := func(s sample) []float32 {
		if err := tit.SetInput(0, s.tok.IDs); err != nil {
			log.Fatal(err)
		}
		if err := tit.SetInput(1, maskOf(s.tok)); err != nil {
			log.Fatal(err)
		}
		if err := tit.Invoke(); err != nil {
			log.Fatal(err)
		}
		v := make([]float32, *T*cfg.TextDim)
		if err := tit.Output(0, v); err != nil {
			log.Fatal(err)
		}
		return v
	}
	visionIn := func(ss []sample) quant.Dataset {
		cache := map[int]map[string]any{}
		return func(i int) (map[string]any, error) {
			if c, ok := cache[i]; ok {
				return c, nil
			}
			img, err := loadImage(filepath.Join(*data, ss[i].rec.Image), ss[i].rec.HUOffset, *size)
			if err != nil {
				return nil, err
			}
			c := map[string]any{"image": img, "words": words(ss[i]), "mask": maskOf(ss[i].tok)}
			cache[i] = c
			return c, nil
		}
	}
	if *evalMax > 0 {
		vd := visionIn(eval)
		it, err := interp.New(vision, interp.Options{Threads: 1})
		if err != nil {
			log.Fatal(err)
		}
		var kept []sample
		for i := range eval {
			in, err := vd(i)
			if err != nil {
				log.Fatal(err)
			}
			for name, v := range in {
				k, _ := it.InputIndex(name)
				if err := it.SetInput(k, v); err != nil {
					log.Fatal(err)
				}
			}
			if err := it.Invoke(); err != nil {
				log.Fatal(err)
			}
			o := make([]float32, it.OutputTensor(0).NumElements())
			if err := it.Output(0, o); err != nil {
				log.Fatal(err)
			}
			m := 0.0
			for _, v := range o {
				m = max(m, math.Abs(float64(v)))
			}
			if m < *evalMax {
				kept = append(kept, eval[i])
			}
		}
		it.Close()
		log.Printf("evaluation: %d of %d inputs have max |logit| < %g (float vision graph)", len(kept), len(eval), *evalMax)
		eval = kept
	}
	var fl []string
	if *floatOps != "" {
		fl = strings.Split(*floatOps, ",")
	}
	for _, g := range []struct {
		name  string
		m     *tflite.Model
		calib quant.Dataset
		eval  quant.Dataset
	}{
		{"text", text, textIn(cal), textIn(eval)},
		{"vision", vision, visionIn(cal), visionIn(eval)},
	} {
		if !strings.Contains(*only, g.name) {
			continue
		}
		log.Printf("== %s", g.name)
		save(g.m, filepath.Join(*out, g.name+"_float.tflite"))
		var lastStage string
		progress := func(stage string, done, total int) {
			if stage != lastStage || done == total || done%50 == 0 {
				log.Printf("   %s %d/%d", stage, done, total)
			}
			lastStage = stage
		}
		for _, ms := range strings.Split(*modes, ",") {
			mode, err := quant.ParseMode(ms)
			if err != nil {
				log.Fatal(err)
			}
			opts := quant.Options{Mode: mode, DropOutliers: *drop, Estimator: e, Percentile: pct, FloatOps: fl, AutoFloat: *autoFloat, SearchInputs: *search, Threads: 1, Progress: progress}
			q, rep, err := quant.Convert(g.m, quant.Inputs{Data: g.calib, N: len(cal)}, quant.Inputs{Data: g.eval, N: len(eval)}, opts)
			if err != nil {
				log.Fatalf("%s %v: %v", g.name, mode, err)
			}
			base := filepath.Join(*out, g.name+"_"+mode.String())
			save(q, base+".tflite")
			js, _ := rep.JSON()
			if err := os.WriteFile(base+".json", js, 0o644); err != nil {
				log.Fatal(err)
			}
			if err := os.WriteFile(base+".md", []byte(rep.Markdown()), 0o644); err != nil {
				log.Fatal(err)
			}
			fmt.Printf("\n### %s %v\n\n", g.name, mode)
			fmt.Printf("size float %d, %v %d (%.1f %%); calibrate %.1f s, search %.1f s, compare %.1f s\n", rep.FloatBytes, mode, rep.QuantBytes, 100*rep.SizeRatio, rep.CalibrateSeconds, rep.SearchSeconds, rep.CompareSeconds)
			for _, o := range rep.Outputs {
				fmt.Printf("output %s: SQNR %v dB, max abs err %.4g (rms %.4g)\n", o.Name, o.SQNR, o.MaxAbsErr, o.RMS)
			}
			oq := rep.OutputQuantiles()
			fmt.Printf("output SQNR per input: worst %v, p10 %v, median %v, best %v dB\n", oq[0], oq[1], oq[2], oq[3])
			if mode == quant.Int8 {
				fmt.Print(rep.Markdown())
				ft := timeModel(g.m, g.eval, *bench)
				qt := timeModel(q, g.eval, *bench)
				fmt.Printf("our runtime, 1 thread, median of %d: float %.2f ms, int8 %.2f ms\n", *bench, ft, qt)
				if *bench > 0 {
					profile(g.m, g.eval, *bench)
					profile(q, g.eval, *bench)
				}
				liteCheck(q, g.eval, *nLite)
				if g.name == "vision" {
					seg(g.m, q, g.eval, len(eval))
				}
			} else {
				qt := timeModel(q, g.eval, *bench)
				fmt.Printf("our runtime, 1 thread, median of %d: %v %.2f ms\n", *bench, mode, qt)
			}
		}
	}
}

func save(m *tflite.Model, path string) {
	if err := m.WriteFile(path); err != nil {
		log.Fatal(err)
	}
}

func maskOf(t tokens) []float32 {
	m := make([]float32, len(t.Mask))
	for i, v := range t.Mask {
		m[i] = float32(v)
	}
	return m
}

func loadSamples(dir string, T, nCal, nEval int) (cal, eval []sample) {
	var recs []record
	readLines(filepath.Join(dir, "manifest.jsonl"), func(b []byte) {
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			log.Fatal(err)
		}
		recs = append(recs, r)
	})
	byRec := map[int][]tokens{}
	readLines(filepath.Join(dir, "tokens.jsonl"), func(b []byte) {
		var t tokens
		if err := json.Unmarshal(b, &t); err != nil {
			log.Fatal(err)
		}
		if len(t.IDs) != T {
			log.Fatalf("tokens.jsonl has %d ids per record, -T is %d", len(t.IDs), T)
		}
		if t.Level != "none" {
			byRec[t.Record] = append(byRec[t.Record], t)
		}
	})
	// Spread the picks over the split: every k-th record.
	pick := func(split string, n int) []sample {
		var idx []int
		for i, r := range recs {
			if r.Split == split && len(byRec[i]) > 0 {
				idx = append(idx, i)
			}
		}
		if n > len(idx) {
			n = len(idx)
		}
		var out []sample
		for k := range n {
			i := idx[k*len(idx)/n]
			ts := byRec[i]
			out = append(out, sample{rec: recs[i], tok: ts[k%len(ts)]})
		}
		return out
	}
	return pick("train", nCal), pick("val", nEval)
}

func readLines(path string, f func([]byte)) {
	fh, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
}

// loadImage reads a 16-bit PNG of HU+offset, windows HU −160..240 to
// [0,1] and resizes to size×size.
func loadImage(path string, offset, size int) ([]float32, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	g, ok := img.(*image.Gray16)
	if !ok {
		return nil, fmt.Errorf("%s: %T, want 16-bit grey", path, img)
	}
	b := g.Bounds()
	rows, cols := b.Dy(), b.Dx()
	x := make([]float32, rows*cols)
	for y := range rows {
		for c := range cols {
			hu := float32(int(g.Gray16At(b.Min.X+c, b.Min.Y+y).Y) - offset)
			x[y*cols+c] = float32(math.Min(1, math.Max(0, float64((hu+160)/400))))
		}
	}
	out := make([]float32, size*size)
	model.ResizeBilinear(x, rows, cols, out, size, size)
	return out, nil
}

// timeModel returns the median invoke time in ms with 1 thread.
func timeModel(m *tflite.Model, data quant.Dataset, n int) float64 {
	if n <= 0 {
		return math.NaN()
	}
	it, err := interp.New(m, interp.Options{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer it.Close()
	in, err := data(0)
	if err != nil {
		log.Fatal(err)
	}
	for name, v := range in {
		k, _ := it.InputIndex(name)
		if err := it.SetInput(k, v); err != nil {
			log.Fatal(err)
		}
	}
	if err := it.Invoke(); err != nil {
		log.Fatal(err)
	}
	var ds []float64
	for range n {
		t0 := time.Now()
		if err := it.Invoke(); err != nil {
			log.Fatal(err)
		}
		ds = append(ds, float64(time.Since(t0).Microseconds())/1000)
	}
	sort.Float64s(ds)
	return ds[len(ds)/2]
}

// liteCheck runs the int8 model on n inputs in LiteRT and with our
// interpreter and compares the outputs in units of the int8 scale before
// each output's DEQUANTIZE; then every op alone on the first input.
func liteCheck(q *tflite.Model, data quant.Dataset, n int) {
	if n <= 0 {
		return
	}
	if err := litert.Available(); err != nil {
		fmt.Printf("LiteRT unavailable: %v\n", err)
		return
	}
	var ss []map[string]any
	for i := range n {
		in, err := data(i)
		if err != nil {
			log.Fatal(err)
		}
		ss = append(ss, in)
	}
	ag, err := litecheck.Outputs(q, ss)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("LiteRT vs ours, whole int8 model, %d inputs: %v\n", n, ag)
	ops, err := litecheck.PerOp(q, ss[0])
	if err != nil {
		log.Fatal(err)
	}
	bad := 0
	for _, o := range ops {
		if !o.Within(0.01, 1e-5) {
			bad++
			fmt.Printf("  op %d %s %q alone: %v\n", o.Index, o.Op, o.Name, o.Agreement)
		}
	}
	byOp := map[string]*litecheck.Agreement{}
	for _, o := range ops {
		if o.Off1 > 0 {
			if byOp[o.Op] == nil {
				byOp[o.Op] = &litecheck.Agreement{}
			}
			a := byOp[o.Op]
			a.Elems += o.Elems
			a.Off1 += o.Off1
			a.MaxUnits = max(a.MaxUnits, o.MaxUnits)
		}
	}
	fmt.Printf("LiteRT vs ours, each of %d ops alone on our inputs to it: %v; %d ops beyond 1 unit / 1 %%\n", len(ops), litecheck.Total(ops), bad)
	for op, a := range byOp {
		fmt.Printf("  ops with differences: %s: %d of %d elements\n", op, a.Off1, a.Elems)
	}
}

// profile prints our interpreter's time per op type (1 thread).
func profile(m *tflite.Model, data quant.Dataset, n int) {
	it, err := interp.New(m, interp.Options{Threads: 1, Profile: true})
	if err != nil {
		log.Fatal(err)
	}
	defer it.Close()
	in, err := data(0)
	if err != nil {
		log.Fatal(err)
	}
	for name, v := range in {
		k, _ := it.InputIndex(name)
		if err := it.SetInput(k, v); err != nil {
			log.Fatal(err)
		}
	}
	if err := it.Invoke(); err != nil {
		log.Fatal(err)
	}
	it.ResetProfile()
	for range n {
		if err := it.Invoke(); err != nil {
			log.Fatal(err)
		}
	}
	by := map[string]time.Duration{}
	var total time.Duration
	for _, p := range it.Profile() {
		by[p.Op] += p.Total
		total += p.Total
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return by[keys[i]] > by[keys[j]] })
	var parts []string
	for _, k := range keys[:min(8, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(by[k].Microseconds())/1000/float64(n)))
	}
	fmt.Printf("  per invoke (ms): total %.2f; %s\n", float64(total.Microseconds())/1000/float64(n), strings.Join(parts, ", "))
}

// seg reports how often float and int8 agree on the foreground mask
// (logit > 0) and the Dice of the two masks, over n inputs.
func seg(f, q *tflite.Model, data quant.Dataset, n int) {
	fi, err := interp.New(f, interp.Options{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer fi.Close()
	qi, err := interp.New(q, interp.Options{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer qi.Close()
	agree, total := 0, 0
	inter, sum := 0, 0
	for i := range n {
		in, err := data(i)
		if err != nil {
			log.Fatal(err)
		}
		var outs [2][]float32
		for k, it := range []*interp.Interpreter{fi, qi} {
			for name, v := range in {
				x, _ := it.InputIndex(name)
				if err := it.SetInput(x, v); err != nil {
					log.Fatal(err)
				}
			}
			if err := it.Invoke(); err != nil {
				log.Fatal(err)
			}
			outs[k] = make([]float32, it.OutputTensor(0).NumElements())
			if err := it.Output(0, outs[k]); err != nil {
				log.Fatal(err)
			}
		}
		for j := range outs[0] {
			a, b := outs[0][j] > 0, outs[1][j] > 0
			total++
			if a == b {
				agree++
			}
			if a && b {
				inter++
			}
			if a {
				sum++
			}
			if b {
				sum++
			}
		}
	}
	dice := 1.0
	if sum > 0 {
		dice = 2 * float64(inter) / float64(sum)
	}
	fmt.Printf("float vs int8 masks (logit > 0) over %d inputs: %.4f %% of pixels agree, Dice %.4f\n", n, 100*float64(agree)/float64(total), dice)
}
