package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/model"
	"github.com/lsms-edge/lsms/model/bundle"
	"github.com/lsms-edge/lsms/quant"
	"github.com/lsms-edge/lsms/synth/dataset"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tokenizer"
)

func init() {
	register(&command{
		name:    "quantize",
		summary: "post-training quantization of a model bundle: int8 (calibrated), fp16 or dynamic",
		usage:   "BUNDLE --calib MANIFEST --mode int8|fp16|dynamic --out BUNDLE2 [--report FILE]",
		example: "lsms quantize models/lsms-synth-f32 --calib data/refct/manifest.jsonl --mode int8 \\\n    --out models/lsms-synth-int8 --report quant-report.md --eval-split test",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			var o quantOpts
			fs.StringVar(&o.calib, "calib", "", "manifest.jsonl of calibration slices with expressions (required for int8)")
			fs.StringVar(&o.calibSplit, "calib-split", "train", "manifest split to calibrate on")
			fs.IntVar(&o.n, "n", 200, "calibration slices")
			fs.StringVar(&o.mode, "mode", "int8", "int8 | fp16 | dynamic")
			fs.StringVar(&o.out, "out", "", "output bundle directory (required)")
			fs.StringVar(&o.report, "report", "", "write the quality report (Markdown; a .json beside it)")
			fs.StringVar(&o.estimator, "estimator", "minmax", "activation range estimator: minmax | percentile[:P] | mse")
			fs.StringSliceVar(&o.floatOps, "float-ops", nil, "ops kept in float32, in either graph: op types (SOFTMAX), tensor names or patterns (vision.decoder.*, text.*.probs), #index")
			fs.IntVar(&o.autoFloat, "auto-float", 0, "keep the N most quantization-sensitive vision ops in float32 (sensitivity search)")
			fs.Float64Var(&o.drop, "drop-outliers", 0, "fraction of calibration inputs to leave out as activation outliers")
			fs.StringVar(&o.evalSplit, "eval-split", "", "also score float vs quantized Dice/mIoU on this split of the --calib manifest, every text level")
			fs.IntVar(&o.evalN, "eval-n", 0, "at most this many records per level for --eval-split (0: all)")
			fs.IntVar(&o.threads, "threads", 1, "interpreter threads")
			fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) != 1 {
					return usagef("give one BUNDLE directory")
				}
				if o.out == "" {
					return usagef("--out is required")
				}
				o.in = args[0]
				return quantizeCmd(o, stdout, stderr)
			}
		},
	})
}

type quantOpts struct {
	in, calib, calibSplit, mode, out, report, estimator, evalSplit string
	floatOps                                                       []string
	n, autoFloat, evalN, threads                                   int
	drop                                                           float64
	quiet                                                          bool
}

type calibSample struct {
	ids              []int32
	tmask            []float32
	image, words, vm []float32
}

