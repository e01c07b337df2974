// Package litert runs TFLite models through LiteRT.js — Google's official
// TFLite/LiteRT runtime compiled to WebAssembly, on its XNNPACK CPU path —
// so tests can compare this repository's results against the reference
// runtime. It drives the pinned Node tool in tools/litert (run.mjs) and is
// meant for tests only.
//
// A whole batch of cases runs in one Node process:
//
//	litert.Require(t) // skip, or fail when LSMS_REQUIRE_LITERT=1
//	res, err := litert.Run([]litert.Case{{Model: modelBytes, Inputs: []*npy.Array{x}}})
//	// res[0].Err, res[0].Outputs[i], res[0].Names[i]
//
// Inputs and outputs are in the order of the signature's subgraph (the
// first subgraph's Inputs/Outputs lists), whatever order the SignatureDef
// lists them in. Names are the SignatureDef's names for those tensors, or
// tensor names for a model without SignatureDefs.
//
// LiteRT.js's documented JS API only accepts float32, int32 and uint8
// tensors; for other dtypes (int8, int16, int64, bool, float16, float64)
// run.mjs drives the same compiled model through the wasm bindings that API
// wraps. Case.API forces one path.
//
// For benchmarks, Case.Warmup and Case.Repeat run the compiled model more
// than once; Result.RunTimes has one entry per timed run (performance.now()
// around the runtime's run call in Node, input tensors filled beforehand)
// and Result.CompileTime the model's load and compile time. Result.Variant
// and Result.Threads say which wasm build ran with how many threads: under
// Node 20 (no relaxed SIMD) that is litert_wasm_compat_internal, 1 thread.
package litert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lsms-edge/lsms/internal/npy"
)

// RequireEnv names the environment variable that, set to "1", turns an
// unavailable harness into a test failure instead of a skip (CI sets it).
const RequireEnv = "LSMS_REQUIRE_LITERT"

// KeepEnv names the environment variable that, set to "1", keeps each
// batch's temporary directory (job.json, inputs, outputs) for debugging.
const KeepEnv = "LSMS_LITERT_KEEP"

// DefaultTimeout bounds one Run.
const DefaultTimeout = 10 * time.Minute

// Case is one model invocation.
type Case struct {
	// Model holds the .tflite bytes; if empty, ModelPath names the file.
	Model     []byte
	ModelPath string
	// Inputs in subgraph input order. Their dtypes and shapes must match
	// the model's.
	Inputs []*npy.Array
	// API selects how tensors cross into LiteRT.js: "" or "auto" (the
	// documented API when every input and output is float32/int32/uint8,
	// else the low-level bindings), "public" or "lowlevel".
	API string
	// Warmup untimed runs precede Repeat timed ones (0 means 1); the
	// outputs are those of the last run. Negative values are an error.
	Warmup, Repeat int
}

// Result is one case's outcome.
type Result struct {
	// Outputs in subgraph output order.
	Outputs []*npy.Array
	// Names[i] is the signature name of Outputs[i].
	Names []string
	// InputNames are the signature's input names, in subgraph input order.
	InputNames []string
	// Signature is the signature key LiteRT used ("<placeholder signature>"
	// for models without SignatureDefs).
	Signature string
	// API is the path run.mjs took: "public" or "lowlevel".
	API string
	// RunTimes has the wall time of each timed run (Case.Repeat of them).
	RunTimes []time.Duration
	// CompileTime is the time LiteRT took to load and compile the model.
	CompileTime time.Duration
	// Variant is the LiteRT.js wasm build that ran (e.g.
	// "litert_wasm_compat_internal") and Threads the thread count it
	// reported.
	Variant string
	Threads int
	// Err is set when this case failed; the other fields are then empty.
	Err error
}

var (
	availOnce sync.Once
	availRoot string
	availNode string
	availErr  error
)

// scriptFn is replaced in tests.
var scriptFn = func(root string) string { return filepath.Join(root, "tools", "litert", "run.mjs") }

// availableFn is replaced in tests.
var availableFn = func() (root, node string, err error) {
	availOnce.Do(func() { availRoot, availNode, availErr = probe() })
	return availRoot, availNode, availErr
}

// Available reports why the harness cannot run, or nil when it can: Node
// must be on PATH and tools/litert/node_modules must hold the pinned
// @litertjs/core (make deps-node installs it).
func Available() error {
	_, _, err := availableFn()
	return err
}

// Require skips t when the harness is unavailable, or fails it when the
// environment variable LSMS_REQUIRE_LITERT is "1".
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("LiteRT harness required (%s=1) but unavailable: %v", RequireEnv, err)
			return
		}
		t.Skipf("LiteRT harness unavailable: %v (make deps-node installs it; %s=1 makes this a failure)", err, RequireEnv)
	}
}

