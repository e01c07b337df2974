package main

// `lsms bench`: TFLite benchmark_model's measurements (init and first
// inference time, warm-up, runs or minimum seconds, threads, backend, per-op
// profile in run order / top K / by op type, arena bytes and peak RSS) plus
// latency percentiles, interleaved A/B runs with the ratio of medians, and
// JSON/CSV output. The JSON schema is benchReport's doc comment.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/internal/benchstat"
	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/model/bundle"
	"github.com/lsms-edge/lsms/runtime/backend"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tflite/schema"
)

// benchSchema names the JSON format.
const benchSchema = "lsms-bench/v1"

// maxTimedRuns caps the runs of a --min-seconds measurement.
const maxTimedRuns = 1_000_000

// randomIntCap bounds random integer inputs: [0, randomIntCap), or below the
// size of the table when the input indexes one (GATHER, EMBEDDING_LOOKUP).
const randomIntCap = 100

type benchConfig struct {
	sig        string
	inputs     []string
	warmup     int
	runs       int
	minSeconds float64
	threads    int
	backend    string
	profile    bool
	top        int
	abModel    string
	abBackend  string
	abThreads  int
	asJSON     bool
	csvPath    string
	seed       uint64
	e2e        []string // slice files or folders for the end-to-end run
	expr       string
	e2eCached  bool
}

func (c *benchConfig) ab() bool { return c.abModel != "" || c.abBackend != "" || c.abThreads != 0 }

func init() {
	register(&command{
		name:    "bench",
		summary: "benchmark models: init, latency percentiles, per-op profile, memory, A/B",
		usage:   "MODEL.tflite|BUNDLE_DIR ... [--runs N | --min-seconds S] [--profile] [--ab OTHER | --ab-backend B | --ab-threads N] [--json] [--csv FILE] [flags]",
		example: "lsms bench models/demo/demo_f32.tflite --runs 100 --profile --top 5\n" +
			"lsms bench float.tflite --ab int8.tflite --runs 200 --json > ab.json\n" +
			"lsms bench models/lsms --threads 4 --profile --csv ops.csv\n" +
			"lsms bench models/lsms-synth-f32 --e2e samples/images --expr \"the larger cyst in segment VI\"\n" +
			"exit status: 0 ok, 1 the benchmark failed (unreadable model, bad input file, ...), 2 bad flags or arguments",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			c := &benchConfig{}
			fs.StringVar(&c.sig, "signature", "", "signature def key (default: subgraph 0); .tflite files only")
			fs.StringArrayVar(&c.inputs, "input", nil, "input as NAME=FILE.npy (tensor or signature name) or INDEX=FILE.npy; repeat per input; others get seeded random data (mask-like inputs: ones)")
			fs.IntVar(&c.warmup, "warmup", 5, "warm-up runs after the first inference, not measured")
			fs.IntVar(&c.runs, "runs", 50, "measured runs")
			fs.Float64Var(&c.minSeconds, "min-seconds", 0, fmt.Sprintf("measure for at least this many seconds instead of --runs (at most %d runs)", maxTimedRuns))
			fs.IntVar(&c.threads, "threads", 1, "kernel threads")
			fs.StringVar(&c.backend, "backend", "native", "backend: "+strings.Join(backend.Names(), ", "))
			fs.BoolVar(&c.profile, "profile", false, "per-operator profile (adds a clock read per operator to the measured runs)")
			fs.IntVar(&c.top, "top", 10, "operators listed in the top-by-time table")
			fs.StringVar(&c.abModel, "ab", "", "A/B: compare MODEL (A) with this model or bundle (B), runs interleaved ABAB...")
			fs.StringVar(&c.abBackend, "ab-backend", "", "A/B: B uses this backend")
			fs.IntVar(&c.abThreads, "ab-threads", 0, "A/B: B uses this many threads")
			fs.BoolVar(&c.asJSON, "json", false, "print one JSON object (schema lsms-bench/v1) instead of tables")
			fs.StringVar(&c.csvPath, "csv", "", "write per-operator rows to this CSV file (implies --profile)")
			fs.Uint64Var(&c.seed, "seed", 1, "seed of the random inputs")
			fs.StringArrayVar(&c.e2e, "e2e", nil, "end to end per slice (bundle only): DICOM or 16-bit PNG slice files or folders, read, decoded, tokenized, segmented and post-processed each run; repeatable")
			fs.StringVar(&c.expr, "expr", "the largest lesion", "with --e2e: the referring expression")
			fs.BoolVar(&c.e2eCached, "e2e-cached", false, "with --e2e: keep the expression's word features between slices (a series) instead of tokenizing and running the text graph per slice")
			return func(args []string, stdout, stderr io.Writer) error {
				if err := c.check(fs, args); err != nil {
					return err
				}
				return benchMain(args, c, stdout, stderr)
			}
		},
	})
}

