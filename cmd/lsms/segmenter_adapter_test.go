package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/dimse"
	"github.com/lsms-edge/lsms/device/session/sessiontest"
	"github.com/lsms-edge/lsms/model/bundle"
	"github.com/lsms-edge/lsms/model/lsms"
	"github.com/lsms-edge/lsms/model/safetensors"
)

// goldenBundle writes a bundle of model/lsms's small golden model (S = 64,
// T = 16), as model's own tests do: trained weights, meaningless on CT, but
// a real bundle through the real runtime.
func goldenBundle(t *testing.T) string {
	t.Helper()
	const golden = "../../model/lsms/testdata"
	w, err := safetensors.Open(filepath.Join(golden, "lsms.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cfg, err := lsms.LoadConfig(filepath.Join(golden, "lsms.json"))
	if err != nil {
		t.Fatal(err)
	}
	const S, T = 64, 16
	text, err := lsms.BuildText(w, cfg, T)
	if err != nil {
		t.Fatal(err)
	}
	vision, err := lsms.BuildVision(w, cfg, S, T)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := text.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	vb, err := vision.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	voc := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]"}
	for k := 4; k < cfg.Text.VocabSize; k++ {
		voc = append(voc, fmt.Sprintf("tok%d", k))
	}
	dir := t.TempDir()
	if _, err := bundle.Write(dir, bundle.Manifest{
		Name: "golden", Precision: "float32", Model: []byte(`{"name":"golden"}`), InputSize: S,
		Preprocess: bundle.Preprocess{HUWindow: [2]float64{-160, 240}},
		Tokenizer:  bundle.Tokenizer{Vocab: "vocab.txt", T: T, Lowercase: true, StripAccents: true},
		Threshold:  0.5,
	}, []bundle.Content{
		{Role: bundle.RoleText, Path: "lsms_text.tflite", Data: tb},
		{Role: bundle.RoleVision, Path: "lsms_vision.tflite", Data: vb},
		{Role: bundle.RoleVocab, Path: "vocab.txt", Data: []byte(strings.Join(voc, "\n") + "\n")},
	}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSCPModelBundle runs the SCP with a real model bundle through the
// adapter: every slice is segmented by the model, at native size.
func TestSCPModelBundle(t *testing.T) {
	dir := goldenBundle(t)
	sp := segmenterSpec{Model: dir, Backend: "native", Threads: 1, Instances: 2}
	seg, err := sp.open()
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	if seg.Name != "LSMS golden" || !strings.Contains(seg.Version, "float32") {
		t.Errorf("name %q version %q", seg.Name, seg.Version)
	}
	// Straight through the adapter: sizes at native resolution.
	p := sessiontest.Sphere(48, 80, 6, 0.8, 5, 10)
	sl, _, data, ts, err := p.DataSets(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	prob, mask, err := seg.Segment(context.Background(), sl[3], "tok7 tok9")
	if err != nil {
		t.Fatal(err)
	}
	if len(prob) != 48*80 || len(mask) != 48*80 {
		t.Fatalf("prob %d mask %d values for 48×80", len(prob), len(mask))
	}
	for i, v := range prob {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("prob[%d] = %v", i, v)
		}
	}

	o := &scpOptions{daemonOptions: daemonOptions{out: t.TempDir(), expr: "tok5 tok6 tok7"}}
	srv, stop := testSCP(t, o, seg)
	c, err := dimse.Dial(context.Background(), srv.Addr().String(), dimse.ClientConfig{CallingAE: "CONSOLE", CalledAE: "LSMS"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range sl {
		if err := c.Store(context.Background(), dicom.CTImageStorage, sl[i].SOPInstanceUID, ts, data[i]); err != nil {
			t.Fatal(err)
		}
	}
	c.Release(context.Background())
	stop()
	sum, err := srv.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if c := sum.Counters; c.Segmented != 6 || c.Failed != 0 || !sum.Balanced {
		t.Fatalf("counters %+v", c)
	}
}

func TestSegmenterSpecErrors(t *testing.T) {
	for _, sp := range []segmenterSpec{
		{},
		{Model: "x", Diag: "threshold:0:1"},
		{Diag: "threshold:2:1"},
		{Model: t.TempDir(), Instances: 0},
		{Model: t.TempDir(), Instances: 1},
	} {
		if _, err := sp.open(); err == nil {
			t.Errorf("%+v: no error", sp)
		}
	}
}
