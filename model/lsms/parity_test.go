// Parity of the TFLite graphs with PyTorch (goldens in testdata/) and with
// LiteRT (the official runtime, via internal/litert) on the same files.
//
// Regenerate the goldens (tiny random edge-architecture model, 64×64, T=16)
// from the repository root with:
//
//	train/py -m train.golden --out model/lsms/testdata
//
//go:generate sh -c "cd ../.. && train/py -m train.golden --out model/lsms/testdata"
//go:generate sh -c "cd ../.. && train/py -m train.golden --out model/lsms/testdata/coords --coords"
package lsms

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/lsms-edge/lsms/internal/litert"
	"github.com/lsms-edge/lsms/internal/npy"
	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/runtime/interp"
	"github.com/lsms-edge/lsms/tflite"
)

const (
	goldenSize = 64
	goldenT    = 16
	// Tolerances relative to max|reference|.
	tolPyTorch = 1e-4
	tolLiteRT  = 1e-4
)

type goldenCase struct {
	image, ids, mask, words, logits, logits64 *npy.Array
}

func loadGolden(t *testing.T) (*safetensors.File, Config, []goldenCase) {
	return loadGoldenDir(t, "testdata")
}

func loadGoldenDir(t *testing.T, dir string) (*safetensors.File, Config, []goldenCase) {
	t.Helper()
	w, err := safetensors.Open(filepath.Join(dir, "lsms.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	cfg, err := ConfigFromWeights(w)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	for k := 0; ; k++ {
		p := func(n string) string { return filepath.Join(dir, fmt.Sprintf("case%d_%s.npy", k, n)) }
		if _, err := os.Stat(p("image")); err != nil {
			break
		}
		var c goldenCase
		for _, f := range []struct {
			dst  **npy.Array
			name string
		}{{&c.image, "image"}, {&c.ids, "ids"}, {&c.mask, "mask"}, {&c.words, "words"}, {&c.logits, "logits"}, {&c.logits64, "logits64"}} {
			a, err := npy.ReadFile(p(f.name))
			if err != nil {
				t.Fatal(err)
			}
			*f.dst = a
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatalf("no golden cases in %s", dir)
	}
	return w, cfg, cases
}

// run invokes a model (a signature, or the first subgraph) with our interpreter.
func run(t *testing.T, m *tflite.Model, sig string, threads int, inputs ...*npy.Array) []float32 {
	t.Helper()
	it, err := interp.New(m, interp.Options{Threads: threads, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range inputs {
		if err := it.SetInput(i, a.Data); err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, it.OutputTensor(0).NumElements())
	if err := it.Output(0, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// relErr is max|got−ref| / max|ref|; non-finite values fail.
func relErr(t *testing.T, what string, got, ref []float32) float64 {
	t.Helper()
	if len(got) != len(ref) {
		t.Fatalf("%s: %d values, reference %d", what, len(got), len(ref))
	}
	maxRef, maxErr := 0.0, 0.0
	for i := range got {
		g, r := float64(got[i]), float64(ref[i])
		if math.IsNaN(g) || math.IsInf(g, 0) || math.IsNaN(r) || math.IsInf(r, 0) {
			t.Fatalf("%s: non-finite value at %d: got %g, reference %g", what, i, g, r)
		}
		maxRef = max(maxRef, math.Abs(r))
		maxErr = max(maxErr, math.Abs(g-r))
	}
	return maxErr / max(maxRef, 1e-30)
}

func f32(a *npy.Array) []float32 { return a.Data.([]float32) }

func arr(shape []int, v []float32) *npy.Array {
	return &npy.Array{DType: "float32", Shape: shape, Data: v}
}

// roundTrip marshals and re-reads a model, as a file would be used.
func roundTrip(t *testing.T, m *tflite.Model) (*tflite.Model, []byte) {
	t.Helper()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := tflite.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	return m2, data
}

func TestParityPyTorch(t *testing.T) {
	// testdata/coords: the same tiny model with coordinate input channels
	// (coord_chans 2) and coordinates at every ω_v1 (attn_coords), whose
	// responses the graph folds into constant maps.
	for _, dir := range []string{"testdata", "testdata/coords"} {
		t.Run(filepath.Base(dir), func(t *testing.T) { parityPyTorch(t, dir) })
	}
}

func parityPyTorch(t *testing.T, dir string) {
	w, cfg, cases := loadGoldenDir(t, dir)
	if dir != "testdata" && (cfg.CoordChans == 0 || !cfg.AttnCoords) {
		t.Fatalf("%s: expected a model with coordinate channels", dir)
	}
	text, err := BuildText(w, cfg, goldenT)
	if err != nil {
		t.Fatal(err)
	}
	vis, err := BuildVision(w, cfg, goldenSize, goldenT)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := BuildSegment(w, cfg, goldenSize, goldenT)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := BuildBundle(w, cfg, goldenSize, goldenT)
	if err != nil {
		t.Fatal(err)
	}
	text, _ = roundTrip(t, text)
	vis, _ = roundTrip(t, vis)
	seg, _ = roundTrip(t, seg)
	bundle, _ = roundTrip(t, bundle)
	visGPU, err := BuildVision(w, cfg, goldenSize, goldenT, Options{GPUGELU: true})
	if err != nil {
		t.Fatal(err)
	}
	visGPU, _ = roundTrip(t, visGPU)
	foldPostNorms = false
	visNoFold, err := BuildVision(w, cfg, goldenSize, goldenT)
	foldPostNorms = true
	if err != nil {
		t.Fatal(err)
	}
	for k, c := range cases {
		ref64 := make([]float32, c.logits64.Len())
		for i, x := range c.logits64.Data.([]float64) {
			ref64[i] = float32(x)
		}
		t.Logf("case %d: PyTorch float32 vs float64: %.3g × max|ref|", k, relErr(t, "logits", f32(c.logits), ref64))
		for _, v := range []struct {
			name string
			m    *tflite.Model
		}{{"vision", vis}, {"vision GPUGELU", visGPU}, {"vision unfolded post-norms", visNoFold}} {
			logits := run(t, v.m, "", 1, c.image, c.words, c.mask)
			e := relErr(t, "logits", logits, f32(c.logits))
			t.Logf("case %d: %s vs PyTorch: %.3g, vs PyTorch float64: %.3g (× max|ref|)", k, v.name, e, relErr(t, "logits", logits, ref64))
			if e > tolPyTorch {
				t.Errorf("case %d: %s logits differ from PyTorch by %.3g × max|ref| (limit %g)", k, v.name, e, tolPyTorch)
			}
		}
		for _, threads := range []int{1, 2} {
			words := run(t, text, "", threads, c.ids, c.mask)
			e := relErr(t, "words", words, f32(c.words))
			t.Logf("case %d threads %d: text vs PyTorch: max err %.3g × max|ref|", k, threads, e)
			if e > tolPyTorch {
				t.Errorf("case %d: words differ from PyTorch by %.3g × max|ref| (limit %g)", k, e, tolPyTorch)
			}
			// Vision on PyTorch's word features, then on ours.
			logits := run(t, vis, "", threads, c.image, c.words, c.mask)
			e = relErr(t, "logits", logits, f32(c.logits))
			t.Logf("case %d threads %d: vision vs PyTorch: max err %.3g × max|ref|", k, threads, e)
			if e > tolPyTorch {
				t.Errorf("case %d: logits differ from PyTorch by %.3g × max|ref| (limit %g)", k, e, tolPyTorch)
			}
			l2 := run(t, vis, "", threads, c.image, arr(c.words.Shape, words), c.mask)
			e = relErr(t, "logits", l2, f32(c.logits))
			t.Logf("case %d threads %d: text→vision vs PyTorch: max err %.3g × max|ref|", k, threads, e)
			if e > tolPyTorch {
				t.Errorf("case %d: text→vision logits differ from PyTorch by %.3g × max|ref|", k, e)
			}
			l3 := run(t, seg, "segment", threads, c.image, c.ids, c.mask)
			if e3 := relErr(t, "segment", l3, l2); e3 != 0 {
				t.Errorf("case %d: segment graph differs from text→vision by %.3g", k, e3)
			}
			w4 := run(t, bundle, "text", threads, c.ids, c.mask)
			l4 := run(t, bundle, "vision", threads, c.image, arr(c.words.Shape, w4), c.mask)
			if e4 := relErr(t, "bundle", l4, l2); e4 != 0 {
				t.Errorf("case %d: bundle signatures differ from text→vision by %.3g", k, e4)
			}
		}
	}
}

func TestParityLiteRT(t *testing.T) {
	litert.Require(t)
	w, cfg, cases := loadGolden(t)
	text, err := BuildText(w, cfg, goldenT)
	if err != nil {
		t.Fatal(err)
	}
	vis, err := BuildVision(w, cfg, goldenSize, goldenT)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := BuildSegment(w, cfg, goldenSize, goldenT, Options{GPUGELU: true})
	if err != nil {
		t.Fatal(err)
	}
	text, textBytes := roundTrip(t, text)
	vis, visBytes := roundTrip(t, vis)
	seg, segBytes := roundTrip(t, seg)
	var lc []litert.Case
	var ours [][]float32
	var names []string
	for k, c := range cases {
		lc = append(lc,
			litert.Case{Model: textBytes, Inputs: []*npy.Array{c.ids, c.mask}},
			litert.Case{Model: visBytes, Inputs: []*npy.Array{c.image, c.words, c.mask}},
			litert.Case{Model: segBytes, Inputs: []*npy.Array{c.image, c.ids, c.mask}})
		ours = append(ours, run(t, text, "", 1, c.ids, c.mask), run(t, vis, "", 1, c.image, c.words, c.mask), run(t, seg, "", 1, c.image, c.ids, c.mask))
		names = append(names, fmt.Sprintf("case %d text", k), fmt.Sprintf("case %d vision", k), fmt.Sprintf("case %d segment (GPUGELU)", k))
	}
	res, err := litert.Run(lc)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Errorf("%s: LiteRT: %v", names[i], r.Err)
			continue
		}
		e := relErr(t, names[i], ours[i], f32(r.Outputs[0]))
		t.Logf("%s: ours vs LiteRT: max err %.3g × max|ref|", names[i], e)
		if e > tolLiteRT {
			t.Errorf("%s: ours differs from LiteRT by %.3g × max|ref| (limit %g)", names[i], e, tolLiteRT)
		}
		// LiteRT against PyTorch too, for the record.
		k := i / 3
		ref := f32(cases[k].logits)
		if i%3 == 0 {
			ref = f32(cases[k].words)
		}
		t.Logf("%s: LiteRT vs PyTorch: max err %.3g × max|ref|", names[i], relErr(t, names[i], f32(r.Outputs[0]), ref))
	}
}

// TestParityExport checks a real export when LSMS_EXPORT_DIR names a folder
// holding lsms.safetensors (train/export.py) and subfolders with PyTorch
// references image.npy [1,S,S,1], ids.npy, mask.npy, words.npy, logits.npy
// (and optionally logits64.npy); it runs ours and LiteRT on them.
func TestParityExport(t *testing.T) {
	dir := os.Getenv("LSMS_EXPORT_DIR")
	if dir == "" {
		t.Skip("LSMS_EXPORT_DIR not set")
	}
	w, err := safetensors.Open(filepath.Join(dir, "lsms.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cfg, err := ConfigFromWeights(w)
	if err != nil {
		t.Fatal(err)
	}
	subs, _ := filepath.Glob(filepath.Join(dir, "*", "image.npy"))
	if len(subs) == 0 {
		t.Fatalf("no */image.npy in %s", dir)
	}
	for _, p := range subs {
		d := filepath.Dir(p)
		load := func(n string) *npy.Array {
			a, err := npy.ReadFile(filepath.Join(d, n+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		image, ids, mask, words, logits := load("image"), load("ids"), load("mask"), load("words"), load("logits")
		S, T := image.Shape[1], ids.Shape[1]
		text, err := BuildText(w, cfg, T)
		if err != nil {
			t.Fatal(err)
		}
		vis, err := BuildVision(w, cfg, S, T)
		if err != nil {
			t.Fatal(err)
		}
		text, tb := roundTrip(t, text)
		vis, vb := roundTrip(t, vis)
		ow := run(t, text, "", 2, ids, mask)
		ol := run(t, vis, "", 2, image, words, mask)
		olw := run(t, vis, "", 2, image, arr(words.Shape, ow), mask)
		t.Logf("%s: S=%d T=%d: text vs PyTorch %.3g, vision vs PyTorch %.3g, text→vision vs PyTorch %.3g (× max|ref|)", d, S, T,
			relErr(t, "words", ow, f32(words)), relErr(t, "logits", ol, f32(logits)), relErr(t, "logits", olw, f32(logits)))
		if a, err := npy.ReadFile(filepath.Join(d, "logits64.npy")); err == nil {
			r64 := make([]float32, a.Len())
			for i, x := range a.Data.([]float64) {
				r64[i] = float32(x)
			}
			t.Logf("%s: vision vs PyTorch float64 %.3g, PyTorch float32 vs float64 %.3g", d, relErr(t, "logits", ol, r64), relErr(t, "logits", f32(logits), r64))
		}
		if litert.Available() != nil {
			continue
		}
		res, err := litert.Run([]litert.Case{{Model: tb, Inputs: []*npy.Array{ids, mask}}, {Model: vb, Inputs: []*npy.Array{image, words, mask}}})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil {
				t.Errorf("LiteRT: %v", r.Err)
				continue
			}
			ours, ref := ow, f32(words)
			if i == 1 {
				ours, ref = ol, f32(logits)
			}
			t.Logf("%s: output %d: ours vs LiteRT %.3g, LiteRT vs PyTorch %.3g (× max|ref|)", d, i, relErr(t, "litert", ours, f32(r.Outputs[0])), relErr(t, "litert", f32(r.Outputs[0]), ref))
		}
	}
}
