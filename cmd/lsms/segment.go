package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/model"
	"github.com/lsms-edge/lsms/synth/dataset"
	"github.com/lsms-edge/lsms/tflite"
)

func init() {
	register(&command{
		name:    "segment",
		summary: "segment CT slices (DICOM, 16-bit PNG, folders, or a dataset manifest) for a referring expression",
		usage:   "--model BUNDLE (--expr TEXT INPUT... | --manifest M.jsonl) [--out DIR] [--json]",
		example: "lsms segment --model models/lsms-synth-f32 --expr \"the larger cyst in segment VI\" series/ --out out/\n" +
			"lsms segment --model models/lsms-synth-f32 --manifest samples/manifest.jsonl --out out/demo",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			var o segOpts
			fs.StringVar(&o.model, "model", "", "model bundle directory (required)")
			fs.StringVar(&o.expr, "expr", "", "referring expression (required unless --manifest)")
			fs.StringVar(&o.manifest, "manifest", "", "synth manifest.jsonl: segment each record with its own expression and score against its mask")
			fs.StringVar(&o.level, "level", "full", "with --manifest: expression level (full, half, quarter, relational, none)")
			fs.StringVar(&o.split, "split", "", "with --manifest: only records of this split")
			fs.IntVar(&o.limit, "limit", 0, "with --manifest: at most this many records (0: all)")
			fs.StringVar(&o.out, "out", "", "output folder for overlays/, masks/, report.json (and seg.dcm for a DICOM series)")
			fs.IntVar(&o.huOffset, "hu-offset", 32768, "16-bit PNG inputs: stored value = HU + offset")
			fs.IntVar(&o.threads, "threads", 1, "kernel threads")
			fs.StringVar(&o.backend, "backend", "native", "inference backend")
			fs.BoolVar(&o.json, "json", false, "print the report as JSON instead of a table")
			return func(args []string, stdout, stderr io.Writer) error {
				if o.model == "" {
					return usagef("--model is required")
				}
				if o.manifest == "" && (o.expr == "" || len(args) == 0) {
					return usagef("give --expr and at least one INPUT, or --manifest")
				}
				if o.manifest != "" && len(args) > 0 {
					return usagef("--manifest takes no INPUT arguments")
				}
				return segmentCmd(o, args, stdout, stderr)
			}
		},
	})
}

type segOpts struct {
	model, expr, manifest, level, split, out, backend string
	limit, huOffset, threads                          int
	json                                              bool
}

// segInput is one slice to segment.
type segInput struct {
	name    string
	slice   model.Slice
	expr    string
	gt      []uint8      // ground truth (manifest), or nil
	dcm     *dicom.Slice // DICOM source, or nil
	spacing [2]float64   // mm
}

// SliceReport is one slice of the segment report (JSON).
type SliceReport struct {
	Name       string   `json:"name"`
	Expression string   `json:"expression"`
	Rows       int      `json:"rows"`
	Cols       int      `json:"cols"`
	Pixels     int      `json:"mask_pixels"`
	AreaMM2    float64  `json:"mask_area_mm2"`
	MaxProb    float32  `json:"max_probability"`
	Dice       *float64 `json:"dice,omitempty"`
	IoU        *float64 `json:"iou,omitempty"`
	TextCached bool     `json:"text_cached"`
	LatencyMS  struct {
		Decode   float64 `json:"decode"`
		Tokenize float64 `json:"tokenize"`
		Text     float64 `json:"text"`
		Pre      float64 `json:"preprocess"`
		Vision   float64 `json:"vision"`
		Post     float64 `json:"postprocess"`
		Total    float64 `json:"total"`
	} `json:"latency_ms"`
	Overlay string `json:"overlay,omitempty"`
	Mask    string `json:"mask,omitempty"`
}