// check validates flags and arguments; every problem is a usage error.
func (c *benchConfig) check(fs *pflag.FlagSet, args []string) error {
	switch {
	case len(args) == 0:
		return usagef("want a MODEL.tflite or bundle directory")
	case c.warmup < 0:
		return usagef("--warmup %d: want ≥ 0", c.warmup)
	case fs.Changed("runs") && fs.Changed("min-seconds"):
		return usagef("--runs and --min-seconds exclude each other")
	case c.runs < 1:
		return usagef("--runs %d: want ≥ 1", c.runs)
	case c.minSeconds < 0 || math.IsNaN(c.minSeconds) || math.IsInf(c.minSeconds, 0):
		return usagef("--min-seconds %g: want a finite number ≥ 0", c.minSeconds)
	case c.threads < 1:
		return usagef("--threads %d: want ≥ 1", c.threads)
	case fs.Changed("ab-threads") && c.abThreads < 1:
		return usagef("--ab-threads %d: want ≥ 1", c.abThreads)
	case c.top < 1:
		return usagef("--top %d: want ≥ 1", c.top)
	case c.ab() && len(args) != 1:
		return usagef("an A/B run takes one MODEL (A), got %d", len(args))
	case len(c.e2e) > 0 && (len(args) != 1 || c.ab()):
		return usagef("--e2e takes one bundle and no A/B flags")
	case fs.Changed("expr") && len(c.e2e) == 0, fs.Changed("e2e-cached") && len(c.e2e) == 0:
		return usagef("--expr and --e2e-cached apply to an --e2e run")
	}
	if c.minSeconds > 0 {
		c.runs = 0
	}
	for _, spec := range c.inputs {
		if name, file, ok := strings.Cut(spec, "="); !ok || name == "" || file == "" {
			return usagef("--input %q: want NAME=FILE.npy", spec)
		}
	}
	if c.csvPath != "" {
		c.profile = true
	}
	return nil
}

// benchTarget is one graph to benchmark.
type benchTarget struct {
	// Role is the graph's role in a bundle ("text", "vision"), or "".
	Role      string
	Path      string
	Signature string
}

// resolveTargets turns a MODEL argument into the graphs to benchmark: a
// .tflite file is one graph; a bundle directory (with manifest.json, see
// model/bundle) is its text and vision graphs, or, if it has only a combined
// file, that file's "text" and "vision" signatures.
// The end-to-end per-slice run (--e2e) is benchE2E.
func resolveTargets(arg, sig string) ([]benchTarget, error) {
	st, err := os.Stat(arg)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("model %s: %w", arg, err)
	}
	if !st.IsDir() {
		return []benchTarget{{Path: arg, Signature: sig}}, nil
	}
	if _, err := os.Stat(filepath.Join(arg, bundle.ManifestName)); err != nil {
		return nil, fmt.Errorf("%s is a directory without %s: not a model bundle", arg, bundle.ManifestName)
	}
	if sig != "" {
		return nil, usagef("--signature applies to a .tflite file, not to bundle %s", arg)
	}
	b, err := bundle.Load(arg)
	if err != nil {
		return nil, err
	}
	var out []benchTarget
	for _, role := range []string{bundle.RoleText, bundle.RoleVision} {
		if p := b.Path(role); p != "" {
			out = append(out, benchTarget{Role: role, Path: p})
		} else if p := b.Path(bundle.RoleCombined); p != "" {
			out = append(out, benchTarget{Role: role, Path: p, Signature: role})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bundle %s lists no text or vision graph", arg)
	}
	return out, nil
}