func quantizeCmd(o quantOpts, stdout, stderr io.Writer) error {
	mode, err := quant.ParseMode(o.mode)
	if err != nil {
		return usagef("%v", err)
	}
	est, pct, err := quant.ParseEstimator(o.estimator)
	if err != nil {
		return usagef("%v", err)
	}
	if mode == quant.Int8 && o.calib == "" {
		return usagef("--mode int8 needs --calib")
	}
	seg, err := model.Open(o.in, model.Options{Threads: o.threads})
	if err != nil {
		return err
	}
	defer seg.Close()
	b := seg.Bundle()
	if b.Manifest.Precision != "float32" {
		return fmt.Errorf("%s is already %s; quantize the float32 bundle", o.in, b.Manifest.Precision)
	}
	tok, err := tokenizer.Load(b.Path(bundle.RoleVocab), tokenizer.WithLowercase(b.Manifest.Tokenizer.Lowercase),
		tokenizer.WithStripAccents(b.Manifest.Tokenizer.StripAccents))
	if err != nil {
		return err
	}
	// Calibration samples: each record's slice with its full expression;
	// the vision inputs are exactly what the float Segmenter feeds its graph.
	var samples []calibSample
	if o.calib != "" {
		recs, root, err := readManifest(o.calib)
		if err != nil {
			return err
		}
		bar := newStageBar(stderr, o.quiet)
		var picked []*dataset.Record
		for i := range recs {
			if recs[i].Split == o.calibSplit && len(picked) < o.n {
				picked = append(picked, &recs[i])
			}
		}
		if len(picked) == 0 {
			return fmt.Errorf("%s: no records in split %q", o.calib, o.calibSplit)
		}
		for i, r := range picked {
			text := exprAt(r, "full")
			im, err := dataset.ReadHU(filepath.Join(root, r.Image), r.HUOffset)
			if err != nil {
				return err
			}
			if _, err := seg.Segment(huSlice(im.HU, im.Height, im.Width, r.PixelSpacing), text); err != nil {
				return err
			}
			img, words, vm := seg.LastInputs()
			enc, err := tok.Encode(text, b.Manifest.Tokenizer.T)
			if err != nil {
				return err
			}
			samples = append(samples, calibSample{ids: enc.IDs, tmask: vm, image: img, words: words, vm: vm})
			bar("prepare", i+1, len(picked))
		}
	}
	textData := func(i int) (map[string]any, error) {
		s := samples[i]
		return map[string]any{"ids": s.ids, "mask": s.tmask}, nil
	}
	visionData := func(i int) (map[string]any, error) {
		s := samples[i]
		return map[string]any{"image": s.image, "words": s.words, "mask": s.vm}, nil
	}
	bar := newStageBar(stderr, o.quiet)
	qo := quant.Options{Mode: mode, Estimator: est, Percentile: pct, DropOutliers: o.drop, Threads: o.threads,
		Progress: func(stage string, done, total int) { bar(stage, done, total) }}
	// --float-ops names ops of either graph: each graph gets the entries
	// that match one of its ops; an entry that matches in neither is an
	// error (as quant.Options.FloatOps would say for one graph).
	models := map[string]*tflite.Model{}
	used := map[string]bool{}
	graphFloat := map[string][]string{}
	for _, role := range []string{bundle.RoleText, bundle.RoleVision} {
		fm, err := tflite.ReadFile(b.Path(role))
		if err != nil {
			return err
		}
		models[role] = fm
		in, err := quant.FloatOpsIn(fm, "", o.floatOps)
		if err != nil {
			return fmt.Errorf("%s graph: %w", role, err)
		}
		graphFloat[role] = in
		for _, p := range in {
			used[p] = true
		}
	}
	var unmatched []string
	for _, p := range o.floatOps {
		if strings.TrimSpace(p) != "" && !used[p] {
			unmatched = append(unmatched, strconv.Quote(p))
		}
	}
	if len(unmatched) > 0 {
		return fmt.Errorf("%w: %s", quant.ErrNoMatch, strings.Join(unmatched, ", "))
	}
	files := []bundle.Content{}
	var reports []string
	var jsonReports = map[string]*quant.Report{}
	for _, part := range []struct {
		role string
		data quant.Dataset
	}{{bundle.RoleText, textData}, {bundle.RoleVision, visionData}} {
		fm := models[part.role]
		opts := qo
		opts.FloatOps = graphFloat[part.role]
		if part.role == bundle.RoleVision {
			opts.AutoFloat = o.autoFloat
		}
		n := len(samples)
		in := quant.Inputs{Data: part.data, N: n}
		t0 := time.Now()
		qm, rep, err := quant.Convert(fm, in, quant.Inputs{}, opts)
		if err != nil {
			return fmt.Errorf("%s graph: %w", part.role, err)
		}
		data, err := qm.Marshal()
		if err != nil {
			return err
		}
		name := filepath.Base(b.Path(part.role))
		files = append(files, bundle.Content{Role: part.role, Path: name, Data: data})
		fmt.Fprintf(stdout, "%s: %s %d → %d bytes (%.1f %%) in %.1f s\n", part.role, mode, rep.FloatBytes, rep.QuantBytes, 100*rep.SizeRatio, time.Since(t0).Seconds())
		reports = append(reports, fmt.Sprintf("## %s graph\n\n%s", part.role, rep.Markdown()))
		jsonReports[part.role] = rep
	}
	vocab, err := os.ReadFile(b.Path(bundle.RoleVocab))
	if err != nil {
		return err
	}
	files = append(files, bundle.Content{Role: bundle.RoleVocab, Path: "vocab.txt", Data: vocab})
	m := b.Manifest
	m.Name = filepath.Base(filepath.Clean(o.out))
	m.Precision = map[quant.Mode]string{quant.Int8: "int8", quant.Float16: "float16", quant.Dynamic: "dynamic-int8"}[mode]
	prov := map[string]string{}
	for k, v := range m.Provenance {
		prov[k] = v
	}
	prov["quantized_from"] = b.Manifest.Name
	prov["quantization"] = fmt.Sprintf("%s, estimator %s, %d calibration slices (%s split), float ops %v, auto-float %d",
		m.Precision, o.estimator, len(samples), o.calibSplit, o.floatOps, o.autoFloat)
	m.Provenance = prov
	nb, err := bundle.Write(o.out, m, files)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %.2f MB (float bundle %.2f MB, %.1f %%)\n", o.out, float64(nb.Size())/1e6, float64(b.Size())/1e6, 100*float64(nb.Size())/float64(b.Size()))
	md := fmt.Sprintf("# Quantization report: %s → %s (%s)\n\nBundle size: float %d bytes, quantized %d bytes (%.1f %%).\n\n%s",
		b.Manifest.Name, m.Name, m.Precision, b.Size(), nb.Size(), 100*float64(nb.Size())/float64(b.Size()), strings.Join(reports, "\n"))
	if o.evalSplit != "" {
		q, err := model.Open(o.out, model.Options{Threads: o.threads})
		if err != nil {
			return err
		}
		defer q.Close()
		tab, err := diceTable(seg, q, o.calib, o.evalSplit, o.evalN, newStageBar(stderr, o.quiet))
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, tab)
		md += "\n## Segmentation quality\n\n" + tab
	}
	if o.report != "" {
		if err := tflite.WriteFileAtomic(o.report, []byte(md)); err != nil {
			return err
		}
		js, _ := json.MarshalIndent(jsonReports, "", " ")
		if err := tflite.WriteFileAtomic(strings.TrimSuffix(o.report, filepath.Ext(o.report))+".json", js); err != nil {
			return err
		}
	}
	return nil
}

