package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lsms-edge/lsms/internal/litert"
	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/model/lsms"
	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/quant"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
)

// peersMeta is the part of train.onnx_export's peers.json that must match
// the flags for the artifacts to be reused.
type peersMeta struct {
	Format string   `json:"format"`
	Config string   `json:"config"`
	Sizes  []int    `json:"sizes"`
	T      int      `json:"T"`
	Seed   int      `json:"seed"`
	Source string   `json:"source"`
	Torch  string   `json:"torch"`
	Files  []string `json:"files"`
}

// artifactsMatch reports why the artifacts in dir do not fit c ("" when
// they do).
func artifactsMatch(c *config, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "peers.json"))
	if err != nil {
		return "no peers.json"
	}
	var m peersMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return "peers.json: " + err.Error()
	}
	switch {
	case m.Format != "lsms-peers/v1":
		return fmt.Sprintf("peers.json format %q", m.Format)
	case m.T != c.T:
		return fmt.Sprintf("T %d, want %d", m.T, c.T)
	case c.ckpt == "" && (m.Config != c.model || m.Seed != c.seed):
		return fmt.Sprintf("config %s seed %d, want %s seed %d", m.Config, m.Seed, c.model, c.seed)
	case c.ckpt != "" && m.Source != c.ckpt:
		return fmt.Sprintf("weights from %s, want %s", m.Source, c.ckpt)
	}
	for _, s := range c.sizes {
		if !slices.Contains(m.Sizes, s) {
			return fmt.Sprintf("no size %d", s)
		}
	}
	for _, f := range m.Files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return "missing " + f
		}
	}
	return ""
}

// ensureArtifacts runs train.onnx_export make unless dir already holds
// what the flags ask for.
func ensureArtifacts(c *config, logw io.Writer) error {
	why := artifactsMatch(c, c.dir)
	if why == "" && !c.remake {
		fmt.Fprintf(logw, "peerbench: reusing %s\n", c.dir)
		return nil
	}
	if c.remake {
		why = "-remake"
	}
	fmt.Fprintf(logw, "peerbench: making weights, ONNX graphs and inputs in %s (%s)\n", c.dir, why)
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	sizes := make([]string, len(c.sizes))
	for i, s := range c.sizes {
		sizes[i] = strconv.Itoa(s)
	}
	args := []string{"-m", "train.onnx_export", "make", "--config", c.model, "--sizes", strings.Join(sizes, ","),
		"--T", strconv.Itoa(c.T), "--seed", strconv.Itoa(c.seed), "--out", c.dir}
	if c.ckpt != "" {
		args = append(args, "--ckpt", c.ckpt)
	}
	if _, err := runCmd(c, filepath.Join(c.root, "train", "py"), args, logw); err != nil {
		return fmt.Errorf("train.onnx_export make: %w", err)
	}
	if why := artifactsMatch(c, c.dir); why != "" {
		return fmt.Errorf("train.onnx_export make left %s not matching: %s", c.dir, why)
	}
	return nil
}

// runCmd runs name with args in the repository root under c.timeout,
// stderr passed through to logw, and returns stdout.
func runCmd(c *config, name string, args []string, logw io.Writer) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.root
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = logw
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.Bytes(), fmt.Errorf("%s: timed out after %v", filepath.Base(name), c.timeout)
	}
	return out.Bytes(), err
}

// modelSet is one input size: the float and int8 models, the inputs and
// PyTorch's logits.
type modelSet struct {
	size                int
	floatPath, int8Path string // int8Path "" when there is no int8 model
	float, int8         *tflite.Model
	int8Note            string
	inputs              map[string][]float32 // image (NHWC = NCHW, one channel), words, mask
	inputFiles          map[string]string
	want                []float32 // PyTorch logits
}