// benchReport is the whole result of `lsms bench`, printed by --json as one
// object (schema "lsms-bench/v1"; times in ms):
//
//	{
//	  "schema": "lsms-bench/v1",
//	  "warmup": 5,                 // warm-up runs per graph
//	  "runs": 50,                  // requested runs (0 with --min-seconds)
//	  "min_seconds": 0,            // requested minimum measuring time (0 with --runs)
//	  "seed": 1,                   // seed of the random inputs (input i of every graph
//	                               // draws from PCG(seed, i): A and B see the same data)
//	  "results": [{                // one per graph benchmarked
//	    "side": "A",               // "A" or "B" in an A/B run, else absent
//	    "role": "text",            // bundle role ("text", "vision"), else absent
//	    "model": "path.tflite", "backend": "native", "threads": 1,
//	    "signature": "vision",     // absent for subgraph 0
//	    "inputs": [{"name": "ids", "dtype": "int32", "shape": [1, 48],
//	                "source": "random"}],   // "random", "ones" (mask-like) or the .npy path
//	    "init": {"load_ms": 0.1, "prepare_ms": 0.4, "total_ms": 0.5},
//	    "first_inference_ms": 0.9,
//	    "warmup":  {"n": 5, "min_ms": …, "mean_ms": …, "p50_ms": …, "p90_ms": …,
//	                "p99_ms": …, "max_ms": …, "stddev_ms": …},
//	    "latency": {same fields; n is the number of measured runs},
//	    "arena_bytes": 40960,      // null if the backend does not report it
//	    "profile": {               // with --profile or --csv, if the backend profiles
//	      "invocations": 50, "total_ms": 0.25,   // total: sum of the op means
//	      "run_order": [{"index": 0, "op": "CONV_2D", "name": "conv",
//	                     "avg_ms": 0.2, "pct": 80.0, "cdf_pct": 80.0}, …],
//	      "top":       [same rows, the --top K slowest, cdf in that order],
//	      "by_type":   [{"op": "CONV_2D", "nodes": 1, "avg_ms": 0.2,
//	                     "pct": 80.0, "cdf_pct": 80.0}, …]
//	    }
//	  }],
//	  "ab": [{                     // A/B runs only: one per pair of graphs
//	    "role": "vision", "a": 0, "b": 1,      // indices into results
//	    "ratio_p50": 0.4,          // B's median / A's median (< 1: B faster)
//	    "ratio_mean": 0.41, "faster": "B",     // "A", "B", "neither", "unknown"
//	    "speedup": 2.5             // slower median / faster median
//	  }],
//	  "stages": [{"name": "decode", "n": …, "p50_ms": …, …}],  // end-to-end stages, when measured
//	  "peak_rss_bytes": 25165824   // VmHWM of the whole process; null where unavailable
//	}
type benchReport struct {
	Schema     string         `json:"schema"`
	Warmup     int            `json:"warmup"`
	Runs       int            `json:"runs"`
	MinSeconds float64        `json:"min_seconds"`
	Seed       uint64         `json:"seed"`
	Results    []*graphResult `json:"results"`
	AB         []abResult     `json:"ab,omitempty"`
	// Stages are end-to-end per-slice stages (--e2e, benchE2E).
	Stages       []benchstat.StageSummary `json:"stages,omitempty"`
	PeakRSSBytes *int64                   `json:"peak_rss_bytes"`

	peakRSSErr error
	groups     [][]int // indices into Results benchmarked together
}

type graphResult struct {
	Side             string            `json:"side,omitempty"`
	Role             string            `json:"role,omitempty"`
	Model            string            `json:"model"`
	Signature        string            `json:"signature,omitempty"`
	Backend          string            `json:"backend"`
	Threads          int               `json:"threads"`
	Inputs           []benchInput      `json:"inputs"`
	Init             initTimes         `json:"init"`
	FirstInferenceMS float64           `json:"first_inference_ms"`
	Warmup           benchstat.Summary `json:"warmup"`
	Latency          benchstat.Summary `json:"latency"`
	ArenaBytes       *int64            `json:"arena_bytes"`
	Profile          *opProfile        `json:"profile,omitempty"`
}

type benchInput struct {
	Name   string `json:"name"`
	DType  string `json:"dtype"`
	Shape  []int  `json:"shape"`
	Source string `json:"source"`
}

type initTimes struct {
	LoadMS    float64 `json:"load_ms"`
	PrepareMS float64 `json:"prepare_ms"`
	TotalMS   float64 `json:"total_ms"`
}

type opProfile struct {
	benchstat.Profile
	Top []benchstat.OpRow `json:"top"`
}

