package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lsms-edge/lsms/device/measure"
	"github.com/lsms-edge/lsms/model"
)

// segmentRequest is the body of POST /api/segment. Slice is shorthand for
// a one-element Slices.
type segmentRequest struct {
	Slice  string   `json:"slice"`
	Slices []string `json:"slices"`
	Expr   string   `json:"expr"`
	// Threshold overrides the bundle's probability threshold: the mask is
	// then prob ≥ Threshold (measure.Threshold) on the model's probabilities.
	Threshold *float64 `json:"threshold"`
}

// Latency of one slice, milliseconds.
type Latency struct {
	Tokenize float64 `json:"tokenize"`
	Text     float64 `json:"text"`
	Pre      float64 `json:"preprocess"`
	Vision   float64 `json:"vision"`
	Post     float64 `json:"postprocess"`
	Model    float64 `json:"model"` // sum of the model's stages
	Measure  float64 `json:"measure"`
	Total    float64 `json:"total"` // model + threshold + measure + encoding
}

// SliceResult is the segmentation of one slice.
type SliceResult struct {
	Slice string `json:"slice"`
	Rows  int    `json:"rows"`
	Cols  int    `json:"cols"`
	// MaskRLE is the mask, row-major, as run lengths alternating background
	// and foreground, starting with background (possibly 0); the runs sum to
	// Rows×Cols.
	MaskRLE        []int            `json:"mask_rle"`
	Pixels         int              `json:"pixels"`
	AreaMM2        float64          `json:"area_mm2"`
	MaxProbability float32          `json:"max_probability"`
	TextCached     bool             `json:"text_cached"`
	Truncated      bool             `json:"truncated"`
	LesionCount    int              `json:"lesion_count"`
	Lesions        []measure.Lesion `json:"lesions"`
	Latency        Latency          `json:"latency_ms"`
}

// SegmentResponse is the body of a successful POST /api/segment.
type SegmentResponse struct {
	Model      string        `json:"model"`
	Expression string        `json:"expression"`
	Threshold  float64       `json:"threshold"`
	Results    []SliceResult `json:"results"`
	// Volume is set when more than one slice with DICOM geometry was
	// segmented; VolumeNote says why not otherwise.
	Volume     *measure.VolumeResult `json:"volume,omitempty"`
	VolumeNote string                `json:"volume_note,omitempty"`
	// TotalMS is the server's wall time for the request.
	TotalMS float64 `json:"total_ms"`
}

// EncodeRLE run-length encodes a mask (nonzero is foreground): lengths of
// alternating runs, background first.
func EncodeRLE(mask []uint8) []int {
	out := []int{}
	cur, n := false, 0
	for _, v := range mask {
		if (v != 0) != cur {
			out = append(out, n)
			cur, n = !cur, 0
		}
		n++
	}
	return append(out, n)
}

// DecodeRLE decodes EncodeRLE's runs into a mask of n pixels.
func DecodeRLE(runs []int, n int) ([]uint8, error) {
	m := make([]uint8, 0, n)
	for i, r := range runs {
		if r < 0 || r > n-len(m) {
			return nil, fmt.Errorf("run %d of length %d overflows %d pixels", i, r, n)
		}
		for range r {
			m = append(m, uint8(i&1))
		}
	}
	if len(m) != n {
		return nil, fmt.Errorf("runs cover %d pixels, want %d", len(m), n)
	}
	return m, nil
}