// RepoRoot returns the nearest directory at or above the working directory
// that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("litert: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

func probe() (root, node string, err error) {
	root, err = RepoRoot()
	if err != nil {
		return "", "", err
	}
	tool := filepath.Join(root, "tools", "litert")
	if _, err := os.Stat(filepath.Join(tool, "run.mjs")); err != nil {
		return "", "", fmt.Errorf("litert: %w", err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
		Version      string            `json:"version"`
	}
	b, err := os.ReadFile(filepath.Join(tool, "package.json"))
	if err != nil {
		return "", "", fmt.Errorf("litert: %w", err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", "", fmt.Errorf("litert: tools/litert/package.json: %w", err)
	}
	want := pkg.Dependencies["@litertjs/core"]
	b, err = os.ReadFile(filepath.Join(tool, "node_modules", "@litertjs", "core", "package.json"))
	if err != nil {
		return "", "", fmt.Errorf("litert: @litertjs/core is not installed in tools/litert/node_modules (run make deps-node): %w", err)
	}
	pkg.Version = ""
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", "", fmt.Errorf("litert: installed @litertjs/core package.json: %w", err)
	}
	if pkg.Version != want {
		return "", "", fmt.Errorf("litert: installed @litertjs/core is %s, package.json pins %s (run make deps-node)", pkg.Version, want)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		return "", "", fmt.Errorf("litert: node not found: %w", err)
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("litert: %s --version: %w", node, err)
	}
	var major int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "v%d", &major); err != nil || major < 20 {
		return "", "", fmt.Errorf("litert: need Node >= 20, have %q", strings.TrimSpace(string(out)))
	}
	return root, node, nil
}

// Run runs all cases in one Node process (DefaultTimeout).
func Run(cases []Case) ([]Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	return RunContext(ctx, cases)
}

type jobCase struct {
	Model  string   `json:"model"`
	Inputs []string `json:"inputs"`
	Outdir string   `json:"outdir"`
	API    string   `json:"api,omitempty"`
	Warmup int      `json:"warmup,omitempty"`
	Repeat int      `json:"repeat,omitempty"`
}

type tensorInfo struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

type caseResult struct {
	OK           bool         `json:"ok"`
	Error        string       `json:"error"`
	API          string       `json:"api"`
	Signature    string       `json:"signature"`
	Outputs      []tensorInfo `json:"outputs"`
	InputDetails []tensorInfo `json:"input_details"`
	Variant      string       `json:"variant"`
	Threads      int          `json:"threads"`
	CompileMs    float64      `json:"compile_ms"`
	RunMs        []float64    `json:"run_ms"`
}

// RunContext is Run with a caller-chosen deadline. The error is for the
// batch as a whole (harness unavailable, Node failing before it loaded the
// runtime, I/O); per-case failures are in Result.Err. A case that crashes
// the runtime fails alone: the remaining cases run in a fresh process.
func RunContext(ctx context.Context, cases []Case) ([]Result, error) {
	root, node, err := availableFn()
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(cases))
	if len(cases) == 0 {
		return results, nil
	}
	tmp, err := os.MkdirTemp("", "litert-")
	if err != nil {
		return nil, err
	}
	if os.Getenv(KeepEnv) == "1" {
		fmt.Fprintf(os.Stderr, "litert: keeping %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	jobs := make([]*jobCase, len(cases))
	for i, c := range cases {
		jc, err := prepare(tmp, i, c)
		if err != nil {
			results[i].Err = err
			continue
		}
		jobs[i] = jc
	}

	script := scriptFn(root)
	for attempt := 0; ; attempt++ {
		var pending []int
		for i, jc := range jobs {
			if jc != nil && results[i].Err == nil && !exists(filepath.Join(jc.Outdir, "result.json")) {
				pending = append(pending, i)
			}
		}
		if len(pending) == 0 {
			break
		}
		job := struct {
			Cases []*jobCase `json:"cases"`
		}{}
		for _, i := range pending {
			job.Cases = append(job.Cases, jobs[i])
		}
		jobPath := filepath.Join(tmp, fmt.Sprintf("job%d.json", attempt))
		b, _ := json.Marshal(job)
		if err := os.WriteFile(jobPath, b, 0o644); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, node, script, jobPath)
		cmd.Dir = root
		var stdout bytes.Buffer
		stderr := &tailBuffer{max: 8 << 10}
		cmd.Stdout = &stdout
		cmd.Stderr = stderr
		runErr := cmd.Run()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("litert: %w: %s", ctx.Err(), stderr)
		}
		if runErr == nil {
			for _, i := range pending {
				if !exists(filepath.Join(jobs[i].Outdir, "result.json")) {
					results[i].Err = fmt.Errorf("litert: node exited without a result for this case: %s", stderr)
				}
			}
			continue
		}
		if !bytes.Contains(stdout.Bytes(), []byte(`"ready":true`)) {
			return nil, fmt.Errorf("litert: node %s failed before loading LiteRT: %v: %s", script, runErr, stderr)
		}
		var code int
		if ee, ok := runErr.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		// Exit 3: run.mjs recorded a wasm trap in that case's result and
		// stopped; rerun the rest. Anything else: the first case without a
		// result killed the process.
		progressed := false
		for _, i := range pending {
			if exists(filepath.Join(jobs[i].Outdir, "result.json")) {
				progressed = true
				continue
			}
			if code != 3 {
				results[i].Err = fmt.Errorf("litert: node died running this case: %v: %s", runErr, stderr)
				progressed = true
			}
			break
		}
		if !progressed {
			return nil, fmt.Errorf("litert: node made no progress: %v: %s", runErr, stderr)
		}
	}

	for i, jc := range jobs {
		if jc == nil || results[i].Err != nil {
			continue
		}
		results[i] = collect(jc.Outdir)
	}
	return results, nil
}