type abResult struct {
	Role string `json:"role,omitempty"`
	A    int    `json:"a"`
	B    int    `json:"b"`
	benchstat.Comparison
}

// label names a result in text output.
func (r *graphResult) label() string {
	var parts []string
	if r.Side != "" {
		parts = append(parts, r.Side)
	}
	if r.Role != "" {
		parts = append(parts, r.Role)
	}
	if len(parts) == 0 {
		return filepath.Base(r.Model)
	}
	return strings.Join(parts, " ")
}

func benchMain(args []string, c *benchConfig, stdout, stderr io.Writer) error {
	rep := &benchReport{Schema: benchSchema, Warmup: c.warmup, Runs: c.runs, MinSeconds: c.minSeconds, Seed: c.seed}
	inputs, err := loadInputSpecs(c.inputs)
	if err != nil {
		return err
	}
	// Resolve everything before running anything, so that a bad argument
	// fails fast.
	var groups [][]benchSide
	for _, arg := range args {
		ts, err := resolveTargets(arg, c.sig)
		if err != nil {
			return err
		}
		if !c.ab() {
			for _, t := range ts {
				groups = append(groups, []benchSide{{t: t, backend: c.backend, threads: c.threads}})
			}
			continue
		}
		bArg := arg
		if c.abModel != "" {
			bArg = c.abModel
		}
		bs, err := resolveTargets(bArg, c.sig)
		if err != nil {
			return fmt.Errorf("--ab: %w", err)
		}
		pairs, err := pairTargets(ts, bs)
		if err != nil {
			return err
		}
		bBackend, bThreads := c.backend, c.threads
		if c.abBackend != "" {
			bBackend = c.abBackend
		}
		if c.abThreads != 0 {
			bThreads = c.abThreads
		}
		for _, p := range pairs {
			groups = append(groups, []benchSide{
				{side: "A", t: p[0], backend: c.backend, threads: c.threads},
				{side: "B", t: p[1], backend: bBackend, threads: bThreads},
			})
		}
	}
	for _, g := range groups {
		for _, s := range g {
			if _, err := backend.Get(s.backend); err != nil {
				return err
			}
		}
	}
	matched := make([]bool, len(inputs))
	for _, g := range groups {
		idx, err := benchGroup(g, c, inputs, matched, rep)
		if err != nil {
			return err
		}
		rep.groups = append(rep.groups, idx)
		if c.ab() {
			a, b := rep.Results[idx[0]], rep.Results[idx[1]]
			rep.AB = append(rep.AB, abResult{Role: a.Role, A: idx[0], B: idx[1], Comparison: benchstat.Compare(a.Latency, b.Latency)})
		}
	}
	for i, ok := range matched {
		if !ok {
			return fmt.Errorf("--input %s=%s: no graph benchmarked has an input %q", inputs[i].key, inputs[i].file, inputs[i].key)
		}
	}
	if len(c.e2e) > 0 {
		if err := benchE2E(args[0], c, rep); err != nil {
			return err
		}
	}
	if n, err := benchstat.PeakRSS(); err == nil {
		rep.PeakRSSBytes = &n
	} else {
		rep.peakRSSErr = err
	}
	if c.csvPath != "" {
		if err := writeOpCSV(c.csvPath, rep); err != nil {
			return err
		}
	}
	if c.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writeBenchText(stdout, rep, c)
}

// pairTargets pairs A's graphs with B's: one with one, else by role.
func pairTargets(as, bs []benchTarget) ([][2]benchTarget, error) {
	if len(as) == 1 && len(bs) == 1 {
		return [][2]benchTarget{{as[0], bs[0]}}, nil
	}
	var out [][2]benchTarget
	for _, a := range as {
		found := false
		for _, b := range bs {
			if a.Role == b.Role {
				out = append(out, [2]benchTarget{a, b})
				found = true
			}
		}
		if !found {
			return nil, usagef("--ab: B has no %q graph to compare with A's", a.Role)
		}
	}
	if len(out) != len(bs) {
		return nil, usagef("--ab: A has %d graphs, B has %d; they pair by role", len(as), len(bs))
	}
	return out, nil
}

// benchSide is one graph of a group with its backend settings.
type benchSide struct {
	side    string
	t       benchTarget
	backend string
	threads int
}

// inputSpec is a parsed --input.
type inputSpec struct {
	key, file string
	arr       *npy.Array
}