func prepareModels(c *config, logw io.Writer) ([]*modelSet, error) {
	stPath := filepath.Join(c.dir, "lsms.safetensors")
	w, err := safetensors.Open(stPath)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	cfg, err := lsms.ConfigFromWeights(w)
	if err != nil {
		return nil, err
	}
	stInfo, err := os.Stat(stPath)
	if err != nil {
		return nil, err
	}
	var sets []*modelSet
	for _, s := range c.sizes {
		ms := &modelSet{size: s, inputs: map[string][]float32{}, inputFiles: map[string]string{}}
		for _, name := range []string{"image", "words", "mask"} {
			p := filepath.Join(c.dir, fmt.Sprintf("in_%d_%s.npy", s, name))
			v, err := readF32(p)
			if err != nil {
				return nil, err
			}
			ms.inputs[name], ms.inputFiles[name] = v, p
		}
		if ms.want, err = readF32(filepath.Join(c.dir, fmt.Sprintf("out_%d_torch.npy", s))); err != nil {
			return nil, err
		}
		m, err := lsms.BuildVision(w, cfg, s, c.T)
		if err != nil {
			return nil, fmt.Errorf("size %d: build: %w", s, err)
		}
		m.SetMinRuntimeVersion("2.13.0")
		ms.float = m
		ms.floatPath = filepath.Join(c.dir, fmt.Sprintf("lsms_vision_%d.tflite", s))
		if err := m.WriteFile(ms.floatPath); err != nil {
			return nil, err
		}
		if c.calib > 0 {
			if err := ms.quantize(c, stInfo.ModTime(), logw); err != nil {
				return nil, err
			}
		}
		sets = append(sets, ms)
	}
	return sets, nil
}

// quantize loads the cached int8 model of the set, or calibrates the float
// model on c.calib inputs (the saved one and variations of it) and
// quantizes it with quant's defaults.
func (ms *modelSet) quantize(c *config, weightsTime time.Time, logw io.Writer) error {
	ms.int8Path = filepath.Join(c.dir, fmt.Sprintf("lsms_vision_%d_int8.tflite", ms.size))
	if st, err := os.Stat(ms.int8Path); err == nil && !c.requa && st.ModTime().After(weightsTime) {
		m, err := tflite.ReadFile(ms.int8Path)
		if err == nil {
			ms.int8 = m
			ms.int8Note = "cached " + filepath.Base(ms.int8Path)
			return nil
		}
		fmt.Fprintf(logw, "peerbench: %v; quantizing again\n", err)
	}
	fmt.Fprintf(logw, "peerbench: size %d: calibrating on %d inputs and quantizing to int8\n", ms.size, c.calib)
	data := calibData(ms.inputs, ms.size, c.seed)
	// As the shipped int8 bundle: the same ops kept float32.
	opts := quant.Options{Mode: quant.Int8, Threads: c.threads, FloatOps: lsms.VisionFloatOps}
	cal, err := quant.Calibrate(ms.float, data, c.calib, opts)
	if err != nil {
		return fmt.Errorf("size %d: calibrate: %w", ms.size, err)
	}
	q, sum, err := quant.Quantize(ms.float, cal, opts)
	if err != nil {
		return fmt.Errorf("size %d: quantize: %w", ms.size, err)
	}
	q.SetMinRuntimeVersion("2.13.0")
	if err := q.WriteFile(ms.int8Path); err != nil {
		return err
	}
	ms.int8 = q
	ms.int8Note = fmt.Sprintf("%d int8 ops, %d float ops, %d added", sum.Int8Ops, sum.FloatOps, sum.Added)
	return nil
}

// calibData is input 0 = the saved inputs; input i > 0 = the image
// mirrored and shifted with a little noise, fresh word features, the same
// mask.
func calibData(in map[string][]float32, size, seed int) quant.Dataset {
	return func(i int) (map[string]any, error) {
		if i == 0 {
			return map[string]any{"image": in["image"], "words": in["words"], "mask": in["mask"]}, nil
		}
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
		src := in["image"]
		img := make([]float32, len(src))
		shift := rng.IntN(size)
		for y := range size {
			for x := range size {
				sx := (x + shift) % size
				if i%2 == 1 {
					sx = size - 1 - sx
				}
				v := src[y*size+sx] + float32(rng.NormFloat64()*0.02)
				img[y*size+x] = max(0, min(1, v))
			}
		}
		words := make([]float32, len(in["words"]))
		for j := range words {
			words[j] = float32(rng.NormFloat64())
		}
		return map[string]any{"image": img, "words": words, "mask": in["mask"]}, nil
	}
}

