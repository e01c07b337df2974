package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/internal/benchstat"
	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/model/bundle"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// benchConvModel writes a float32 or int8 graph: float input [1,h,w,c] →
// (QUANTIZE) → CONV_2D 3×3 c→c, RELU → (DEQUANTIZE) → MEAN over H,W →
// SOFTMAX. The int8 graph has per-channel int8 weights and int32 biases.
func benchConvModel(t *testing.T, path, dt string, h, w, c int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	const inScale, outScale = float32(1.0 / 255), float32(4.0 / 255)
	b := tflite.NewBuilder("main")
	x := b.Input("image", tflite.Float32, []int{1, h, w, c}, nil)
	wf := make([]float32, c*9*c)
	for i := range wf {
		wf[i] = float32(rng.NormFloat64() * 0.2)
	}
	bf := make([]float32, c)
	conv := []int{1, h, w, c}
	var y int
	opts := &schema.Conv2DOptionsT{Padding: schema.PaddingSAME, StrideH: 1, StrideW: 1, DilationHFactor: 1, DilationWFactor: 1, FusedActivationFunction: schema.ActivationFunctionTypeRELU}
	if dt == "int8" {
		xq := b.Tensor("image_q", tflite.Int8, conv, &tflite.Quantization{Scale: []float32{inScale}, ZeroPoint: []int64{-128}})
		b.Op(schema.BuiltinOperatorQUANTIZE, nil, []int{x}, xq)
		scales := make([]float32, c)
		for i, v := range wf {
			scales[i/(9*c)] = max(scales[i/(9*c)], float32(math.Abs(float64(v)))/127)
		}
		wq := make([]int8, len(wf))
		for i, v := range wf {
			wq[i] = int8(math.Round(float64(v / scales[i/(9*c)])))
		}
		bScales := make([]float32, c)
		for i := range bScales {
			bScales[i] = inScale * scales[i]
		}
		wt := b.Const("conv/weights", tflite.Int8, []int{c, 3, 3, c}, wq, &tflite.Quantization{Scale: scales, ZeroPoint: make([]int64, c)})
		bt := b.Const("conv/bias", tflite.Int32, []int{c}, make([]int32, c), &tflite.Quantization{Scale: bScales, ZeroPoint: make([]int64, c)})
		yq := b.Tensor("conv_q", tflite.Int8, conv, &tflite.Quantization{Scale: []float32{outScale}, ZeroPoint: []int64{-128}})
		b.Op(schema.BuiltinOperatorCONV_2D, opts, []int{xq, wt, bt}, yq)
		y = b.Tensor("conv", tflite.Float32, conv, nil)
		b.Op(schema.BuiltinOperatorDEQUANTIZE, nil, []int{yq}, y)
	} else {
		wt := b.Const("conv/weights", tflite.Float32, []int{c, 3, 3, c}, wf, nil)
		bt := b.Const("conv/bias", tflite.Float32, []int{c}, bf, nil)
		y = b.Tensor("conv", tflite.Float32, conv, nil)
		b.Op(schema.BuiltinOperatorCONV_2D, opts, []int{x, wt, bt}, y)
	}
	axes := b.Const("pool/axes", tflite.Int32, []int{2}, []int32{1, 2}, nil)
	p := b.Tensor("pool", tflite.Float32, []int{1, c}, nil)
	b.Op(schema.BuiltinOperatorMEAN, &schema.ReducerOptionsT{}, []int{y, axes}, p)
	s := b.Tensor("probs", tflite.Float32, []int{1, c}, nil)
	b.Op(schema.BuiltinOperatorSOFTMAX, &schema.SoftmaxOptionsT{Beta: 1}, []int{p}, s)
	b.Output(s)
	if err := b.Model().WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

// benchTextModel writes a text-encoder-like graph: ids INT32 [1,T] index a
// [vocab,8] embedding (GATHER fails on an index outside the table), times
// mask FLOAT32 [1,T,1]... reshaped: words = GATHER(table, ids) * mask.
func benchTextModel(t *testing.T, path string, vocab, T int) {
	t.Helper()
	b := tflite.NewBuilder("main")
	ids := b.Input("ids", tflite.Int32, []int{1, T}, nil)
	mask := b.Input("mask", tflite.Float32, []int{1, T}, nil)
	table := make([]float32, vocab*8)
	for i := range table {
		table[i] = float32(i%7) * 0.1
	}
	tt := b.Const("embed", tflite.Float32, []int{vocab, 8}, table, nil)
	g := b.Tensor("gathered", tflite.Float32, []int{1, T, 8}, nil)
	b.Op(schema.BuiltinOperatorGATHER, &schema.GatherOptionsT{Axis: 0}, []int{tt, ids}, g)
	shape := b.Const("shape", tflite.Int32, []int{3}, []int32{1, int32(T), 1}, nil)
	m3 := b.Tensor("mask3", tflite.Float32, []int{1, T, 1}, nil)
	b.Op(schema.BuiltinOperatorRESHAPE, &schema.ReshapeOptionsT{NewShape: []int32{1, int32(T), 1}}, []int{mask, shape}, m3)
	words := b.Tensor("words", tflite.Float32, []int{1, T, 8}, nil)
	b.Op(schema.BuiltinOperatorMUL, &schema.MulOptionsT{}, []int{g, m3}, words)
	b.Output(words)
	if err := b.Model().WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

// benchRun runs the CLI in process.
func benchRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"bench"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// benchJSON is the part of the JSON output the tests read.
type benchJSON struct {
	Schema       string  `json:"schema"`
	Runs         int     `json:"runs"`
	MinSeconds   float64 `json:"min_seconds"`
	PeakRSSBytes *int64  `json:"peak_rss_bytes"`
	Results      []struct {
		Side, Role, Model, Backend string
		Threads                    int
		Inputs                     []struct{ Name, DType, Source string }
		Init                       struct {
			LoadMS    float64 `json:"load_ms"`
			PrepareMS float64 `json:"prepare_ms"`
			TotalMS   float64 `json:"total_ms"`
		}
		FirstInferenceMS float64           `json:"first_inference_ms"`
		Warmup           benchstat.Summary `json:"warmup"`
		Latency          benchstat.Summary `json:"latency"`
		ArenaBytes       *int64            `json:"arena_bytes"`
		Profile          *struct {
			Invocations int                 `json:"invocations"`
			TotalMS     float64             `json:"total_ms"`
			RunOrder    []benchstat.OpRow   `json:"run_order"`
			Top         []benchstat.OpRow   `json:"top"`
			ByType      []benchstat.TypeRow `json:"by_type"`
		}
	}
	AB []struct {
		Role     string
		A, B     int
		RatioP50 float64 `json:"ratio_p50"`
		Faster   string
		Speedup  float64
	}
}

func decodeBench(t *testing.T, s string) benchJSON {
	t.Helper()
	var r benchJSON
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("--json printed more than one value:\n%s", s)
	}
	if r.Schema != benchSchema {
		t.Errorf("schema %q", r.Schema)
	}
	return r
}

func checkSummary(t *testing.T, what string, s benchstat.Summary, n int) {
	t.Helper()
	if s.N != n {
		t.Errorf("%s: n = %d, want %d", what, s.N, n)
	}
	if !(0 <= s.Min && s.Min <= s.P50 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.Max && s.Min <= s.Mean && s.Mean <= s.Max && s.Stddev >= 0) {
		t.Errorf("%s: inconsistent summary %+v", what, s)
	}
}

func TestBenchTables(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "conv.tflite")
	benchConvModel(t, m, "float32", 8, 8, 4)
	code, out, errs := benchRun(t, m, "--runs", "5", "--warmup", "2", "--profile", "--top", "2")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"== " + m + ", 2 warm-up + 5 runs ==",
		"backend native, 1 thread",
		"inputs: image float32 [1,8,8,4] (random)",
		"init: load ", "first inference ",
		"arena: ",
		"latency (ms):",
		"operators in run order (mean of 5 invocations):",
		"top 2 operators by time:",
		"time by operator type:",
		"CONV_2D", "MEAN", "SOFTMAX",
		"sum of operator means",
		"peak RSS: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 9 {
			rows[f[0]] = f[1]
		}
	}
	if rows["warm-up"] != "2" || rows["measured"] != "5" {
		t.Errorf("latency table rows: warm-up n %q, measured n %q", rows["warm-up"], rows["measured"])
	}
	t.Logf("\n%s", out)
}