// SegmentReport is report.json.
type SegmentReport struct {
	Model     string        `json:"model"`
	Precision string        `json:"precision"`
	Backend   string        `json:"backend"`
	Threads   int           `json:"threads"`
	LoadMS    float64       `json:"load_ms"`
	Slices    []SliceReport `json:"slices"`
	MeanDice  *float64      `json:"mean_dice,omitempty"`
	MeanIoU   *float64      `json:"mean_iou,omitempty"`
	SEG       string        `json:"seg,omitempty"`
	P50MS     float64       `json:"latency_p50_ms"`
	MaxMS     float64       `json:"latency_max_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func segmentCmd(o segOpts, args []string, stdout, stderr io.Writer) error {
	t0 := time.Now()
	seg, err := model.Open(o.model, model.Options{Backend: o.backend, Threads: o.threads})
	if err != nil {
		return err
	}
	defer seg.Close()
	rep := SegmentReport{Model: seg.Bundle().Manifest.Name, Precision: seg.Bundle().Manifest.Precision,
		Backend: o.backend, Threads: o.threads, LoadMS: ms(time.Since(t0))}

	var inputs []func() (*segInput, error)
	if o.manifest != "" {
		inputs, err = manifestInputs(o)
	} else {
		inputs, err = fileInputs(args, o)
	}
	if err != nil {
		return err
	}
	if o.out != "" {
		for _, d := range []string{"overlays", "masks"} {
			if err := os.MkdirAll(filepath.Join(o.out, d), 0o755); err != nil {
				return err
			}
		}
	}
	var dices, ious []float64
	var lat []float64
	var dcmSrc []*dicom.Slice
	var dcmMasks [][]bool
	for _, next := range inputs {
		td := time.Now()
		in, err := next()
		if err != nil {
			return err
		}
		decode := time.Since(td)
		r, err := seg.Segment(in.slice, in.expr)
		if err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
		sr := SliceReport{Name: in.name, Expression: in.expr, Rows: r.Rows, Cols: r.Cols, Pixels: r.Pixels,
			AreaMM2: float64(r.Pixels) * in.spacing[0] * in.spacing[1], TextCached: r.TextCached}
		for _, p := range r.Prob {
			if p > sr.MaxProb {
				sr.MaxProb = p
			}
		}
		l := &sr.LatencyMS
		l.Decode, l.Tokenize, l.Text, l.Pre, l.Vision, l.Post = ms(decode), ms(r.Timing.Tokenize), ms(r.Timing.Text), ms(r.Timing.Pre), ms(r.Timing.Vision), ms(r.Timing.Post)
		l.Total = ms(decode + r.Timing.Total())
		lat = append(lat, l.Total)
		if in.gt != nil {
			d, u := diceIoU(r.Mask, in.gt)
			sr.Dice, sr.IoU = &d, &u
			dices = append(dices, d)
			ious = append(ious, u)
		}
		if o.out != "" {
			base := fileStem(in.name)
			sr.Overlay = filepath.Join("overlays", base+".png")
			sr.Mask = filepath.Join("masks", base+".png")
			if err := writePNG(filepath.Join(o.out, sr.Overlay), overlay(in.slice, r.Mask, in.gt)); err != nil {
				return err
			}
			if err := writePNG(filepath.Join(o.out, sr.Mask), maskImage(r.Mask, r.Rows, r.Cols)); err != nil {
				return err
			}
		}
		if in.dcm != nil {
			dcmSrc = append(dcmSrc, in.dcm)
			b := make([]bool, len(r.Mask))
			for i, v := range r.Mask {
				b[i] = v != 0
			}
			dcmMasks = append(dcmMasks, b)
		}
		rep.Slices = append(rep.Slices, sr)
		if !o.json {
			line := fmt.Sprintf("%-28s %6d px %9.1f mm²  %7.1f ms (vision %.1f)", trunc(in.name, 28), r.Pixels, sr.AreaMM2, l.Total, l.Vision)
			if sr.Dice != nil {
				line += fmt.Sprintf("  Dice %.3f", *sr.Dice)
			}
			fmt.Fprintln(stdout, line)
		}
	}
	if len(dices) > 0 {
		md, mi := mean(dices), mean(ious)
		rep.MeanDice, rep.MeanIoU = &md, &mi
	}
	if len(lat) > 0 {
		s := append([]float64(nil), lat...)
		sort.Float64s(s)
		rep.P50MS, rep.MaxMS = s[len(s)/2], s[len(s)-1]
	}
	if o.out != "" && len(dcmSrc) > 0 {
		if err := sameSeries(dcmSrc); err != nil {
			fmt.Fprintf(stderr, "lsms segment: no SEG written: %v\n", err)
		} else {
			p := filepath.Join(o.out, "seg.dcm")
			err := dicom.WriteSEG(p, dcmSrc, dcmMasks, dicom.SEGOptions{SegmentLabel: "Referred lesion",
				SegmentDescription: trunc(dcmExprs(rep.Slices), 1024), AlgorithmName: "LSMS " + rep.Model, AlgorithmVersion: version})
			if err != nil {
				fmt.Fprintf(stderr, "lsms segment: no SEG written: %v\n", err)
			} else {
				rep.SEG = "seg.dcm"
			}
		}
	}
	if o.out != "" {
		data, _ := json.MarshalIndent(&rep, "", "  ")
		if err := tflite.WriteFileAtomic(filepath.Join(o.out, "report.json"), append(data, '\n')); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(&rep)
	}
	fmt.Fprintf(stdout, "%d slices, model %s (%s), load %.0f ms, latency p50 %.1f ms, max %.1f ms\n",
		len(rep.Slices), rep.Model, rep.Precision, rep.LoadMS, rep.P50MS, rep.MaxMS)
	if rep.MeanDice != nil {
		fmt.Fprintf(stdout, "mean Dice %.4f, mean IoU %.4f over %d slices with ground truth\n", *rep.MeanDice, *rep.MeanIoU, len(dices))
	}
	if o.out != "" {
		fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(o.out, "report.json"))
	}
	return nil
}

func dcmExprs(s []SliceReport) string {
	seen := map[string]bool{}
	var out []string
	for _, r := range s {
		if !seen[r.Expression] {
			seen[r.Expression] = true
			out = append(out, r.Expression)
		}
	}
	return strings.Join(out, "; ")
}

func sameSeries(s []*dicom.Slice) error {
	for _, x := range s[1:] {
		if x.SeriesInstanceUID != s[0].SeriesInstanceUID {
			return fmt.Errorf("inputs come from more than one series")
		}
	}
	return nil
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// diceIoU: both empty counts as 1 (as train/eval.py does).
func diceIoU(pred, gt []uint8) (float64, float64) {
	var inter, ps, gs int
	for i := range pred {
		p, g := pred[i] != 0, gt[i] != 0
		if p {
			ps++
		}
		if g {
			gs++
		}
		if p && g {
			inter++
		}
	}
	if ps+gs == 0 {
		return 1, 1
	}
	return 2 * float64(inter) / float64(ps+gs), float64(inter) / float64(ps+gs-inter)
}

func fileStem(s string) string {
	r := strings.NewReplacer("/", "_", "\\", "_", " ", "_", ":", "_")
	return r.Replace(strings.TrimSuffix(s, filepath.Ext(s)))
}

func manifestInputs(o segOpts) ([]func() (*segInput, error), error) {
	f, err := os.Open(o.manifest)
	if err != nil {
		return nil, err
	}
	recs, err := dataset.ReadManifest(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	root := filepath.Dir(o.manifest)
	var out []func() (*segInput, error)
	for i := range recs {
		rec := &recs[i]
		if o.split != "" && rec.Split != o.split {
			continue
		}
		text, ok := "", o.level == "none"
		for _, e := range rec.Expressions {
			if e.Level == o.level {
				text, ok = e.Text, true
			}
		}
		if !ok {
			continue
		}
		if o.limit > 0 && len(out) >= o.limit {
			break
		}
		out = append(out, func() (*segInput, error) {
			im, err := dataset.ReadHU(filepath.Join(root, rec.Image), rec.HUOffset)
			if err != nil {
				return nil, err
			}
			m, err := dataset.ReadMask(filepath.Join(root, rec.Mask))
			if err != nil {
				return nil, err
			}
			if m.Width != im.Width || m.Height != im.Height {
				return nil, fmt.Errorf("%s: mask %dx%d, image %dx%d", rec.Mask, m.Width, m.Height, im.Width, im.Height)
			}
			name := fmt.Sprintf("%s_s%02d_l%d", rec.Case, rec.SliceIndex, rec.TargetID)
			return &segInput{name: name, slice: huSlice(im.HU, im.Height, im.Width, rec.PixelSpacing), expr: text,
				gt: m.Pix, spacing: rec.PixelSpacing}, nil
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no records with a %q expression%s", o.manifest, o.level, map[bool]string{true: " in split " + o.split}[o.split != ""])
	}
	return out, nil
}

func huSlice(hu []int16, rows, cols int, spacing [2]float64) model.Slice {
	f := make([]float32, len(hu))
	for i, v := range hu {
		f[i] = float32(v)
	}
	return model.Slice{Rows: rows, Cols: cols, HU: f, Spacing: spacing}
}

// fileInputs expands folders and reads DICOM or 16-bit PNG slices.
func fileInputs(args []string, o segOpts) ([]func() (*segInput, error), error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: folder holds no files", a)
		}
		files = append(files, found...)
	}
	var out []func() (*segInput, error)
	for _, p := range files {
		out = append(out, func() (*segInput, error) { return readSliceFile(p, o) })
	}
	return out, nil
}

func readSliceFile(p string, o segOpts) (*segInput, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		im, err := dataset.DecodeHU(bytes.NewReader(data), o.huOffset)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		sp := [2]float64{1, 1}
		return &segInput{name: filepath.Base(p), slice: huSlice(im.HU, im.Height, im.Width, sp), expr: o.expr, spacing: sp}, nil
	}
	s, err := dicom.ReadCT(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	sp := s.PixelSpacing
	if sp[0] <= 0 || sp[1] <= 0 {
		sp = [2]float64{1, 1}
	}
	return &segInput{name: filepath.Base(p), slice: huSlice(s.HU, s.Rows, s.Cols, sp), expr: o.expr, dcm: s, spacing: sp}, nil
}

// overlay renders the slice (window level 40, width 400) with the predicted
// mask tinted red and the ground truth outlined in green.
func overlay(s model.Slice, mask, gt []uint8) image.Image {
	im := image.NewRGBA(image.Rect(0, 0, s.Cols, s.Rows))
	for i, hu := range s.HU {
		v := (hu + 160) / 400 * 255
		g := uint8(math.Max(0, math.Min(255, float64(v))))
		c := color.RGBA{g, g, g, 255}
		if mask[i] != 0 {
			c.R = uint8(0.55*float64(g) + 0.45*255)
			c.G = uint8(0.55 * float64(g))
			c.B = uint8(0.55 * float64(g))
		}
		im.Pix[4*i], im.Pix[4*i+1], im.Pix[4*i+2], im.Pix[4*i+3] = c.R, c.G, c.B, 255
	}
	if gt != nil {
		for y := 0; y < s.Rows; y++ {
			for x := 0; x < s.Cols; x++ {
				i := y*s.Cols + x
				if gt[i] == 0 {
					continue
				}
				edge := x == 0 || y == 0 || x == s.Cols-1 || y == s.Rows-1 ||
					gt[i-1] == 0 || gt[i+1] == 0 || gt[i-s.Cols] == 0 || gt[i+s.Cols] == 0
				if edge {
					im.Pix[4*i], im.Pix[4*i+1], im.Pix[4*i+2] = 0, 230, 0
				}
			}
		}
	}
	return im
}

func maskImage(mask []uint8, rows, cols int) image.Image {
	im := image.NewGray(image.Rect(0, 0, cols, rows))
	for i, v := range mask {
		if v != 0 {
			im.Pix[i] = 255
		}
	}
	return im
}

func writePNG(path string, im image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, im); err != nil {
		return err
	}
	return tflite.WriteFileAtomic(path, buf.Bytes())
}
