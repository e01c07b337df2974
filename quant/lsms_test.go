package quant_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/model/lsms"
	"github.com/lsms-edge/lsms/model/safetensors"
	"github.com/lsms-edge/lsms/quant"
	"github.com/lsms-edge/lsms/tflite"
)

// The LSMS graphs of model/lsms's small golden weights (a random tiny
// model of the edge architecture): 64×64 images, 16 tokens.
const (
	goldenSize = 64
	goldenT    = 16
)

func goldenGraphs(t *testing.T) (text, vision *tflite.Model, cfg lsms.Config) {
	t.Helper()
	w, err := safetensors.Open("../model/lsms/testdata/lsms.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if cfg, err = lsms.ConfigFromWeights(w); err != nil {
		t.Fatal(err)
	}
	if text, err = lsms.BuildText(w, cfg, goldenT); err != nil {
		t.Fatal(err)
	}
	if vision, err = lsms.BuildVision(w, cfg, goldenSize, goldenT); err != nil {
		t.Fatal(err)
	}
	return text, vision, cfg
}

// goldenSamples draws token ids with 3..T−1 words and smooth images with a
// few bright blobs on a dark body, and computes the word features with the
// float text graph.
func goldenSamples(t *testing.T, text *tflite.Model, cfg lsms.Config, seed uint64, n int) (texts, visions []sample) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 17))
	for range n {
		ids := make([]int32, goldenT)
		mask := make([]float32, goldenT)
		words := 3 + rng.IntN(goldenT-3)
		for j := range words {
			ids[j] = int32(1 + rng.IntN(cfg.Text.VocabSize-1))
			mask[j] = 1
		}
		ts := sample{"ids": ids, "mask": mask}
		wf := runOurs(t, text, ts)[0]
		img := make([]float32, goldenSize*goldenSize)
		type blob struct{ x, y, r, v float64 }
		var bs []blob
		for range 1 + rng.IntN(4) {
			bs = append(bs, blob{rng.Float64() * goldenSize, rng.Float64() * goldenSize, 3 + 8*rng.Float64(), 0.3 + 0.7*rng.Float64()})
		}
		for y := range goldenSize {
			for x := range goldenSize {
				v := 0.2 + 0.05*rng.NormFloat64()
				for _, b := range bs {
					dx, dy := float64(x)-b.x, float64(y)-b.y
					if dx*dx+dy*dy < b.r*b.r {
						v += b.v
					}
				}
				img[y*goldenSize+x] = float32(min(1, max(0, v)))
			}
		}
		texts = append(texts, ts)
		visions = append(visions, sample{"image": img, "words": wf, "mask": mask})
	}
	return texts, visions
}

func TestLSMSGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	text, vision, cfg := goldenGraphs(t)
	calT, calV := goldenSamples(t, text, cfg, 1, 24)
	evT, evV := goldenSamples(t, text, cfg, 2, 6)
	for _, c := range []struct {
		name      string
		m         *tflite.Model
		cal, eval []sample
		minSQNR   float64
	}{
		{"text", text, calT, evT, 25},
		// The golden vision weights are random: the float graph amplifies
		// rounding so much (NMF values up to 1e12, instance norms of
		// near-constant features) that float16 weights alone leave ~33 dB;
		// its SQNR is logged, not bounded.
		{"vision", vision, calV, evV, 0},
	} {
		q, rep, err := quant.Convert(c.m, quant.Inputs{Data: dataset(c.cal), N: len(c.cal)}, quant.Inputs{Data: dataset(c.eval), N: len(c.eval)}, quant.Options{})
		if err != nil {
			t.Fatal(err)
		}
		o := rep.Outputs[0]
		t.Logf("%s int8: %d → %d bytes (%.1f %%), %d int8 ops, %d float ops, %d added; output %s SQNR %v dB", c.name, rep.FloatBytes, rep.QuantBytes, 100*rep.SizeRatio,
			rep.Summary.Int8Ops, rep.Summary.FloatOps, rep.Summary.Added, o.Name, o.SQNR)
		if c.minSQNR > 0 && float64(o.SQNR) < c.minSQNR {
			t.Errorf("%s: output SQNR %v dB < %g dB", c.name, o.SQNR, c.minSQNR)
		}
		for _, w := range rep.Worst[:3] {
			t.Logf("  worst: %s %q %v dB", w.Op, w.Name, w.SQNR)
		}
		// The DIV denominators of the NMF stay float.
		if c.name == "vision" {
			den := 0
			for _, f := range rep.Summary.Float {
				if strings.HasPrefix(f.Reason, "computes the denominator") {
					den++
				}
			}
			if den == 0 {
				t.Error("no DIV denominator kept float")
			}
		}
		checkPerOp(t, c.name+" int8", q, c.eval[0], 1e-5)
		t.Logf("%s int8, whole model vs LiteRT: %v", c.name, vsLiteRT(t, q, c.eval[:2]))

		f16, frep, err := quant.Convert(c.m, quant.Inputs{}, quant.Inputs{Data: dataset(c.eval), N: len(c.eval)}, quant.Options{Mode: quant.Float16})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s fp16: %.1f %% of float, output SQNR %v dB", c.name, 100*frep.SizeRatio, frep.Outputs[0].SQNR)
		if c.minSQNR > 0 && float64(frep.Outputs[0].SQNR) < 50 {
			t.Errorf("%s fp16: output SQNR %v dB", c.name, frep.Outputs[0].SQNR)
		}
		checkAgreement(t, c.name+" fp16", vsLiteRT(t, f16, c.eval[:1]), 1e-4)
	}
}