func TestBenchJSON(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "conv.tflite")
	benchConvModel(t, m, "float32", 8, 8, 4)
	code, out, errs := benchRun(t, m, "--runs", "7", "--warmup", "3", "--profile", "--top", "2", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := decodeBench(t, out)
	if r.Runs != 7 || len(r.Results) != 1 || len(r.AB) != 0 {
		t.Fatalf("runs %d, %d results, %d ab", r.Runs, len(r.Results), len(r.AB))
	}
	g := r.Results[0]
	checkSummary(t, "latency", g.Latency, 7)
	checkSummary(t, "warmup", g.Warmup, 3)
	if g.Model != m || g.Backend != "native" || g.Threads != 1 || g.Side != "" {
		t.Errorf("result header %+v", g)
	}
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "image" || g.Inputs[0].DType != "float32" || g.Inputs[0].Source != "random" {
		t.Errorf("inputs %+v", g.Inputs)
	}
	if g.Init.LoadMS < 0 || g.Init.PrepareMS < 0 || math.Abs(g.Init.TotalMS-g.Init.LoadMS-g.Init.PrepareMS) > 1e-3 || g.FirstInferenceMS <= 0 {
		t.Errorf("init %+v, first %g", g.Init, g.FirstInferenceMS)
	}
	if g.ArenaBytes == nil || *g.ArenaBytes <= 0 {
		t.Errorf("arena_bytes %v", g.ArenaBytes)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && (r.PeakRSSBytes == nil || *r.PeakRSSBytes <= 0) {
		t.Errorf("peak_rss_bytes %v", r.PeakRSSBytes)
	}
	p := g.Profile
	if p == nil {
		t.Fatal("no profile")
	}
	if p.Invocations != 7 || len(p.RunOrder) != 3 || len(p.Top) != 2 || len(p.ByType) != 3 {
		t.Fatalf("profile: %d invocations, %d ops, top %d, %d types", p.Invocations, len(p.RunOrder), len(p.Top), len(p.ByType))
	}
	sum := 0.0
	for i, o := range p.RunOrder {
		if o.Index != i {
			t.Errorf("run order %d has index %d", i, o.Index)
		}
		sum += o.AvgMS
	}
	if math.Abs(sum-p.TotalMS) > 1e-9 || math.Abs(p.RunOrder[2].CdfPct-100) > 1e-6 {
		t.Errorf("op means sum to %g, total_ms %g, cdf ends at %g", sum, p.TotalMS, p.RunOrder[2].CdfPct)
	}
	// Every operator is timed inside the run it belongs to, over the same
	// runs: the op means cannot exceed the mean run (JSON keeps full
	// precision; allow for rounding to whole nanoseconds).
	mean := benchstat.MS(g.Latency.Mean)
	if !(sum > 0 && sum <= mean+1e-5) {
		t.Errorf("op means sum to %g ms, mean run %g ms", sum, mean)
	}
	if p.Top[0].AvgMS < p.Top[1].AvgMS {
		t.Errorf("top not by time: %+v", p.Top)
	}
}

func TestBenchABFloatInt8(t *testing.T) {
	dir := t.TempDir()
	f32, i8 := filepath.Join(dir, "f32.tflite"), filepath.Join(dir, "int8.tflite")
	benchConvModel(t, f32, "float32", 16, 16, 8)
	benchConvModel(t, i8, "int8", 16, 16, 8)
	code, out, errs := benchRun(t, f32, "--ab", i8, "--runs", "6", "--warmup", "1", "--json", "--profile")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := decodeBench(t, out)
	if len(r.Results) != 2 || len(r.AB) != 1 {
		t.Fatalf("%d results, %d ab", len(r.Results), len(r.AB))
	}
	a, b := r.Results[0], r.Results[1]
	if a.Side != "A" || b.Side != "B" || a.Model != f32 || b.Model != i8 {
		t.Errorf("sides %q %s, %q %s", a.Side, a.Model, b.Side, b.Model)
	}
	checkSummary(t, "A", a.Latency, 6)
	checkSummary(t, "B", b.Latency, 6)
	ab := r.AB[0]
	want := float64(b.Latency.P50) / float64(a.Latency.P50)
	if ab.A != 0 || ab.B != 1 || math.Abs(ab.RatioP50-want) > 1e-9*want || ab.RatioP50 <= 0 {
		t.Errorf("ab %+v, want ratio %g", ab, want)
	}
	if ab.Faster != "A" && ab.Faster != "B" && ab.Faster != "neither" {
		t.Errorf("faster %q", ab.Faster)
	}
	if b.Profile == nil || b.Profile.RunOrder[0].Type != "QUANTIZE" {
		t.Errorf("B's profile should start with QUANTIZE: %+v", b.Profile)
	}

	code, out, errs = benchRun(t, f32, "--ab", i8, "--runs", "4", "--warmup", "0")
	if code != exitOK {
		t.Fatalf("text: exit %d: %s", code, errs)
	}
	for _, want := range []string{"== A/B, interleaved ABAB..., 0 warm-up + 4 runs each ==", "A: " + f32, "B: " + i8, "A measured", "B measured", "ratio of medians B/A = "} {
		if !strings.Contains(out, want) {
			t.Errorf("A/B output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("\n%s", out)
}

func TestBenchABThreadsSameModel(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "conv.tflite")
	benchConvModel(t, m, "float32", 8, 8, 4)
	code, out, errs := benchRun(t, m, "--ab-threads", "2", "--runs", "3", "--warmup", "0", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := decodeBench(t, out)
	if len(r.AB) != 1 || r.Results[0].Threads != 1 || r.Results[1].Threads != 2 || r.Results[1].Model != m {
		t.Errorf("ab %+v results %+v", r.AB, r.Results)
	}
}

func TestBenchIntAndMaskInputs(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "text.tflite")
	// A 10-entry table: random ids must stay below 10 or GATHER fails.
	benchTextModel(t, m, 10, 48)
	code, out, errs := benchRun(t, m, "--runs", "3", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := decodeBench(t, out)
	in := r.Results[0].Inputs
	if len(in) != 2 || in[0].Name != "ids" || in[0].DType != "int32" || in[0].Source != "random" || in[1].Name != "mask" || in[1].Source != "ones" {
		t.Errorf("inputs %+v", in)
	}

	// An --input file replaces the random data; the file's shape is checked.
	ids := filepath.Join(dir, "ids.npy")
	a, _ := npy.New(make([]int32, 48), 1, 48)
	if err := npy.WriteFile(ids, a); err != nil {
		t.Fatal(err)
	}
	code, out, errs = benchRun(t, m, "--runs", "2", "--input", "ids="+ids, "--json")
	if code != exitOK {
		t.Fatalf("--input: exit %d: %s", code, errs)
	}
	if r := decodeBench(t, out); r.Results[0].Inputs[0].Source != ids {
		t.Errorf("ids source %q, want %s", r.Results[0].Inputs[0].Source, ids)
	}
	// Ids past the table: the graph fails at Invoke, and bench says so.
	big := filepath.Join(dir, "big.npy")
	bad := make([]int32, 48)
	bad[3] = 50
	a, _ = npy.New(bad, 1, 48)
	npy.WriteFile(big, a)
	code, _, errs = benchRun(t, m, "--runs", "2", "--input", "0="+big)
	if code != exitFailure || !strings.Contains(errs, "out of range") {
		t.Errorf("ids out of range: exit %d, %s", code, errs)
	}
}

// benchBundle writes a bundle with a text and a vision graph.
func benchBundle(t *testing.T, dir string, h int) {
	t.Helper()
	tmp := t.TempDir()
	text, vision := filepath.Join(tmp, "text.tflite"), filepath.Join(tmp, "vision.tflite")
	benchTextModel(t, text, 30, 8)
	benchConvModel(t, vision, "float32", h, h, 4)
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	man := bundle.Manifest{Format: bundle.Format, Name: "bench-test", Precision: "float32", Model: json.RawMessage(`{}`),
		InputSize: h, Preprocess: bundle.Preprocess{HUWindow: [2]float64{-100, 200}}, Tokenizer: bundle.Tokenizer{Vocab: "vocab.txt", T: 8}, Threshold: 0.5}
	_, err := bundle.Write(dir, man, []bundle.Content{
		{Role: bundle.RoleText, Path: "lsms_text.tflite", Data: read(text)},
		{Role: bundle.RoleVision, Path: "lsms_vision.tflite", Data: read(vision)},
		{Role: bundle.RoleVocab, Path: "vocab.txt", Data: []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\nliver\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBenchBundle(t *testing.T) {
	dir := t.TempDir()
	b1, b2 := filepath.Join(dir, "b1"), filepath.Join(dir, "b2")
	benchBundle(t, b1, 8)
	benchBundle(t, b2, 12)
	code, out, errs := benchRun(t, b1, "--runs", "3", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := decodeBench(t, out)
	if len(r.Results) != 2 || r.Results[0].Role != "text" || r.Results[1].Role != "vision" ||
		filepath.Base(r.Results[1].Model) != "lsms_vision.tflite" {
		t.Fatalf("results %+v", r.Results)
	}
	// A/B of two bundles pairs the graphs by role.
	code, out, errs = benchRun(t, b1, "--ab", b2, "--runs", "3", "--json")
	if code != exitOK {
		t.Fatalf("A/B: exit %d: %s", code, errs)
	}
	r = decodeBench(t, out)
	if len(r.AB) != 2 || r.AB[0].Role != "text" || r.AB[1].Role != "vision" || r.Results[r.AB[1].B].Model != filepath.Join(b2, "lsms_vision.tflite") {
		t.Errorf("ab %+v", r.AB)
	}
	// Text output labels each graph with its role.
	code, out, errs = benchRun(t, b1, "--runs", "2", "--profile")
	if code != exitOK || !strings.Contains(out, "[text]") || !strings.Contains(out, "[vision]") || !strings.Contains(out, "operator profile: vision") {
		t.Errorf("exit %d, %s\n%s", code, errs, out)
	}
	if code, _, errs := benchRun(t, b1, "--signature", "text"); code != exitUsage || !strings.Contains(errs, "--signature applies to a .tflite file") {
		t.Errorf("--signature with a bundle: exit %d, %s", code, errs)
	}
	// A tampered bundle is refused by model/bundle.
	os.WriteFile(filepath.Join(b2, "lsms_text.tflite"), []byte("junk"), 0o644)
	if code, _, errs := benchRun(t, b2); code != exitFailure || !strings.Contains(errs, "lsms_text.tflite") {
		t.Errorf("tampered bundle: exit %d, %s", code, errs)
	}
}

func TestBenchCSV(t *testing.T) {
	dir := t.TempDir()
	f32, i8 := filepath.Join(dir, "f32.tflite"), filepath.Join(dir, "int8.tflite")
	benchConvModel(t, f32, "float32", 8, 8, 4)
	benchConvModel(t, i8, "int8", 8, 8, 4)
	file := filepath.Join(dir, "ops.csv")
	code, _, errs := benchRun(t, f32, "--ab", i8, "--runs", "3", "--csv", file)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Header, 3 float ops, 5 int8 ops (QUANTIZE and DEQUANTIZE added).
	if len(rows) != 1+3+5 || strings.Join(rows[0], ",") != "side,role,model,index,op,name,invocations,avg_ms,pct,cdf_pct" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	if rows[1][0] != "A" || rows[1][4] != "CONV_2D" || rows[4][0] != "B" || rows[4][4] != "QUANTIZE" || rows[1][6] != "3" {
		t.Errorf("rows %v", rows)
	}
}

func TestBenchMinSeconds(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "conv.tflite")
	benchConvModel(t, m, "float32", 4, 4, 2)
	code, out, errs := benchRun(t, m, "--min-seconds", "0.02", "--warmup", "0", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := decodeBench(t, out)
	if r.Runs != 0 || r.MinSeconds != 0.02 || r.Results[0].Latency.N < 1 {
		t.Errorf("runs %d, min_seconds %g, n %d", r.Runs, r.MinSeconds, r.Results[0].Latency.N)
	}
	checkSummary(t, "latency", r.Results[0].Latency, r.Results[0].Latency.N)
}

func TestBenchErrors(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "conv.tflite")
	benchConvModel(t, m, "float32", 4, 4, 2)
	data, _ := os.ReadFile(m)
	trunc := filepath.Join(dir, "trunc.tflite")
	os.WriteFile(trunc, data[:len(data)/2], 0o644)
	npyFile := filepath.Join(dir, "x.npy")
	a, _ := npy.New(make([]float32, 3), 3)
	npy.WriteFile(npyFile, a)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	missing := filepath.Join(dir, "missing.tflite")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "want a MODEL.tflite or bundle directory"},
		{[]string{m, "--runs", "0"}, exitUsage, "--runs 0"},
		{[]string{m, "--warmup", "-1"}, exitUsage, "--warmup -1"},
		{[]string{m, "--runs", "5", "--min-seconds", "1"}, exitUsage, "exclude each other"},
		{[]string{m, "--min-seconds", "-1"}, exitUsage, "--min-seconds -1"},
		{[]string{m, "--threads", "0"}, exitUsage, "--threads 0"},
		{[]string{m, "--ab-threads", "0"}, exitUsage, "--ab-threads 0"},
		{[]string{m, "--top", "0"}, exitUsage, "--top 0"},
		{[]string{m, "--frobnicate"}, exitUsage, "unknown flag: --frobnicate"},
		{[]string{m, "--runs", "many"}, exitUsage, "invalid argument"},
		{[]string{m, m, "--ab", m}, exitUsage, "an A/B run takes one MODEL"},
		{[]string{m, "--input", "image"}, exitUsage, "want NAME=FILE.npy"},
		{[]string{missing}, exitFailure, "missing.tflite: no such file or directory"},
		{[]string{m, "--ab", missing}, exitFailure, "--ab: model " + missing},
		{[]string{empty}, exitFailure, "not a model bundle"},
		{[]string{trunc}, exitFailure, "invalid tflite model"},
		{[]string{m, "--backend", "gpu"}, exitFailure, `no such backend "gpu"`},
		{[]string{m, "--ab-backend", "gpu"}, exitFailure, `no such backend "gpu"`},
		{[]string{m, "--input", "nope=" + npyFile}, exitFailure, `no graph benchmarked has an input "nope"`},
		{[]string{m, "--input", "image=" + npyFile}, exitFailure, "has shape [3]"},
		{[]string{m, "--input", "image=" + filepath.Join(dir, "no.npy")}, exitFailure, "no.npy"},
		{[]string{m, "--csv", filepath.Join(dir, "no", "such", "dir", "x.csv"), "--runs", "1"}, exitFailure, "--csv"},
	}
	for _, c := range cases {
		code, _, errs := benchRun(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d containing %q", c.args, code, errs, c.code, c.want)
		}
		if code == exitUsage && c.args != nil && !strings.Contains(c.want, "flag") && !strings.Contains(c.want, "invalid argument") && !strings.Contains(errs, "usage: lsms bench") {
			t.Errorf("%v: usage error without usage line: %q", c.args, errs)
		}
	}
}

func TestBenchHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "--help"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"usage: lsms bench", "--runs", "--min-seconds", "--ab", "--json", "--csv", "example:", "lsms bench float.tflite --ab int8.tflite", "exit status"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

// --e2e times the shipped bundle on real files (16-bit PNG samples and a
// DICOM CT) stage by stage; every stage has one sample per run, and the
// stages add up to no more than the total.
func TestBenchE2E(t *testing.T) {
	bundleDir := filepath.Join("..", "..", "models", "lsms-synth-f32")
	pngs, _ := filepath.Glob(filepath.Join("..", "..", "samples", "images", "*.png"))
	if len(pngs) < 2 {
		t.Fatalf("samples: %d PNG slices", len(pngs))
	}
	ct := filepath.Join("..", "..", "device", "dicom", "testdata", "CT_small.dcm")
	code, out, errs := benchRun(t, bundleDir, "--runs", "4", "--warmup", "0", "--json",
		"--e2e", pngs[0], "--e2e", pngs[1], "--e2e", ct, "--expr", "the larger cyst in segment VI")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Stages []struct {
			Name string  `json:"name"`
			N    int     `json:"n"`
			Mean float64 `json:"mean_ms"`
		} `json:"stages"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := append(append([]string(nil), e2eStages...), "total")
	if len(r.Stages) != len(want) {
		t.Fatalf("stages %+v, want %v", r.Stages, want)
	}
	sum := 0.0
	for i, s := range r.Stages {
		if s.Name != want[i] || s.N != 4 {
			t.Errorf("stage %d: %+v, want %s with 4 samples", i, s, want[i])
		}
		if i < len(want)-1 {
			sum += s.Mean
		}
	}
	if tot := r.Stages[len(want)-1].Mean; tot <= 0 || sum > tot*1.001 {
		t.Errorf("stages sum to %g ms, total %g ms", sum, tot)
	}
	// Text output has the end-to-end table; --e2e needs one bundle.
	code, out, errs = benchRun(t, bundleDir, "--runs", "2", "--warmup", "0", "--e2e", pngs[0])
	if code != exitOK || !strings.Contains(out, "end to end per slice (ms):") || !strings.Contains(out, "read+decode") {
		t.Errorf("exit %d, %s\n%s", code, errs, out)
	}
	if code, _, errs := benchRun(t, bundleDir, "--expr", "x"); code != exitUsage || !strings.Contains(errs, "--e2e") {
		t.Errorf("--expr without --e2e: exit %d, %s", code, errs)
	}
	if code, _, errs := benchRun(t, bundleDir, "--e2e", "/nonexistent.dcm"); code != exitFailure || !strings.Contains(errs, "nonexistent") {
		t.Errorf("missing --e2e file: exit %d, %s", code, errs)
	}
}