func readF32(path string) ([]float32, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, ok := a.Data.([]float32)
	if !ok {
		return nil, fmt.Errorf("%s: dtype %s, want float32", path, a.DType)
	}
	return v, nil
}

// runOurs times the float32 and int8 models in runtime/interp.
func runOurs(c *config, sets []*modelSet, logw io.Writer) ([]Row, error) {
	var rows []Row
	for _, ms := range sets {
		for _, dt := range []string{"float32", "int8"} {
			m := ms.float
			note := ""
			if dt == "int8" {
				if ms.int8 == nil {
					continue
				}
				m, note = ms.int8, ms.int8Note
			}
			fmt.Fprintf(logw, "ours     %3d %-7s ", ms.size, dt)
			times, out, err := timeOurs(m, ms.inputs, c)
			r := Row{Size: ms.size, Runtime: "ours", DType: dt, Threads: c.threads, Note: note}
			if err != nil {
				r.Err = err.Error()
				fmt.Fprintln(logw, "error:", err)
			} else {
				r.setTimes(times)
				r.setDiff(out, ms.want)
				fmt.Fprintf(logw, "%9.2f ms\n", r.MedianMS)
				if c.profile {
					if r.Profile, err = profileOurs(m, ms.inputs, c); err != nil {
						return nil, err
					}
				}
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

func timeOurs(m *tflite.Model, inputs map[string][]float32, c *config) ([]float64, []float32, error) {
	it, err := interp.New(m, interp.Options{Threads: c.threads})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	for name, v := range inputs {
		i, ok := it.InputIndex(name)
		if !ok {
			return nil, nil, fmt.Errorf("model has no input %q", name)
		}
		if err := it.SetInput(i, v); err != nil {
			return nil, nil, fmt.Errorf("input %s: %w", name, err)
		}
	}
	var times []float64
	for i := range c.warmup + c.runs {
		t0 := time.Now()
		if err := it.Invoke(); err != nil {
			return nil, nil, err
		}
		if i >= c.warmup {
			times = append(times, float64(time.Since(t0).Nanoseconds())/1e6)
		}
	}
	out := make([]float32, it.OutputTensor(0).NumElements())
	if err := it.Output(0, out); err != nil {
		return nil, nil, err
	}
	return times, out, nil
}

// profileOurs runs one profiled forward and sums the time per op type.
func profileOurs(m *tflite.Model, inputs map[string][]float32, c *config) ([]OpShare, error) {
	it, err := interp.New(m, interp.Options{Threads: c.threads, Profile: true})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for name, v := range inputs {
		i, ok := it.InputIndex(name)
		if !ok {
			return nil, fmt.Errorf("model has no input %q", name)
		}
		if err := it.SetInput(i, v); err != nil {
			return nil, err
		}
	}
	if err := it.Invoke(); err != nil { // warm-up
		return nil, err
	}
	it.ResetProfile()
	if err := it.Invoke(); err != nil {
		return nil, err
	}
	by := map[string]time.Duration{}
	var total time.Duration
	for _, p := range it.Profile() {
		by[p.Op] += p.Last
		total += p.Last
	}
	var out []OpShare
	for op, d := range by {
		out = append(out, OpShare{Op: op, MS: float64(d.Nanoseconds()) / 1e6, Share: float64(d) / float64(max(total, 1))})
	}
	slices.SortFunc(out, func(a, b OpShare) int { return int(b.MS*1e6) - int(a.MS*1e6) })
	return out, nil
}

// runLiteRT times every model in one LiteRT.js batch.
func runLiteRT(c *config, sets []*modelSet, logw io.Writer) ([]Row, string) {
	type ref struct {
		ms *modelSet
		dt string
	}
	var cases []litert.Case
	var refs []ref
	var prepErr error
	for _, ms := range sets {
		sg := ms.float.Subgraphs[0]
		var ins []*npy.Array
		for _, ti := range sg.Inputs {
			t := sg.Tensors[ti]
			v, ok := ms.inputs[t.Name]
			if !ok {
				prepErr = fmt.Errorf("size %d: no data for input %q", ms.size, t.Name)
				break
			}
			a, err := npy.New(v, t.Shape...)
			if err != nil {
				prepErr = fmt.Errorf("size %d: input %s: %w", ms.size, t.Name, err)
				break
			}
			ins = append(ins, a)
		}
		cases = append(cases, litert.Case{ModelPath: ms.floatPath, Inputs: ins, Warmup: c.warmup, Repeat: c.runs})
		refs = append(refs, ref{ms, "float32"})
		if ms.int8Path != "" {
			cases = append(cases, litert.Case{ModelPath: ms.int8Path, Inputs: ins, Warmup: c.warmup, Repeat: c.runs})
			refs = append(refs, ref{ms, "int8"})
		}
	}
	fail := func(err error) ([]Row, string) {
		var rows []Row
		for _, r := range refs {
			rows = append(rows, Row{Size: r.ms.size, Runtime: "litert", DType: r.dt, Err: err.Error()})
		}
		fmt.Fprintln(logw, "litert: ", err)
		return rows, ""
	}
	if prepErr != nil {
		return fail(prepErr)
	}
	if err := litert.Available(); err != nil {
		return fail(err)
	}
	fmt.Fprintf(logw, "litert   %d models ...\n", len(cases))
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	res, err := litert.RunContext(ctx, cases)
	if err != nil {
		return fail(err)
	}
	var rows []Row
	meta := ""
	for i, r := range res {
		row := Row{Size: refs[i].ms.size, Runtime: "litert", DType: refs[i].dt}
		if r.Err != nil {
			row.Err = r.Err.Error()
		} else {
			row.Threads = r.Threads
			row.Note = r.Variant
			meta = fmt.Sprintf("%s, %d thread(s)", r.Variant, r.Threads)
			times := make([]float64, len(r.RunTimes))
			for j, d := range r.RunTimes {
				times[j] = float64(d.Nanoseconds()) / 1e6
			}
			row.setTimes(times)
			if len(r.Outputs) > 0 {
				if out, ok := r.Outputs[0].Data.([]float32); ok {
					row.setDiff(out, refs[i].ms.want)
				}
			}
		}
		fmt.Fprintf(logw, "litert   %3d %-7s %9.2f ms %s\n", row.Size, row.DType, row.MedianMS, row.Err)
		rows = append(rows, row)
	}
	return rows, meta
}

// ortLine is one line of tools/peers/ort.mjs.
type ortLine struct {
	Name    string    `json:"name"`
	Times   []float64 `json:"times_ms"`
	LoadMS  float64   `json:"load_ms"`
	Version string    `json:"version"`
	Error   string    `json:"error"`
}

// ortAvailable reports why tools/peers cannot run ONNX Runtime.
func ortAvailable(root string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "peers", "node_modules", "onnxruntime-node", "package.json")); err != nil {
		return errors.New("tools/peers/node_modules lacks onnxruntime-node (scripts/bench-peers.sh installs it)")
	}
	return nil
}

func runORT(c *config, sets []*modelSet, logw io.Writer) ([]Row, string) {
	type jobCase struct {
		Name   string            `json:"name"`
		Model  string            `json:"model"`
		Inputs map[string]string `json:"inputs"`
		Output string            `json:"output"`
	}
	job := struct {
		Threads int       `json:"threads"`
		Warmup  int       `json:"warmup"`
		Runs    int       `json:"runs"`
		Cases   []jobCase `json:"cases"`
	}{c.threads, c.warmup, c.runs, nil}
	bySize := map[string]*modelSet{}
	for _, ms := range sets {
		name := strconv.Itoa(ms.size)
		bySize[name] = ms
		job.Cases = append(job.Cases, jobCase{Name: name, Model: filepath.Join(c.dir, fmt.Sprintf("lsms_vision_%d.onnx", ms.size)),
			Inputs: ms.inputFiles, Output: filepath.Join(c.dir, fmt.Sprintf("out_%d_ort.npy", ms.size))})
	}
	fail := func(err error) ([]Row, string) {
		var rows []Row
		for _, ms := range sets {
			rows = append(rows, Row{Size: ms.size, Runtime: "onnxruntime", DType: "float32", Err: err.Error()})
		}
		fmt.Fprintln(logw, "onnxruntime:", err)
		return rows, ""
	}
	if err := ortAvailable(c.root); err != nil {
		return fail(err)
	}
	b, err := json.Marshal(job)
	if err != nil {
		return fail(err)
	}
	jobPath := filepath.Join(c.dir, "ort_job.json")
	if err := os.WriteFile(jobPath, b, 0o644); err != nil {
		return fail(err)
	}
	fmt.Fprintf(logw, "onnxruntime %d models ...\n", len(job.Cases))
	out, err := runCmd(c, "node", []string{filepath.Join(c.root, "tools", "peers", "ort.mjs"), jobPath}, logw)
	if err != nil {
		return fail(err)
	}
	var rows []Row
	version := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l ortLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fail(fmt.Errorf("ort.mjs printed %q: %w", sc.Text(), err))
		}
		ms := bySize[l.Name]
		if ms == nil {
			return fail(fmt.Errorf("ort.mjs printed an unknown case %q", l.Name))
		}
		row := Row{Size: ms.size, Runtime: "onnxruntime", DType: "float32", Threads: c.threads, Err: l.Error}
		if l.Error == "" {
			version = l.Version
			row.setTimes(l.Times)
			if v, err := readF32(filepath.Join(c.dir, fmt.Sprintf("out_%d_ort.npy", ms.size))); err == nil {
				row.setDiff(v, ms.want)
			}
		}
		fmt.Fprintf(logw, "onnxruntime %3d float32 %9.2f ms %s\n", row.Size, row.MedianMS, row.Err)
		rows = append(rows, row)
	}
	return rows, version
}