func (s *Server) segment(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	var req segmentRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "want a JSON body {\"slices\": [ids], \"expr\": text, \"threshold\": optional}: %v", err)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "trailing data after the JSON body")
		return
	}
	if req.Slice != "" {
		req.Slices = append([]string{req.Slice}, req.Slices...)
	}
	req.Expr = strings.TrimSpace(req.Expr)
	switch {
	case len(req.Slices) == 0:
		writeError(w, http.StatusBadRequest, "no slice given")
		return
	case len(req.Slices) > MaxSlicesPerSegment:
		writeError(w, http.StatusBadRequest, "%d slices, at most %d per request", len(req.Slices), MaxSlicesPerSegment)
		return
	case req.Expr == "":
		writeError(w, http.StatusBadRequest, "the expression is empty")
		return
	case len(req.Expr) > MaxExpressionBytes || !utf8.ValidString(req.Expr):
		writeError(w, http.StatusBadRequest, "the expression must be valid UTF-8 of at most %d bytes", MaxExpressionBytes)
		return
	case req.Threshold != nil && !(*req.Threshold > 0 && *req.Threshold < 1):
		writeError(w, http.StatusBadRequest, "threshold %v: want a probability strictly between 0 and 1", *req.Threshold)
		return
	}
	slices := make([]*Slice, len(req.Slices))
	for i, id := range req.Slices {
		if slices[i] = s.store.get(id); slices[i] == nil {
			writeError(w, http.StatusNotFound, "no slice %q (uploads are kept in memory and the oldest are dropped)", id)
			return
		}
	}
	resp := SegmentResponse{Model: s.cfg.Model.Name, Expression: req.Expr, Threshold: s.cfg.Model.Threshold}
	if req.Threshold != nil {
		resp.Threshold = *req.Threshold
	}
	var areas []measure.SliceArea
	geometry := true
	for _, sl := range slices {
		if err := r.Context().Err(); err != nil {
			return // the client went away
		}
		res, err := s.segmentOne(sl, req.Expr, req.Threshold)
		if err != nil {
			if errors.Is(err, model.ErrInput) || errors.Is(err, measure.ErrInput) {
				writeError(w, http.StatusBadRequest, "slice %s (%s): %v", sl.ID, sl.Name, err)
			} else {
				s.log.Error("console: segment", "slice", sl.ID, "err", err)
				writeError(w, http.StatusInternalServerError, "slice %s (%s): %v", sl.ID, sl.Name, err)
			}
			return
		}
		resp.Results = append(resp.Results, *res)
		areas = append(areas, measure.SliceArea{Plane: sl.plane, Area: res.AreaMM2})
		geometry = geometry && sl.Geometry
	}
	switch {
	case len(slices) < 2:
		resp.VolumeNote = "one slice: no volume"
	case !geometry:
		resp.VolumeNote = "no volume: some slices lack DICOM geometry"
	default:
		v, err := measure.Volume(areas)
		if err != nil {
			resp.VolumeNote = "no volume: " + err.Error()
		} else {
			resp.Volume = &v
		}
	}
	resp.TotalMS = ms(time.Since(t0))
	s.log.Info("console: segment", "slices", len(slices), "ms", resp.TotalMS)
	writeJSON(w, http.StatusOK, &resp)
}

func (s *Server) segmentOne(sl *Slice, expr string, threshold *float64) (*SliceResult, error) {
	t0 := time.Now()
	hu := make([]float32, len(sl.hu))
	for i, v := range sl.hu {
		hu[i] = float32(v)
	}
	r, err := s.cfg.Segmenter.Segment(model.Slice{Rows: sl.Rows, Cols: sl.Cols, HU: hu, Spacing: sl.PixelSpacing}, expr)
	if err != nil {
		return nil, err
	}
	if r.Rows != sl.Rows || r.Cols != sl.Cols || len(r.Mask) != sl.Rows*sl.Cols || len(r.Prob) != len(r.Mask) {
		return nil, fmt.Errorf("segmenter returned a %d×%d result (%d mask, %d prob values) for a %d×%d slice", r.Rows, r.Cols, len(r.Mask), len(r.Prob), sl.Rows, sl.Cols)
	}
	mask := r.Mask
	if threshold != nil {
		mask = measure.Threshold(r.Prob, float32(*threshold), nil)
	}
	res := &SliceResult{Slice: sl.ID, Rows: sl.Rows, Cols: sl.Cols, TextCached: r.TextCached, Truncated: r.Truncated}
	for _, p := range r.Prob {
		if p > res.MaxProbability {
			res.MaxProbability = p
		}
	}
	tm := time.Now()
	lesions, err := measure.Measure(mask, sl.plane)
	if err != nil {
		return nil, err
	}
	res.LesionCount = len(lesions)
	for _, l := range lesions {
		res.Pixels += l.AreaPx
		res.AreaMM2 += l.Area
	}
	sort.SliceStable(lesions, func(i, j int) bool { return lesions[i].AreaPx > lesions[j].AreaPx })
	if len(lesions) > MaxLesionsListed {
		lesions = lesions[:MaxLesionsListed]
	}
	if lesions == nil {
		lesions = []measure.Lesion{}
	}
	for i := range lesions {
		clean(&lesions[i])
	}
	res.Lesions = lesions
	res.MaskRLE = EncodeRLE(mask)
	l := &res.Latency
	l.Tokenize, l.Text, l.Pre, l.Vision, l.Post = ms(r.Timing.Tokenize), ms(r.Timing.Text), ms(r.Timing.Pre), ms(r.Timing.Vision), ms(r.Timing.Post)
	l.Model = ms(r.Timing.Total())
	l.Measure = ms(time.Since(tm))
	l.Total = ms(time.Since(t0))
	return res, nil
}

// clean replaces non-finite numbers (JSON cannot carry them) by 0.
func clean(l *measure.Lesion) {
	fix := func(v *float64) {
		if math.IsNaN(*v) || math.IsInf(*v, 0) {
			*v = 0
		}
	}
	fix(&l.Area)
	fix(&l.LongestDiameter)
	for i := range l.Centroid {
		fix(&l.Centroid[i])
	}
	for i := range l.CentroidPatient {
		fix(&l.CentroidPatient[i])
	}
}