func loadInputSpecs(specs []string) ([]inputSpec, error) {
	var out []inputSpec
	for _, s := range specs {
		key, file, _ := strings.Cut(s, "=")
		arr, err := npy.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--input %s: %w", key, err)
		}
		out = append(out, inputSpec{key: key, file: file, arr: arr})
	}
	return out, nil
}

// openedGraph is a loaded session being benchmarked.
type openedGraph struct {
	f    *tflite.File
	sess backend.Session
	prof backend.Profiler
	sg   *tflite.Subgraph
	// inTensors are the subgraph tensor indices of the session's inputs.
	inTensors []int
	res       *graphResult
}

func (g *openedGraph) close() {
	if g.sess != nil {
		g.sess.Close()
	}
	if g.f != nil {
		g.f.Close()
	}
}

func openGraph(s benchSide, profile bool) (*openedGraph, error) {
	be, err := backend.Get(s.backend)
	if err != nil {
		return nil, err
	}
	res := &graphResult{Side: s.side, Role: s.t.Role, Model: s.t.Path, Signature: s.t.Signature, Backend: s.backend, Threads: s.threads}
	g := &openedGraph{res: res}
	t0 := time.Now()
	g.f, err = tflite.Open(s.t.Path)
	if err != nil {
		return nil, err
	}
	t1 := time.Now()
	g.sess, err = be.Open(g.f.Model, backend.Options{Threads: s.threads, Profile: profile, Signature: s.t.Signature, Flatbuffer: g.f.Bytes()})
	t2 := time.Now()
	if err != nil {
		g.close()
		return nil, fmt.Errorf("%s: %w", s.t.Path, err)
	}
	res.Init = initTimes{LoadMS: benchstat.MS(t1.Sub(t0)), PrepareMS: benchstat.MS(t2.Sub(t1)), TotalMS: benchstat.MS(t2.Sub(t0))}
	if mr, ok := g.sess.(backend.MemoryReporter); ok {
		n := int64(mr.ArenaBytes())
		res.ArenaBytes = &n
	}
	if p, ok := g.sess.(backend.Profiler); ok && profile {
		g.prof = p
	}
	m := g.f.Model
	g.sg = m.Subgraphs[0]
	g.inTensors = g.sg.Inputs
	if s.t.Signature != "" {
		if sd, ok := m.Signature(s.t.Signature); ok {
			g.sg = m.Subgraphs[sd.Subgraph]
			g.inTensors = nil
			for _, tm := range sd.Inputs {
				g.inTensors = append(g.inTensors, tm.Tensor)
			}
		}
	}
	return g, nil
}

// setInputs fills every input from a matching --input or with seeded data.
func (g *openedGraph) setInputs(specs []inputSpec, matched []bool, seed uint64) error {
	infos := g.sess.Inputs()
	for i, info := range infos {
		dtype := strings.ToLower(info.Type.String())
		in := benchInput{Name: info.Name, DType: dtype, Shape: info.Shape}
		var data any
		for k, sp := range specs {
			if sp.key != info.Name && !(g.res.Role == "" && sp.key == strconv.Itoa(i)) {
				continue
			}
			if sp.arr.DType != dtype {
				return fmt.Errorf("--input %s: %s holds %s, input %q of %s is %s", sp.key, sp.file, sp.arr.DType, info.Name, g.res.Model, dtype)
			}
			if !sameDims(sp.arr.Shape, info.Shape) {
				return fmt.Errorf("--input %s: %s has shape %v, input %q of %s needs %v", sp.key, sp.file, sp.arr.Shape, info.Name, g.res.Model, info.Shape)
			}
			data, in.Source = sp.arr.Data, sp.file
			matched[k] = true
		}
		if data == nil {
			var err error
			data, in.Source, err = g.randomInput(i, info, seed)
			if err != nil {
				return err
			}
		}
		if err := g.sess.SetInput(i, data); err != nil {
			return fmt.Errorf("%s: input %q: %w", g.res.Model, info.Name, err)
		}
		g.res.Inputs = append(g.res.Inputs, in)
	}
	return nil
}

