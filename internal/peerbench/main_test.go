package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/internal/litert"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.model != "tiny" || len(c.sizes) != 2 || c.sizes[0] != 480 || c.sizes[1] != 256 || c.threads != 2 || c.T != 20 {
		t.Errorf("defaults: %+v", c)
	}
	if !strings.HasSuffix(c.dir, filepath.Join("out", "peers", "tiny-T20-seed1")) {
		t.Errorf("default dir %s", c.dir)
	}
	for _, bad := range [][]string{
		{"-sizes", "100"}, {"-sizes", "480,x"}, {"-config", "huge"}, {"-peers", "ours,tvm"},
		{"-runs", "0"}, {"-threads", "0"}, {"-warmup", "-1"}, {"extra"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	c, err = parseFlags([]string{"-peers", "ours,ort", "-sizes", "64", "-dir", "rel"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.peers["ours"] || !c.peers["ort"] || c.peers["litert"] || !filepath.IsAbs(c.dir) {
		t.Errorf("parsed %+v", c)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %g, want %g", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestReportRatiosAndChecks(t *testing.T) {
	rep := &Report{Meta: Meta{Config: "tiny", T: 20, Threads: 2, Runs: 3}}
	add := func(size int, rt, dt string, ms ...float64) {
		r := Row{Size: size, Runtime: rt, DType: dt, Threads: 2}
		r.setTimes(ms)
		rep.Rows = append(rep.Rows, r)
	}
	add(256, "ours", "float32", 10, 12, 11)
	add(480, "litert", "int8", 80, 81, 79)
	add(480, "ours", "int8", 20, 30, 25)
	add(480, "onnxruntime", "float32", 50, 50, 50)
	add(480, "ours", "float32", 70, 60, 80)
	rep.Rows = append(rep.Rows, Row{Size: 480, Runtime: "pytorch", DType: "float32", Err: "no torch\nmore"})
	rep.finish()
	if rep.Rows[0].Size != 480 || rep.Rows[0].Runtime != "ours" || rep.Rows[len(rep.Rows)-1].Size != 256 {
		t.Errorf("order: %+v", rep.Rows)
	}
	var oursI8 *Row
	for i := range rep.Rows {
		if r := &rep.Rows[i]; r.Size == 480 && r.Runtime == "ours" && r.DType == "int8" {
			oursI8 = r
		}
	}
	if oursI8 == nil || oursI8.MedianMS != 25 || oursI8.MinMS != 20 || oursI8.VsORT != 0.5 || math.Abs(oursI8.VsLiteRTInt8-25.0/80) > 1e-12 {
		t.Fatalf("ours int8 row %+v", oursI8)
	}
	wantChecks := []float64{0.5, 25.0 / 80, 1.4}
	if len(rep.Checks) != 3 {
		t.Fatalf("checks %+v", rep.Checks)
	}
	for i, c := range rep.Checks {
		if math.Abs(c.Ratio-wantChecks[i]) > 1e-12 || !c.Met {
			t.Errorf("check %d: %+v, want ratio %g met", i, c, wantChecks[i])
		}
	}
	var b bytes.Buffer
	printReport(&b, rep)
	out := b.String()
	for _, want := range []string{"0.50", "error: no torch", "acceptance: ours int8 / LiteRT int8 at 480×480 = 0.31 (≤ 0.50) met"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestSetDiff(t *testing.T) {
	var r Row
	r.setDiff([]float32{1, 2.5, -4}, []float32{1, 2, -4})
	if !r.HasDiff || r.RelDiff != 0.125 {
		t.Errorf("diff %+v", r)
	}
	r = Row{}
	r.setDiff([]float32{float32(math.NaN()), 0}, []float32{1, 0})
	if !math.IsInf(r.RelDiff, 1) {
		t.Errorf("NaN output: diff %g", r.RelDiff)
	}
	r = Row{}
	r.setDiff([]float32{1}, []float32{1, 2})
	if r.HasDiff || !strings.Contains(r.Note, "1 values") {
		t.Errorf("length mismatch: %+v", r)
	}
}

func TestArtifactsMatch(t *testing.T) {
	dir := t.TempDir()
	c := &config{model: "edge", sizes: []int{64}, T: 8, seed: 3}
	if why := artifactsMatch(c, dir); why != "no peers.json" {
		t.Errorf("empty dir: %q", why)
	}
	write := func(m peersMeta) {
		b, _ := json.Marshal(m)
		if err := os.WriteFile(filepath.Join(dir, "peers.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := peersMeta{Format: "lsms-peers/v1", Config: "edge", Sizes: []int{64, 32}, T: 8, Seed: 3, Files: []string{"a.npy"}}
	write(m)
	if why := artifactsMatch(c, dir); why != "missing a.npy" {
		t.Errorf("missing file: %q", why)
	}
	os.WriteFile(filepath.Join(dir, "a.npy"), nil, 0o644)
	if why := artifactsMatch(c, dir); why != "" {
		t.Errorf("match: %q", why)
	}
	for _, mod := range []func(*config){
		func(c *config) { c.T = 9 }, func(c *config) { c.seed = 4 }, func(c *config) { c.model = "tiny" },
		func(c *config) { c.sizes = []int{480} }, func(c *config) { c.ckpt = "x.pt" },
	} {
		cc := *c
		mod(&cc)
		if why := artifactsMatch(&cc, dir); why == "" {
			t.Errorf("%+v matches %+v", cc, m)
		}
	}
}

func TestCalibData(t *testing.T) {
	const s = 32
	in := map[string][]float32{"image": make([]float32, s*s), "words": make([]float32, 6), "mask": {1, 1, 0}}
	for i := range in["image"] {
		in["image"][i] = float32(i%s) / s
	}
	d := calibData(in, s, 1)
	x0, _ := d(0)
	if &x0["image"].([]float32)[0] != &in["image"][0] {
		t.Error("input 0 is not the saved input")
	}
	a, _ := d(3)
	b, _ := d(3)
	img := a["image"].([]float32)
	for i, v := range img {
		if v < 0 || v > 1 || v != b["image"].([]float32)[i] {
			t.Fatalf("input 3 pixel %d = %g (not in [0,1] or not deterministic)", i, v)
		}
	}
	if len(a["words"].([]float32)) != 6 || &a["mask"].([]float32)[0] != &in["mask"][0] {
		t.Error("words or mask wrong")
	}
}

// The whole run on the edge configuration at 32×32, when PyTorch, Node,
// onnxruntime-node and LiteRT.js are all installed: every runtime's
// float32 logits agree with PyTorch's.
func TestEndToEndEdge(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	root, err := litert.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := ortAvailable(root); err != nil {
		t.Skip(err)
	}
	if err := litert.Available(); err != nil {
		t.Skip(err)
	}
	if err := exec.Command(filepath.Join(root, "train", "py"), "-c", "import torch").Run(); err != nil {
		t.Skip("PyTorch unavailable:", err)
	}
	c, err := parseFlags([]string{"-config", "edge", "-sizes", "32", "-T", "4", "-runs", "1", "-warmup", "0", "-calib", "1", "-dir", t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	rep, err := run(c, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	seen := map[string]bool{}
	for _, r := range rep.Rows {
		seen[r.Runtime+" "+r.DType] = true
		if r.Err != "" {
			t.Errorf("%s %s: %s", r.Runtime, r.DType, r.Err)
			continue
		}
		if r.MedianMS <= 0 {
			t.Errorf("%s %s: no time", r.Runtime, r.DType)
		}
		if r.DType == "float32" && (!r.HasDiff || r.RelDiff > 1e-4) {
			t.Errorf("%s float32: relative difference from PyTorch %g", r.Runtime, r.RelDiff)
		}
	}
	for _, k := range []string{"ours float32", "ours int8", "onnxruntime float32", "pytorch float32", "litert float32", "litert int8"} {
		if !seen[k] {
			t.Errorf("no %s row", k)
		}
	}
	if len(rep.Checks) != 3 {
		t.Errorf("checks %+v", rep.Checks)
	}
}