// torchLine is one line of train.onnx_export bench.
type torchLine struct {
	Size    int       `json:"size"`
	Threads int       `json:"threads"`
	Times   []float64 `json:"times_ms"`
	Version string    `json:"version"`
	Diff    *float64  `json:"max_abs_diff_vs_saved"`
}

func runPyTorch(c *config, sets []*modelSet, logw io.Writer) ([]Row, string) {
	sizes := make([]string, len(sets))
	for i, ms := range sets {
		sizes[i] = strconv.Itoa(ms.size)
	}
	fmt.Fprintf(logw, "pytorch  %d sizes ...\n", len(sets))
	out, err := runCmd(c, filepath.Join(c.root, "train", "py"), []string{"-m", "train.onnx_export", "bench", "--dir", c.dir,
		"--sizes", strings.Join(sizes, ","), "--threads", strconv.Itoa(c.threads), "--runs", strconv.Itoa(c.runs),
		"--warmup", strconv.Itoa(c.warmup)}, logw)
	var rows []Row
	if err != nil {
		for _, ms := range sets {
			rows = append(rows, Row{Size: ms.size, Runtime: "pytorch", DType: "float32", Err: err.Error()})
		}
		fmt.Fprintln(logw, "pytorch:", err)
		return rows, ""
	}
	version := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l torchLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			rows = append(rows, Row{Runtime: "pytorch", DType: "float32", Err: fmt.Sprintf("bench printed %q: %v", sc.Text(), err)})
			continue
		}
		version = l.Version
		row := Row{Size: l.Size, Runtime: "pytorch", DType: "float32", Threads: l.Threads}
		row.setTimes(l.Times)
		// The reference itself: its run-to-run difference, relative.
		for _, ms := range sets {
			if ms.size == l.Size && l.Diff != nil {
				row.RelDiff = *l.Diff / maxAbs(ms.want)
				row.HasDiff = true
			}
		}
		fmt.Fprintf(logw, "pytorch  %3d float32 %9.2f ms\n", row.Size, row.MedianMS)
		rows = append(rows, row)
	}
	return rows, version
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}
