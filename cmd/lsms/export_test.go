package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/model/bundle"
	"github.com/lsms-edge/lsms/synth/dataset"
)

// exportGolden exports the small golden model of model/lsms/testdata
// (S = 64, T = 16, vocab 64) into a bundle and returns its directory.
func exportGolden(t *testing.T, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	voc := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]"}
	for k := 4; k < 64; k++ {
		voc = append(voc, fmt.Sprintf("tok%d", k))
	}
	vp := filepath.Join(dir, "vocab.txt")
	os.WriteFile(vp, []byte(strings.Join(voc, "\n")+"\n"), 0o644)
	out := filepath.Join(dir, "bundle")
	var o, e bytes.Buffer
	args := append([]string{"export", "--weights", "../../model/lsms/testdata/lsms.safetensors",
		"--vocab", vp, "--out", out}, extra...)
	if code := run(args, &o, &e); code != 0 {
		t.Fatalf("export: exit %d: %s", code, e.String())
	}
	return out
}

func TestExportAndSegment(t *testing.T) {
	b := exportGolden(t, "--combined")
	bd, err := bundle.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	m := bd.Manifest
	if m.InputSize != 64 || m.Tokenizer.T != 16 || m.Precision != "float32" || len(m.Files) != 4 {
		t.Errorf("manifest: size %d T %d precision %s files %d", m.InputSize, m.Tokenizer.T, m.Precision, len(m.Files))
	}
	if m.Preprocess.HUWindow != [2]float64{-160, 240} || m.Threshold != 0.5 {
		t.Errorf("manifest: window %v threshold %g (from the export JSON)", m.Preprocess.HUWindow, m.Threshold)
	}
	// The combined file runs each signature.
	var o, e bytes.Buffer
	if code := run([]string{"inspect", "--json", bd.Path(bundle.RoleCombined)}, &o, &e); code != 0 {
		t.Fatalf("inspect combined: %s", e.String())
	}
	// Segment a 16-bit PNG (HU + 32768) at a size other than S.
	dir := t.TempDir()
	png := filepath.Join(dir, "slice.png")
	writeHUPNG(t, png, 90, 70)
	out := filepath.Join(dir, "out")
	o.Reset()
	e.Reset()
	if code := run([]string{"segment", "--model", b, "--expr", "tok5 tok9", "--out", out, "--json", png}, &o, &e); code != 0 {
		t.Fatalf("segment: exit %d: %s", code, e.String())
	}
	var rep SegmentReport
	if err := json.Unmarshal(o.Bytes(), &rep); err != nil {
		t.Fatalf("segment --json: %v\n%s", err, o.String())
	}
	if len(rep.Slices) != 1 || rep.Slices[0].Rows != 70 || rep.Slices[0].Cols != 90 {
		t.Fatalf("report: %+v", rep.Slices)
	}
	for _, f := range []string{"report.json", rep.Slices[0].Overlay, rep.Slices[0].Mask} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("output %s: %v", f, err)
		}
	}
	// A corrupted bundle is refused with the file named.
	vp := filepath.Join(b, "lsms_text.tflite")
	data, _ := os.ReadFile(vp)
	data[100] ^= 0xff
	os.WriteFile(vp, data, 0o644)
	e.Reset()
	if code := run([]string{"segment", "--model", b, "--expr", "tok5", png}, &o, &e); code != 1 || !strings.Contains(e.String(), "lsms_text.tflite") {
		t.Errorf("corrupt bundle: exit %d, %s", code, e.String())
	}
}

func TestExportErrors(t *testing.T) {
	var o, e bytes.Buffer
	if code := run([]string{"export", "--weights", "x"}, &o, &e); code != 2 {
		t.Errorf("missing flags: exit %d", code)
	}
	dir := t.TempDir()
	vp := filepath.Join(dir, "vocab.txt")
	os.WriteFile(vp, []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n"), 0o644)
	e.Reset()
	code := run([]string{"export", "--weights", "../../model/lsms/testdata/lsms.safetensors", "--vocab", vp, "--out", filepath.Join(dir, "b")}, &o, &e)
	if code != 1 || !strings.Contains(e.String(), "vocab_size") {
		t.Errorf("short vocab: exit %d, %s", code, e.String())
	}
}

func TestSegmentManifest(t *testing.T) {
	b := exportGolden(t)
	// A tiny synthetic set: its expressions use words outside the golden
	// vocabulary ([UNK]); the test checks the plumbing (Dice computed
	// against the ground truth, report, overlays), not the quality.
	dir := t.TempDir()
	var o, e bytes.Buffer
	if code := run([]string{"synth", "--out", dir, "--cases", "1", "--seed", "3", "--quiet"}, &o, &e); code != 0 {
		t.Fatalf("synth: %s", e.String())
	}
	out := filepath.Join(dir, "out")
	o.Reset()
	if code := run([]string{"segment", "--model", b, "--manifest", filepath.Join(dir, "manifest.jsonl"), "--limit", "3", "--out", out}, &o, &e); code != 0 {
		t.Fatalf("segment --manifest: exit %d: %s", code, e.String())
	}
	if !strings.Contains(o.String(), "mean Dice") {
		t.Errorf("no Dice line:\n%s", o.String())
	}
	var rep SegmentReport
	data, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if err := json.Unmarshal(data, &rep); err != nil || len(rep.Slices) != 3 || rep.MeanDice == nil {
		t.Fatalf("report.json: %v %+v", err, rep)
	}
	for _, s := range rep.Slices {
		if s.Dice == nil || *s.Dice < 0 || *s.Dice > 1 || !strings.Contains(s.Expression, " ") {
			t.Errorf("slice %s: dice %v expression %q", s.Name, s.Dice, s.Expression)
		}
	}
	if !rep.Slices[1].TextCached == (rep.Slices[1].Expression == rep.Slices[0].Expression) {
		t.Errorf("text cache flag inconsistent")
	}
}

// writeHUPNG writes a w×h 16-bit PNG slice (HU + 32768): soft tissue with a
// darker disc.
func writeHUPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	hu := make([]int16, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := int16(60)
			if dx, dy := x-w/2, y-h/2; dx*dx+dy*dy < 100 {
				v = 5
			}
			hu[y*w+x] = v
		}
	}
	var buf bytes.Buffer
	if err := dataset.EncodeHU(&buf, hu, w, h, 32768); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
