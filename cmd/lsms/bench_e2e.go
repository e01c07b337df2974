package main

import (
	"fmt"
	"time"

	"github.com/lsms-edge/lsms/internal/benchstat"
	"github.com/lsms-edge/lsms/model"
)

// e2eStages are the stages of one slice, in order: reading and decoding the
// file (DICOM or PNG, to Hounsfield units), tokenizing the expression,
// the text graph, windowing and resizing, the vision graph, and resizing
// the logits back with the sigmoid and threshold.
var e2eStages = []string{"read+decode", "tokenize", "text", "preprocess", "vision", "postprocess"}

// benchE2E times model.Segmenter on real slice files, stage by stage, and
// sets rep.Stages. Files are taken in turn (a series cycles); each run is
// one slice. Unless --e2e-cached, the expression's word features are
// forgotten before every slice, so tokenize and text count every time.
func benchE2E(bundleDir string, c *benchConfig, rep *benchReport) error {
	inputs, err := fileInputs(c.e2e, segOpts{expr: c.expr, huOffset: 32768})
	if err != nil {
		return fmt.Errorf("--e2e: %w", err)
	}
	seg, err := model.Open(bundleDir, model.Options{Backend: c.backend, Threads: c.threads})
	if err != nil {
		return err
	}
	defer seg.Close()
	st := benchstat.NewStages(append(append([]string(nil), e2eStages...), benchstat.TotalStage)...)
	one := func(i int, record bool) error {
		if !c.e2eCached {
			seg.ForgetText()
		}
		t0 := time.Now()
		in, err := inputs[i%len(inputs)]()
		if err != nil {
			return fmt.Errorf("--e2e: %w", err)
		}
		decode := time.Since(t0)
		r, err := seg.Segment(in.slice, c.expr)
		if err != nil {
			return fmt.Errorf("--e2e %s: %w", in.name, err)
		}
		total := time.Since(t0)
		if !record {
			return nil
		}
		t := r.Timing
		for k, d := range []time.Duration{decode, t.Tokenize, t.Text, t.Pre, t.Vision, t.Post} {
			st.Add(e2eStages[k], d)
		}
		st.Add(benchstat.TotalStage, total)
		return nil
	}
	for i := range c.warmup + 1 { // the first inference is not measured either
		if err := one(i, false); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(time.Duration(c.minSeconds * float64(time.Second)))
	for i := 0; ; i++ {
		if c.runs > 0 && i >= c.runs {
			break
		}
		if c.runs == 0 && (i >= maxTimedRuns || (i > 0 && time.Now().After(deadline))) {
			break
		}
		if err := one(c.warmup+1+i, true); err != nil {
			return err
		}
	}
	rep.Stages = st.Summaries()
	if len(rep.Stages) == 0 {
		return fmt.Errorf("--e2e: no slice was measured")
	}
	return nil
}