// randomInput makes seeded data for input i: ones for a mask-like input
// (its name contains "mask"); integers in [0, min(100, table size)) where
// the input indexes a table; uniform [0, 1) floats; full-range int8/uint8.
func (g *openedGraph) randomInput(i int, info backend.TensorInfo, seed uint64) (any, string, error) {
	n := int(tflite.NumElements(info.Shape))
	if n < 0 {
		return nil, "", fmt.Errorf("%s: input %q has bad shape %v", g.res.Model, info.Name, info.Shape)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	ones := strings.Contains(strings.ToLower(info.Name), "mask")
	src := "random"
	if ones {
		src = "ones"
	}
	hi := int64(randomIntCap)
	if i < len(g.inTensors) {
		if v := indexedTableSize(g.sg, g.inTensors[i]); v > 0 && v < hi {
			hi = v
		}
	}
	switch info.Type {
	case tflite.Float32:
		d := make([]float32, n)
		for j := range d {
			if ones {
				d[j] = 1
			} else {
				d[j] = rng.Float32()
			}
		}
		return d, src, nil
	case tflite.Int32:
		d := make([]int32, n)
		for j := range d {
			if ones {
				d[j] = 1
			} else {
				d[j] = int32(rng.Int64N(hi))
			}
		}
		return d, src, nil
	case tflite.Int64:
		d := make([]int64, n)
		for j := range d {
			if ones {
				d[j] = 1
			} else {
				d[j] = rng.Int64N(hi)
			}
		}
		return d, src, nil
	case tflite.Int8:
		d := make([]int8, n)
		for j := range d {
			if ones {
				d[j] = 1
			} else {
				d[j] = int8(rng.IntN(256) - 128)
			}
		}
		return d, src, nil
	case tflite.UInt8:
		d := make([]uint8, n)
		for j := range d {
			if ones {
				d[j] = 1
			} else {
				d[j] = uint8(rng.IntN(256))
			}
		}
		return d, src, nil
	case tflite.Int16:
		d := make([]int16, n)
		for j := range d {
			if ones {
				d[j] = 1
			} else {
				d[j] = int16(rng.IntN(65536) - 32768)
			}
		}
		return d, src, nil
	case tflite.Bool:
		d := make([]bool, n)
		for j := range d {
			d[j] = ones || rng.IntN(2) == 1
		}
		return d, src, nil
	}
	return nil, "", fmt.Errorf("%s: input %q is %v: no random data for this type; give it with --input %s=FILE.npy", g.res.Model, info.Name, info.Type, info.Name)
}

// indexedTableSize is the smallest table that tensor ti indexes (as GATHER
// indices or EMBEDDING_LOOKUP ids), or 0 if it indexes none.
func indexedTableSize(sg *tflite.Subgraph, ti int) int64 {
	var best int64
	consider := func(shape []int, axis int) {
		if axis < 0 {
			axis += len(shape)
		}
		if axis < 0 || axis >= len(shape) || shape[axis] <= 0 {
			return
		}
		if v := int64(shape[axis]); best == 0 || v < best {
			best = v
		}
	}
	for _, op := range sg.Operators {
		switch op.Code.Builtin {
		case schema.BuiltinOperatorGATHER:
			if len(op.Inputs) >= 2 && op.Inputs[1] == ti && op.Inputs[0] >= 0 {
				axis := 0
				if o, ok := op.Options.(*schema.GatherOptionsT); ok && o != nil {
					axis = int(o.Axis)
				}
				consider(sg.Tensors[op.Inputs[0]].Shape, axis)
			}
		case schema.BuiltinOperatorEMBEDDING_LOOKUP:
			if len(op.Inputs) >= 2 && op.Inputs[0] == ti && op.Inputs[1] >= 0 {
				consider(sg.Tensors[op.Inputs[1]].Shape, 0)
			}
		}
	}
	return best
}

func (g *openedGraph) invoke() (time.Duration, error) {
	t0 := time.Now()
	err := g.sess.Invoke()
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", g.res.Model, err)
	}
	return d, nil
}

