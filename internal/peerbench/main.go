// Command peerbench times the LSMS vision forward (image, word features,
// mask → logits) in this repository's runtime and in its peers, on the same
// weights and inputs, in one run:
//
//		go run ./internal/peerbench [-config tiny] [-sizes 480,256] [-T 20] [-threads 2] [-runs 10] [-warmup 2] [-json]
//
//	  - ours: runtime/interp on the TFLite graph model/lsms builds from the
//	    weights (BuildVision), float32, and int8 from quant (Calibrate on
//	    -calib inputs, Quantize; cached beside the weights);
//	  - LiteRT: the same .tflite files in LiteRT.js (TFLite in WebAssembly,
//	    XNNPACK) through internal/litert (under Node 20 its compat build,
//	    one thread whatever -threads says);
//	  - ONNX Runtime: the same weights exported to ONNX from PyTorch, run by
//	    onnxruntime-node on its CPU provider (tools/peers/ort.mjs);
//	  - PyTorch: the eager model on the same weights (train.onnx_export bench).
//
// The weights, the ONNX graphs, the inputs and PyTorch's reference logits
// come from `train/py -m train.onnx_export make` (random weights of the
// configuration with re-estimated BatchNorm statistics, or -ckpt), written
// to -dir once and reused while peers.json matches the flags. Every runtime
// runs alone, batch 1, -warmup untimed then -runs timed forwards; the table
// gives the median and minimum, the ratios to ONNX Runtime float32 and to
// LiteRT int8 at the same size, and each output's largest difference from
// PyTorch's logits relative to their largest magnitude. The issue's
// acceptance ratios at the largest size are printed below the table.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/lsms-edge/lsms/internal/benchstat"
	"github.com/lsms-edge/lsms/internal/litert"
)

type config struct {
	model         string // LSMS configuration: paper, tiny, edge
	ckpt          string
	sizes         []int
	T             int
	seed          int
	threads       int
	runs, warmup  int
	calib         int
	dir           string
	peers         map[string]bool
	jsonOut       bool
	profile       bool
	remake, requa bool
	root          string
	timeout       time.Duration
}

var allPeers = []string{"ours", "litert", "ort", "pytorch"}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "peerbench:", err)
		os.Exit(2)
	}
	rep, err := run(cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "peerbench:", err)
		os.Exit(1)
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "peerbench:", err)
			os.Exit(1)
		}
		return
	}
	printReport(os.Stdout, rep)
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("peerbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var sizes, peers string
	fs.StringVar(&c.model, "config", "tiny", "LSMS configuration for random weights: paper, tiny or edge")
	fs.StringVar(&c.ckpt, "ckpt", "", "a training checkpoint (.pt) or export (.safetensors) instead of random weights")
	fs.StringVar(&sizes, "sizes", "480,256", "input sizes S (S×S images)")
	fs.IntVar(&c.T, "T", 20, "token count")
	fs.IntVar(&c.seed, "seed", 1, "seed of the random weights")
	fs.IntVar(&c.threads, "threads", 2, "threads per runtime")
	fs.IntVar(&c.runs, "runs", 10, "timed forwards per runtime and model (median reported)")
	fs.IntVar(&c.warmup, "warmup", 2, "untimed forwards before the timed ones")
	fs.IntVar(&c.calib, "calib", 4, "calibration inputs for our int8 model (0: no int8)")
	fs.StringVar(&c.dir, "dir", "", "folder of the weights, ONNX graphs, inputs and models (default out/peers/CONFIG-T<T>-seed<SEED>)")
	fs.StringVar(&peers, "peers", strings.Join(allPeers, ","), "runtimes to time: "+strings.Join(allPeers, ","))
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON instead of a table")
	fs.BoolVar(&c.profile, "profile", false, "after timing ours, one profiled forward: time per op type")
	fs.BoolVar(&c.remake, "remake", false, "rebuild the weights, ONNX graphs and inputs even if peers.json matches")
	fs.BoolVar(&c.requa, "requant", false, "recalibrate and requantize our int8 models even if cached")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "limit for each peer process (LiteRT, ONNX Runtime, PyTorch, the export)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 32 || n%32 != 0 {
			return nil, fmt.Errorf("-sizes: %q is not a multiple of 32 (the encoder downsamples 32×)", s)
		}
		c.sizes = append(c.sizes, n)
	}
	switch c.model {
	case "paper", "tiny", "edge":
	default:
		return nil, fmt.Errorf("-config %q: want paper, tiny or edge", c.model)
	}
	if c.T < 1 || c.threads < 1 || c.runs < 1 || c.warmup < 0 || c.calib < 0 {
		return nil, errors.New("-T, -threads and -runs must be >= 1, -warmup and -calib >= 0")
	}
	c.peers = map[string]bool{}
	for _, p := range strings.Split(peers, ",") {
		p = strings.TrimSpace(p)
		if !contains(allPeers, p) {
			return nil, fmt.Errorf("-peers: unknown runtime %q (want %s)", p, strings.Join(allPeers, ","))
		}
		c.peers[p] = true
	}
	root, err := litert.RepoRoot()
	if err != nil {
		return nil, err
	}
	c.root = root
	if c.dir == "" {
		name := fmt.Sprintf("%s-T%d-seed%d", c.model, c.T, c.seed)
		if c.ckpt != "" {
			name = fmt.Sprintf("ckpt-%s-T%d", strings.TrimSuffix(filepath.Base(c.ckpt), filepath.Ext(c.ckpt)), c.T)
		}
		c.dir = filepath.Join(root, "out", "peers", name)
	}
	if c.dir, err = filepath.Abs(c.dir); err != nil {
		return nil, err
	}
	return &c, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// run prepares the artifacts, times every selected runtime and builds the
// report. Progress goes to logw.
func run(c *config, logw io.Writer) (*Report, error) {
	if err := ensureArtifacts(c, logw); err != nil {
		return nil, err
	}
	rep := &Report{Meta: Meta{
		Config: c.model, Ckpt: c.ckpt, T: c.T, Seed: c.seed, Threads: c.threads, Runs: c.runs, Warmup: c.warmup,
		GOMAXPROCS: runtime.GOMAXPROCS(0), CPU: benchstat.CPUName(), Load: loadAvg(), Dir: c.dir, Start: time.Now().UTC().Format(time.RFC3339),
	}}
	sets, err := prepareModels(c, logw)
	if err != nil {
		return nil, err
	}
	if c.peers["ours"] {
		rows, err := runOurs(c, sets, logw)
		if err != nil {
			return nil, err
		}
		rep.Rows = append(rep.Rows, rows...)
	}
	if c.peers["litert"] {
		rows, meta := runLiteRT(c, sets, logw)
		rep.Rows = append(rep.Rows, rows...)
		rep.Meta.LiteRT = meta
	}
	if c.peers["ort"] {
		rows, version := runORT(c, sets, logw)
		rep.Rows = append(rep.Rows, rows...)
		rep.Meta.ORTVersion = version
	}
	if c.peers["pytorch"] {
		rows, version := runPyTorch(c, sets, logw)
		rep.Rows = append(rep.Rows, rows...)
		rep.Meta.TorchVersion = version
	}
	rep.Meta.LoadEnd = loadAvg()
	rep.finish()
	return rep, nil
}

// loadAvg is /proc/loadavg's 1, 5 and 15 minute averages ("" if unknown).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
