package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/model/bundle"
	"github.com/lsms-edge/lsms/model/lsms"
)

func TestQuantizeBundle(t *testing.T) {
	b := exportGolden(t)
	dir := t.TempDir()
	var o, e bytes.Buffer
	if code := run([]string{"synth", "--out", dir, "--cases", "1", "--seed", "4", "--quiet"}, &o, &e); code != 0 {
		t.Fatalf("synth: %s", e.String())
	}
	man := filepath.Join(dir, "manifest.jsonl")
	for _, mode := range []string{"int8", "fp16", "dynamic"} {
		out := filepath.Join(dir, mode)
		rep := filepath.Join(dir, mode+".md")
		o.Reset()
		e.Reset()
		args := []string{"quantize", b, "--calib", man, "--calib-split", "all", "--n", "4", "--mode", mode,
			"--out", out, "--report", rep, "--quiet"}
		// the synth set of one case has a single split; calibrate on it
		args[5] = splitOf(t, man)
		if code := run(args, &o, &e); code != 0 {
			t.Fatalf("%s: exit %d: %s", mode, code, e.String())
		}
		qb, err := bundle.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		fb, _ := bundle.Load(b)
		want := map[string]string{"int8": "int8", "fp16": "float16", "dynamic": "dynamic-int8"}[mode]
		if qb.Manifest.Precision != want {
			t.Errorf("%s: precision %q", mode, qb.Manifest.Precision)
		}
		ratio := float64(qb.Size()) / float64(fb.Size())
		if ratio >= 0.8 { // tiny graphs: structure and vocab dominate; the real ratio is in the report
			t.Errorf("%s: bundle is %.2f of the float one", mode, ratio)
		}
		md, err := os.ReadFile(rep)
		if err != nil || !strings.Contains(string(md), "SQNR") {
			t.Errorf("%s: report %v: %.200s", mode, err, md)
		}
		o.Reset()
		if code := run([]string{"segment", "--model", out, "--manifest", man, "--limit", "2"}, &o, &e); code != 0 {
			t.Errorf("%s: segment with the quantized bundle: %s", mode, e.String())
		}
	}
	// --float-ops patterns apply to the graph they match: the shipped
	// bundle's list keeps ops float32 in both graphs; a pattern that
	// matches neither is refused.
	floatOps := strings.Join(append(append([]string{}, lsms.TextFloatOps...), lsms.VisionFloatOps...), ",")
	rep := filepath.Join(dir, "float-ops.md")
	e.Reset()
	if code := run([]string{"quantize", b, "--calib", man, "--calib-split", splitOf(t, man), "--n", "4", "--mode", "int8",
		"--float-ops", floatOps, "--out", filepath.Join(dir, "int8-float-ops"), "--report", rep, "--quiet"}, &o, &e); code != 0 {
		t.Fatalf("--float-ops: exit %d: %s", code, e.String())
	}
	md, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	text, vision, ok := strings.Cut(string(md), "## vision graph")
	if !ok || !strings.Contains(text, "## text graph") {
		t.Fatalf("report without the two graphs: %.300s", md)
	}
	for name, part := range map[string]string{"text": text, "vision": vision} {
		if !strings.Contains(part, "float ops option") {
			t.Errorf("%s graph: no op kept float by the option", name)
		}
	}
	e.Reset()
	if code := run([]string{"quantize", b, "--calib", man, "--calib-split", splitOf(t, man), "--n", "4", "--mode", "int8",
		"--float-ops", "text.*.probs,nowhere.*", "--out", filepath.Join(dir, "bad"), "--quiet"}, &o, &e); code == 0 || !strings.Contains(e.String(), `"nowhere.*"`) || strings.Contains(e.String(), "probs") {
		t.Errorf("unmatched float op: exit %d: %s", code, e.String())
	}
	// Quantizing a quantized bundle is refused.
	e.Reset()
	if code := run([]string{"quantize", filepath.Join(dir, "int8"), "--calib", man, "--out", filepath.Join(dir, "x")}, &o, &e); code != 1 || !strings.Contains(e.String(), "already int8") {
		t.Errorf("re-quantize: exit %d %s", code, e.String())
	}
	if code := run([]string{"quantize", b, "--mode", "int8", "--out", filepath.Join(dir, "y")}, &o, &e); code != 2 {
		t.Errorf("int8 without --calib: exit %d", code)
	}
}

func splitOf(t *testing.T, manifest string) string {
	recs, _, err := readManifest(manifest)
	if err != nil || len(recs) == 0 {
		t.Fatal(err)
	}
	return recs[0].Split
}