// benchGroup benchmarks one graph, or an A/B pair interleaved, and appends
// the results to rep; it returns their indices.
func benchGroup(sides []benchSide, c *benchConfig, specs []inputSpec, matched []bool, rep *benchReport) ([]int, error) {
	var gs []*openedGraph
	defer func() {
		for _, g := range gs {
			g.close()
		}
	}()
	for _, s := range sides {
		g, err := openGraph(s, c.profile)
		if err != nil {
			return nil, err
		}
		gs = append(gs, g)
		if err := g.setInputs(specs, matched, c.seed); err != nil {
			return nil, err
		}
	}
	for _, g := range gs {
		d, err := g.invoke()
		if err != nil {
			return nil, err
		}
		g.res.FirstInferenceMS = benchstat.MS(d)
	}
	warm := make([][]time.Duration, len(gs))
	for range c.warmup {
		for k, g := range gs {
			d, err := g.invoke()
			if err != nil {
				return nil, err
			}
			warm[k] = append(warm[k], d)
		}
	}
	for _, g := range gs {
		if g.prof != nil {
			g.prof.ResetProfile()
		}
	}
	lat := make([][]time.Duration, len(gs))
	for k := range lat {
		lat[k] = make([]time.Duration, 0, max(c.runs, 1))
	}
	minDur := time.Duration(c.minSeconds * float64(time.Second))
	start := time.Now()
	for i := 0; ; i++ {
		if c.runs > 0 && i >= c.runs {
			break
		}
		if c.runs == 0 && i > 0 && (time.Since(start) >= minDur || i >= maxTimedRuns) {
			break
		}
		// Interleaved ABAB...: both sides see the same thermal and load conditions.
		for k, g := range gs {
			d, err := g.invoke()
			if err != nil {
				return nil, err
			}
			lat[k] = append(lat[k], d)
		}
	}
	var idx []int
	for k, g := range gs {
		g.res.Warmup = benchstat.Summarize(warm[k])
		g.res.Latency = benchstat.Summarize(lat[k])
		if g.prof != nil {
			g.res.Profile = makeProfile(g, c.top)
		}
		idx = append(idx, len(rep.Results))
		rep.Results = append(rep.Results, g.res)
	}
	return idx, nil
}

func makeProfile(g *openedGraph, top int) *opProfile {
	var ops []benchstat.Op
	for _, p := range g.prof.Profile() {
		name := ""
		if p.Index >= 0 && p.Index < len(g.sg.Operators) {
			if outs := g.sg.Operators[p.Index].Outputs; len(outs) > 0 && outs[0] >= 0 {
				name = g.sg.Tensors[outs[0]].Name
			}
		}
		ops = append(ops, benchstat.Op{Index: p.Index, Type: p.Op, Name: name, Total: p.Total, Count: p.Count})
	}
	p := benchstat.NewProfile(ops)
	return &opProfile{Profile: p, Top: p.Top(top)}
}