func readManifest(path string) ([]dataset.Record, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	recs, err := dataset.ReadManifest(f)
	return recs, filepath.Dir(path), err
}

func exprAt(r *dataset.Record, level string) string {
	for _, e := range r.Expressions {
		if e.Level == level {
			return e.Text
		}
	}
	return ""
}

// diceTable scores two segmenters on a split at every text level (Dice and
// IoU per image, then averaged; both empty counts as 1).
func diceTable(a, b *model.Segmenter, manifest, split string, limit int, bar func(string, int, int)) (string, error) {
	recs, root, err := readManifest(manifest)
	if err != nil {
		return "", err
	}
	var sel []*dataset.Record
	for i := range recs {
		if recs[i].Split == split {
			sel = append(sel, &recs[i])
		}
	}
	if len(sel) == 0 {
		return "", fmt.Errorf("%s: no records in split %q", manifest, split)
	}
	out := fmt.Sprintf("%s split of %s; Dice/mIoU in %%, per image then averaged; masks: agreement of the two models' masks.\n\n", split, manifest)
	out += "| text level | images | Dice A | Dice B | mIoU A | mIoU B | masks identical |\n|---|---|---|---|---|---|---|\n"
	for _, lv := range []string{"full", "half", "quarter", "none"} {
		var da, db, ia, ib float64
		var n, same, pix int
		for _, r := range sel {
			if limit > 0 && n >= limit {
				break
			}
			text := exprAt(r, lv)
			if text == "" && lv != "none" {
				continue
			}
			im, err := dataset.ReadHU(filepath.Join(root, r.Image), r.HUOffset)
			if err != nil {
				return "", err
			}
			gt, err := dataset.ReadMask(filepath.Join(root, r.Mask))
			if err != nil {
				return "", err
			}
			sl := huSlice(im.HU, im.Height, im.Width, r.PixelSpacing)
			ra, err := a.Segment(sl, text)
			if err != nil {
				return "", err
			}
			rb, err := b.Segment(sl, text)
			if err != nil {
				return "", err
			}
			d1, u1 := diceIoU(ra.Mask, gt.Pix)
			d2, u2 := diceIoU(rb.Mask, gt.Pix)
			da, db, ia, ib = da+d1, db+d2, ia+u1, ib+u2
			for i := range ra.Mask {
				if ra.Mask[i] == rb.Mask[i] {
					same++
				}
			}
			pix += len(ra.Mask)
			n++
			bar("eval "+lv, n, evalTotal(len(sel), limit))
		}
		if n == 0 {
			continue
		}
		f := float64(n)
		out += fmt.Sprintf("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.4f %% |\n", lv, n, 100*da/f, 100*db/f, 100*ia/f, 100*ib/f, 100*float64(same)/float64(pix))
	}
	return out, nil
}

func evalTotal(n, limit int) int {
	if limit > 0 && limit < n {
		return limit
	}
	return n
}