func prepare(tmp string, i int, c Case) (*jobCase, error) {
	dir := filepath.Join(tmp, fmt.Sprintf("case%d", i))
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	if c.Warmup < 0 || c.Repeat < 0 {
		return nil, fmt.Errorf("litert: negative Warmup (%d) or Repeat (%d)", c.Warmup, c.Repeat)
	}
	jc := &jobCase{Outdir: out, API: c.API, Inputs: []string{}, Warmup: c.Warmup, Repeat: c.Repeat}
	switch {
	case len(c.Model) > 0:
		jc.Model = filepath.Join(dir, "model.tflite")
		if err := os.WriteFile(jc.Model, c.Model, 0o644); err != nil {
			return nil, err
		}
	case c.ModelPath != "":
		p, err := filepath.Abs(c.ModelPath)
		if err != nil {
			return nil, err
		}
		jc.Model = p
	default:
		return nil, errors.New("litert: case has neither Model nor ModelPath")
	}
	for k, a := range c.Inputs {
		var buf bytes.Buffer
		if err := npy.Write(&buf, a); err != nil {
			return nil, fmt.Errorf("litert: input %d: %w", k, err)
		}
		p := filepath.Join(dir, fmt.Sprintf("in%d.npy", k))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		jc.Inputs = append(jc.Inputs, p)
	}
	return jc, nil
}

func collect(outdir string) Result {
	b, err := os.ReadFile(filepath.Join(outdir, "result.json"))
	if err != nil {
		return Result{Err: fmt.Errorf("litert: no result: %w", err)}
	}
	var cr caseResult
	if err := json.Unmarshal(b, &cr); err != nil {
		return Result{Err: fmt.Errorf("litert: result.json: %w", err)}
	}
	if !cr.OK {
		msg := cr.Error
		if msg == "" {
			msg = "failed without a message"
		}
		return Result{Err: fmt.Errorf("litert: %s", msg)}
	}
	r := Result{Signature: cr.Signature, API: cr.API, Variant: cr.Variant, Threads: cr.Threads, CompileTime: msDuration(cr.CompileMs)}
	for _, ms := range cr.RunMs {
		r.RunTimes = append(r.RunTimes, msDuration(ms))
	}
	for _, d := range cr.InputDetails {
		r.InputNames = append(r.InputNames, d.Name)
	}
	for i, o := range cr.Outputs {
		a, err := npy.ReadFile(filepath.Join(outdir, fmt.Sprintf("%d.npy", i)))
		if err != nil {
			return Result{Err: fmt.Errorf("litert: output %d (%s): %w", i, o.Name, err)}
		}
		if a.DType != o.DType || !equalInts(a.Shape, o.Shape) {
			return Result{Err: fmt.Errorf("litert: output %d (%s): .npy is %s%v, result.json says %s%v", i, o.Name, a.DType, a.Shape, o.DType, o.Shape)}
		}
		r.Outputs = append(r.Outputs, a)
		r.Names = append(r.Names, o.Name)
	}
	return r
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte{}, t.b[len(t.b)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	s := strings.TrimSpace(string(t.b))
	if t.cut {
		s = "..." + s
	}
	if s == "" {
		return "(no stderr)"
	}
	return s
}