// writeOpCSV writes every profiled operator, one row each, atomically.
func writeOpCSV(path string, rep *benchReport) error {
	t := &benchstat.Table{Header: []string{"side", "role", "model", "index", "op", "name", "invocations", "avg_ms", "pct", "cdf_pct"}}
	for _, r := range rep.Results {
		if r.Profile == nil {
			continue
		}
		for _, o := range r.Profile.RunOrder {
			t.AddRow(r.Side, r.Role, r.Model, strconv.Itoa(o.Index), o.Type, o.Name, strconv.Itoa(r.Profile.Invocations),
				strconv.FormatFloat(o.AvgMS, 'g', -1, 64), strconv.FormatFloat(o.Pct, 'f', 3, 64), strconv.FormatFloat(o.CdfPct, 'f', 3, 64))
		}
	}
	var b bytes.Buffer
	if err := t.WriteCSV(&b); err != nil {
		return err
	}
	if err := tflite.WriteFileAtomic(path, b.Bytes()); err != nil {
		return fmt.Errorf("--csv: %w", err)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func writeBenchText(w io.Writer, rep *benchReport, c *benchConfig) error {
	var b strings.Builder
	measure := fmt.Sprintf("%d warm-up + %s", c.warmup, plural(c.runs, "run", "runs"))
	if c.runs == 0 {
		measure = fmt.Sprintf("%d warm-up + runs for ≥ %gs", c.warmup, c.minSeconds)
	}
	for gi, idx := range rep.groups {
		if gi > 0 {
			b.WriteString("\n")
		}
		rs := make([]*graphResult, len(idx))
		for k, i := range idx {
			rs[k] = rep.Results[i]
		}
		if len(rs) == 2 {
			fmt.Fprintf(&b, "== A/B%s, interleaved ABAB..., %s each ==\n", roleSuffix(rs[0].Role), measure)
		} else {
			fmt.Fprintf(&b, "== %s%s, %s ==\n", rs[0].Model, roleSuffix(rs[0].Role), measure)
		}
		for _, r := range rs {
			prefix := ""
			if r.Side != "" {
				prefix = r.Side + ": "
				fmt.Fprintf(&b, "%s%s\n", prefix, r.Model)
				prefix = "   "
			}
			sig := ""
			if r.Signature != "" {
				sig = ", signature " + r.Signature
			}
			fmt.Fprintf(&b, "%sbackend %s, %s%s\n", prefix, r.Backend, plural(r.Threads, "thread", "threads"), sig)
			var ins []string
			for _, in := range r.Inputs {
				ins = append(ins, fmt.Sprintf("%s %s %s (%s)", in.Name, in.DType, formatShape(in.Shape), in.Source))
			}
			fmt.Fprintf(&b, "%sinputs: %s\n", prefix, strings.Join(ins, ", "))
			fmt.Fprintf(&b, "%sinit: load %s ms + prepare %s ms = %s ms; first inference %s ms\n", prefix,
				benchstat.FormatMS(r.Init.LoadMS), benchstat.FormatMS(r.Init.PrepareMS), benchstat.FormatMS(r.Init.TotalMS),
				benchstat.FormatMS(r.FirstInferenceMS))
			arena := "unavailable (backend does not report it)"
			if r.ArenaBytes != nil {
				arena = benchstat.FormatBytes(*r.ArenaBytes)
			}
			fmt.Fprintf(&b, "%sarena: %s\n", prefix, arena)
		}
		b.WriteString("\n")
		var labels []string
		var sums []benchstat.Summary
		for _, r := range rs {
			side := ""
			if r.Side != "" {
				side = r.Side + " "
			}
			if r.Warmup.N > 0 {
				labels, sums = append(labels, side+"warm-up"), append(sums, r.Warmup)
			}
			labels, sums = append(labels, side+"measured"), append(sums, r.Latency)
		}
		b.WriteString(benchstat.SummaryTable("latency (ms):", "runs", labels, sums).String())
		for _, ab := range rep.AB {
			if ab.A != idx[0] {
				continue
			}
			switch ab.Faster {
			case "A", "B":
				fmt.Fprintf(&b, "ratio of medians B/A = %.3f (of means %.3f): %s is %.2f× faster\n", ab.RatioP50, ab.RatioMean, ab.Faster, ab.Speedup)
			case "neither":
				fmt.Fprintf(&b, "ratio of medians B/A = 1: equal medians\n")
			default:
				fmt.Fprintf(&b, "ratio of medians B/A: unknown (a median is 0: the clock cannot resolve a run)\n")
			}
		}
		for _, r := range rs {
			if !c.profile {
				continue
			}
			b.WriteString("\n")
			who := r.label()
			if r.Profile == nil {
				fmt.Fprintf(&b, "operator profile of %s: unavailable (backend %s does not profile)\n", who, r.Backend)
				continue
			}
			fmt.Fprintf(&b, "-- operator profile: %s (%s) --\n", who, r.Model)
			p := r.Profile
			for _, t := range []*benchstat.Table{p.RunOrderTable(), p.TopTable(c.top), p.ByTypeTable()} {
				b.WriteString(t.String())
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "sum of operator means %s ms = %.1f%% of the mean run %s ms (the rest: between operators)\n",
				benchstat.FormatMS(p.TotalMS), 100*p.TotalMS/math.Max(benchstat.MS(r.Latency.Mean), 1e-12), benchstat.FormatMS(benchstat.MS(r.Latency.Mean)))
		}
	}
	if len(rep.Stages) > 0 {
		b.WriteString("\n")
		labels := make([]string, len(rep.Stages))
		sums := make([]benchstat.Summary, len(rep.Stages))
		for i, s := range rep.Stages {
			labels[i], sums[i] = s.Name, s.Summary
		}
		b.WriteString(benchstat.SummaryTable("end to end per slice (ms):", "stage", labels, sums).String())
	}
	b.WriteString("\n")
	if rep.PeakRSSBytes != nil {
		fmt.Fprintf(&b, "peak RSS: %s (whole process, VmHWM)\n", benchstat.FormatBytes(*rep.PeakRSSBytes))
	} else {
		fmt.Fprintf(&b, "peak RSS: unavailable (%v)\n", rep.peakRSSErr)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func roleSuffix(role string) string {
	if role == "" {
		return ""
	}
	return " [" + role + "]"
}

// formatShape writes a shape as [1,32,32,1], as `lsms inspect` does.
func formatShape(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
