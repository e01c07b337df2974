package model_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/internal/litert"
	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/model"
	"github.com/lsms-edge/lsms/model/bundle"
	"github.com/lsms-edge/lsms/model/lsms"
	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/tflite"
)

const golden = "lsms/testdata"

// goldenBundle writes a bundle of the small golden model (model/lsms/testdata:
// S = 64, T = 16, vocab 64) with a vocabulary whose token "tokK" has id K,
// so that a text of such tokens encodes to chosen ids.
func goldenBundle(t testing.TB) string {
	t.Helper()
	return goldenBundleROI(t, nil)
}

// goldenBundleROI is goldenBundle with a region of interest in the manifest.
func goldenBundleROI(t testing.TB, roi *[4]float64) string {
	t.Helper()
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
	_, err = bundle.Write(dir, bundle.Manifest{
		Name: "golden", Precision: "float32", Model: []byte(`{"name":"golden"}`), InputSize: S,
		Preprocess: bundle.Preprocess{HUWindow: [2]float64{-160, 240}, ROI: roi},
		Tokenizer:  bundle.Tokenizer{Vocab: "vocab.txt", T: T, Lowercase: true, StripAccents: true},
		Threshold:  0.5,
	}, []bundle.Content{
		{Role: bundle.RoleText, Path: "lsms_text.tflite", Data: tb},
		{Role: bundle.RoleVision, Path: "lsms_vision.tflite", Data: vb},
		{Role: bundle.RoleVocab, Path: "vocab.txt", Data: []byte(strings.Join(voc, "\n") + "\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func readNpy(t testing.TB, path string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// textFor renders golden ids ([CLS] ids... [SEP] [PAD]...) as "tokK ..." text.
func textFor(ids []int32) string {
	var words []string
	for _, id := range ids[1:] {
		if id == 3 {
			break
		}
		words = append(words, fmt.Sprintf("tok%d", id))
	}
	return strings.Join(words, " ")
}

func maxAbsDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestSegmenterGolden: the Segmenter (tokenizer → text graph → HU window →
// vision graph → resize back) on the golden cases gives PyTorch's logits, and
// LiteRT running the same bundle graphs gives the same.
func TestSegmenterGolden(t *testing.T) {
	dir := goldenBundle(t)
	seg, err := model.Open(dir, model.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	var lrCases []litert.Case
	var ours [][]float32
	b := seg.Bundle()
	textBytes, _ := os.ReadFile(b.Path(bundle.RoleText))
	visionBytes, _ := os.ReadFile(b.Path(bundle.RoleVision))
	for k := 0; k < 2; k++ {
		img := readNpy(t, fmt.Sprintf("%s/case%d_image.npy", golden, k)).Data.([]float32)
		ids := readNpy(t, fmt.Sprintf("%s/case%d_ids.npy", golden, k)).Data.([]int32)
		want := readNpy(t, fmt.Sprintf("%s/case%d_logits.npy", golden, k)).Data.([]float32)
		hu := make([]float32, len(img))
		for i, v := range img {
			hu[i] = v*400 - 160
		}
		r, err := seg.Segment(model.Slice{Rows: 64, Cols: 64, HU: hu, Spacing: [2]float64{0.7, 0.7}}, textFor(ids))
		if err != nil {
			t.Fatal(err)
		}
		got := seg.Logits()
		if d := maxAbsDiff(got, want); d > 1e-3 {
			t.Errorf("case %d: logits differ from PyTorch by %.3g (> 1e-3)", k, d)
		} else {
			t.Logf("case %d: max |ours - PyTorch| = %.3g", k, d)
		}
		same := 0
		for i := range want {
			if (want[i] > 0) == (r.Mask[i] != 0) {
				same++
			}
		}
		if frac := float64(same) / float64(len(want)); frac < 0.999 {
			t.Errorf("case %d: masks agree on %.4f of pixels, want >= 0.999", k, frac)
		}
		if r.TextCached {
			t.Errorf("case %d: first use of an expression reported as cached", k)
		}
		if r2, _ := seg.Segment(model.Slice{Rows: 64, Cols: 64, HU: hu}, textFor(ids)); r2 == nil || !r2.TextCached {
			t.Errorf("case %d: second use of an expression not cached", k)
		}
		image, words, mask := seg.LastInputs()
		ours = append(ours, got)
		mk := func(d any, shape ...int) *npy.Array {
			a, err := npy.New(d, shape...)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		lrCases = append(lrCases,
			litert.Case{Model: textBytes, Inputs: []*npy.Array{mk(ids, 1, 16), mk(mask, 1, 16)}},
			litert.Case{Model: visionBytes, Inputs: []*npy.Array{mk(image, 1, 64, 64, 1), mk(words, 1, 16, len(words)/16), mk(mask, 1, 16)}})
	}
	if err := litert.Available(); err != nil {
		litert.Require(t)
		return
	}
	res, err := litert.Run(lrCases)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 2; k++ {
		if res[2*k].Err != nil || res[2*k+1].Err != nil {
			t.Fatalf("case %d: LiteRT: %v %v", k, res[2*k].Err, res[2*k+1].Err)
		}
		lr := res[2*k+1].Outputs[0].Data.([]float32)
		if d := maxAbsDiff(lr, ours[k]); d > 1e-3 {
			t.Errorf("case %d: LiteRT logits differ from ours by %.3g", k, d)
		} else {
			t.Logf("case %d: max |LiteRT - ours| = %.3g", k, d)
		}
	}
}

func TestBundleLoadErrors(t *testing.T) {
	dir := goldenBundle(t)
	if _, err := bundle.Load(dir); err != nil {
		t.Fatal(err)
	}
	// A changed byte in a graph is refused, naming the file.
	p := filepath.Join(dir, "lsms_vision.tflite")
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 1
	os.WriteFile(p, data, 0o644)
	_, err := bundle.Load(dir)
	if err == nil || !strings.Contains(err.Error(), "lsms_vision.tflite") || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("corrupt vision graph: err %v, want a sha256 mismatch naming the file", err)
	}
	// Another format version is refused.
	mp := filepath.Join(dir, bundle.ManifestName)
	m, _ := os.ReadFile(mp)
	os.WriteFile(mp, []byte(strings.Replace(string(m), bundle.Format, "lsms-bundle/v9", 1)), 0o644)
	if _, err := bundle.Load(dir); err == nil || !strings.Contains(err.Error(), "lsms-bundle/v9") {
		t.Errorf("v9 manifest: err %v, want a format error naming the version", err)
	}
	if _, err := bundle.Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "manifest.json") {
		t.Errorf("empty dir: err %v", err)
	}
	// Truncated file.
	dir2 := goldenBundle(t)
	os.Truncate(filepath.Join(dir2, "vocab.txt"), 10)
	if _, err := bundle.Load(dir2); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("truncated vocab: err %v", err)
	}
}

func TestSegmentBadInput(t *testing.T) {
	seg, err := model.Open(goldenBundle(t), model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	if _, err := seg.Segment(model.Slice{Rows: 4, Cols: 4, HU: make([]float32, 15)}, "tok5"); err == nil {
		t.Error("15 values for 4x4: no error")
	}
	nan := make([]float32, 16)
	nan[3] = float32(math.NaN())
	if _, err := seg.Segment(model.Slice{Rows: 4, Cols: 4, HU: nan}, "tok5"); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN pixel: err %v", err)
	}
	// Non-square native sizes resize in and out.
	r, err := seg.Segment(model.Slice{Rows: 100, Cols: 37, HU: make([]float32, 3700)}, "tok5 tok6")
	if err != nil || len(r.Prob) != 3700 || len(r.Mask) != 3700 {
		t.Fatalf("100x37: %v", err)
	}
}

// TestSegmenterROI: a bundle with a region of interest segments the slice
// exactly as a bundle without one segments the box cut out by hand, with
// probability 0 and no mask outside the box.
func TestSegmenterROI(t *testing.T) {
	roi := &[4]float64{0.1, 0.2, 0.7, 0.9}
	withROI, err := model.Open(goldenBundleROI(t, roi), model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer withROI.Close()
	plain, err := model.Open(goldenBundle(t), model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	const rows, cols = 90, 110
	box, err := model.ROIBox(roi, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	// floor(0.1·110+0.5)=11, floor(0.7·110+0.5)=77, floor(0.2·90+0.5)=18, floor(0.9·90+0.5)=81
	if want := (model.Box{Y0: 18, Y1: 81, X0: 11, X1: 77}); box != want {
		t.Fatalf("ROIBox = %+v, want %+v", box, want)
	}
	hu := make([]float32, rows*cols)
	for i := range hu {
		y, x := float64(i/cols), float64(i%cols)
		hu[i] = float32(40 + 150*math.Sin(x/7)*math.Cos(y/5)) // structure, so the logits vary
	}
	bh, bw := box.Y1-box.Y0, box.X1-box.X0
	crop := make([]float32, 0, bh*bw)
	for y := box.Y0; y < box.Y1; y++ {
		crop = append(crop, hu[y*cols+box.X0:y*cols+box.X1]...)
	}
	got, err := withROI.Segment(model.Slice{Rows: rows, Cols: cols, HU: hu}, "tok5 tok9")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := plain.Segment(model.Slice{Rows: bh, Cols: bw, HU: crop}, "tok5 tok9")
	if err != nil {
		t.Fatal(err)
	}
	pixels, inside := 0, 0
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			i := y*cols + x
			in := y >= box.Y0 && y < box.Y1 && x >= box.X0 && x < box.X1
			if !in {
				if got.Prob[i] != 0 || got.Mask[i] != 0 {
					t.Fatalf("(%d,%d) outside the box: prob %g mask %d", y, x, got.Prob[i], got.Mask[i])
				}
				continue
			}
			j := (y-box.Y0)*bw + x - box.X0
			if got.Prob[i] != ref.Prob[j] || got.Mask[i] != ref.Mask[j] {
				t.Fatalf("(%d,%d): prob %g mask %d, the hand-cut box gives %g %d", y, x, got.Prob[i], got.Mask[i], ref.Prob[j], ref.Mask[j])
			}
			pixels += int(got.Mask[i])
			if got.Prob[i] > 0.01 && got.Prob[i] < 0.99 {
				inside++
			}
		}
	}
	if pixels != got.Pixels || got.Pixels != ref.Pixels {
		t.Errorf("pixels %d, counted %d, hand-cut %d", got.Pixels, pixels, ref.Pixels)
	}
	if inside == 0 {
		t.Error("every probability in the box is saturated: the comparison says little")
	}
	// A 1×1 slice: the box rounds to its one pixel.
	if r, err := withROI.Segment(model.Slice{Rows: 1, Cols: 1, HU: []float32{0}}, "tok5"); err != nil || len(r.Prob) != 1 {
		t.Errorf("1x1 slice with an roi: %v", err)
	}
}

// TestROIBox: the box rule shared with train/lsms/data.py roi_box (the same
// cases are in train/tests/test_data.py).
func TestROIBox(t *testing.T) {
	for _, c := range []struct {
		roi        *[4]float64
		rows, cols int
		want       model.Box
	}{
		{nil, 512, 512, model.Box{0, 512, 0, 512}},
		{&[4]float64{0.03125, 0.15625, 0.71875, 0.84375}, 512, 512, model.Box{80, 432, 16, 368}},
		{&[4]float64{0.03125, 0.15625, 0.71875, 0.84375}, 333, 401, model.Box{52, 281, 13, 288}},
		{&[4]float64{0, 0, 1, 1}, 7, 9, model.Box{0, 7, 0, 9}},
		{&[4]float64{0.25, 0.25, 0.75, 0.75}, 2, 2, model.Box{1, 2, 1, 2}},
	} {
		got, err := model.ROIBox(c.roi, c.rows, c.cols)
		if err != nil || got != c.want {
			t.Errorf("ROIBox(%v, %d, %d) = %+v, %v; want %+v", c.roi, c.rows, c.cols, got, err, c.want)
		}
	}
	if _, err := model.ROIBox(&[4]float64{0.4, 0.4, 0.45, 0.45}, 4, 4); err == nil {
		t.Error("empty box: no error")
	}
	if err := bundle.CheckROI(&[4]float64{0.5, 0, 0.4, 1}); err == nil {
		t.Error("x0 > x1 accepted")
	}
}

var _ = tflite.Float32
