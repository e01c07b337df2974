package model

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/lsms-edge/lsms/model/bundle"
	"github.com/lsms-edge/lsms/runtime/backend"
	"github.com/lsms-edge/lsms/tflite"
	"github.com/lsms-edge/lsms/tokenizer"

	_ "github.com/lsms-edge/lsms/runtime/interp" // the "native" backend
)

// Options configure a Segmenter.
type Options struct {
	// Backend name (default "native").
	Backend string
	// Threads for the kernels (0: 1).
	Threads int
	// Profile keeps per-op timings in the sessions (see Sessions).
	Profile bool
	// CacheSize is how many expressions' word features are kept (default 64).
	CacheSize int
}

// Slice is a CT slice in Hounsfield units at its native size.
type Slice struct {
	Rows, Cols int
	// HU holds Rows*Cols values, row-major.
	HU []float32
	// Spacing is the pixel spacing (row, column) in mm; informative here
	// (the model sees the slice resized to S×S) but carried into results.
	Spacing [2]float64
}

// Timing of one Segment call.
type Timing struct {
	Tokenize, Text, Pre, Vision, Post time.Duration
}

// Total is the sum of the stages.
func (t Timing) Total() time.Duration { return t.Tokenize + t.Text + t.Pre + t.Vision + t.Post }

// Result of segmenting one slice.
type Result struct {
	Rows, Cols int
	// Prob is the sigmoid probability per pixel at native resolution.
	Prob []float32
	// Mask is 1 where Prob > threshold.
	Mask []uint8
	// Pixels is the number of mask pixels.
	Pixels int
	// TextCached says the word features came from the cache.
	TextCached bool
	// Truncated says the expression was cut to fit T tokens.
	Truncated bool
	Timing    Timing
}

// ErrInput is returned for a slice or expression the segmenter cannot take.
var ErrInput = errors.New("model: bad input")

// Segmenter runs a bundle. It is safe for concurrent use; calls are
// serialised on the model sessions.
type Segmenter struct {
	b         *bundle.Bundle
	tok       *tokenizer.Tokenizer
	text      backend.Session
	vision    backend.Session
	S, T, C   int
	lo, hi    float32
	roi       *[4]float64 // region of interest (nil: the whole slice)
	threshold float32
	logit     float32 // threshold as a logit

	textIn   struct{ ids, mask int }
	visionIn struct{ image, words, mask int }

	files []*tflite.File // mapped models; they must outlive the sessions

	mu     sync.Mutex
	cache  map[string]*list.Element
	lru    *list.List
	max    int
	img    []float32
	logits []float32
	ids    []int32
	fmask  []float32
	last   *cached
}

type cached struct {
	expr      string
	words     []float32
	mask      []float32
	truncated bool
}

// Open loads a bundle directory and prepares a Segmenter.
func Open(dir string, opts Options) (*Segmenter, error) {
	b, err := bundle.Load(dir)
	if err != nil {
		return nil, err
	}
	return New(b, opts)
}

// New prepares a Segmenter for a loaded bundle.
func New(b *bundle.Bundle, opts Options) (*Segmenter, error) {
	m := b.Manifest
	tok, err := tokenizer.Load(b.Path(bundle.RoleVocab),
		tokenizer.WithLowercase(m.Tokenizer.Lowercase), tokenizer.WithStripAccents(m.Tokenizer.StripAccents))
	if err != nil {
		return nil, fmt.Errorf("model: bundle %s: vocab: %w", b.Dir, err)
	}
	name := opts.Backend
	if name == "" {
		name = "native"
	}
	be, err := backend.Get(name)
	if err != nil {
		return nil, err
	}
	bo := backend.Options{Threads: opts.Threads, Profile: opts.Profile}
	s := &Segmenter{b: b, tok: tok, S: m.InputSize, T: m.Tokenizer.T,
		lo: float32(m.Preprocess.HUWindow[0]), hi: float32(m.Preprocess.HUWindow[1]),
		roi: m.Preprocess.ROI, threshold: float32(m.Threshold), cache: map[string]*list.Element{}, lru: list.New(), max: opts.CacheSize}
	if s.max <= 0 {
		s.max = 64
	}
	s.logit = float32(math.Log(m.Threshold / (1 - m.Threshold)))
	open := func(role string) (backend.Session, error) {
		p := b.Path(role)
		mod, err := tflite.Open(p)
		if err != nil {
			return nil, err
		}
		o := bo
		o.Flatbuffer = mod.Bytes()
		sess, err := be.Open(mod.Model, o)
		if err != nil {
			mod.Close()
			return nil, fmt.Errorf("model: %s: %w", p, err)
		}
		s.files = append(s.files, mod)
		return sess, nil
	}
	if s.text, err = open(bundle.RoleText); err != nil {
		return nil, err
	}
	if s.vision, err = open(bundle.RoleVision); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.bind(); err != nil {
		s.Close()
		return nil, fmt.Errorf("model: bundle %s: %w", b.Dir, err)
	}
	s.img = make([]float32, s.S*s.S)
	s.logits = make([]float32, s.S*s.S)
	s.ids = make([]int32, s.T)
	s.fmask = make([]float32, s.T)
	return s, nil
}

func find(infos []backend.TensorInfo, name string) int {
	for i, t := range infos {
		if t.Name == name {
			return i
		}
	}
	return -1
}

func shapeIs(t backend.TensorInfo, want ...int) bool {
	if len(t.Shape) != len(want) {
		return false
	}
	for i := range want {
		if t.Shape[i] != want[i] {
			return false
		}
	}
	return true
}

// bind checks the graphs' inputs and outputs against the manifest.
func (s *Segmenter) bind() error {
	ti, vi := s.text.Inputs(), s.vision.Inputs()
	s.textIn.ids, s.textIn.mask = find(ti, "ids"), find(ti, "mask")
	if s.textIn.ids < 0 || s.textIn.mask < 0 {
		return fmt.Errorf("text graph: inputs %v, want ids and mask", names(ti))
	}
	if !shapeIs(ti[s.textIn.ids], 1, s.T) || ti[s.textIn.ids].Type != tflite.Int32 {
		return fmt.Errorf("text graph: ids %v %v, want int32 [1 %d]", ti[s.textIn.ids].Type, ti[s.textIn.ids].Shape, s.T)
	}
	to := s.text.Outputs()
	if len(to) != 1 || len(to[0].Shape) != 3 || to[0].Shape[1] != s.T || to[0].Type != tflite.Float32 {
		return fmt.Errorf("text graph: outputs %v, want one float32 [1 %d C]", names(to), s.T)
	}
	s.C = to[0].Shape[2]
	s.visionIn.image, s.visionIn.words, s.visionIn.mask = find(vi, "image"), find(vi, "words"), find(vi, "mask")
	if s.visionIn.image < 0 || s.visionIn.words < 0 || s.visionIn.mask < 0 {
		return fmt.Errorf("vision graph: inputs %v, want image, words and mask", names(vi))
	}
	if !shapeIs(vi[s.visionIn.image], 1, s.S, s.S, 1) {
		return fmt.Errorf("vision graph: image %v, want [1 %d %d 1] (manifest input_size)", vi[s.visionIn.image].Shape, s.S, s.S)
	}
	if !shapeIs(vi[s.visionIn.words], 1, s.T, s.C) {
		return fmt.Errorf("vision graph: words %v, want [1 %d %d] (text output)", vi[s.visionIn.words].Shape, s.T, s.C)
	}
	vo := s.vision.Outputs()
	if len(vo) != 1 || !shapeIs(vo[0], 1, s.S, s.S, 1) || vo[0].Type != tflite.Float32 {
		return fmt.Errorf("vision graph: outputs %v, want one float32 [1 %d %d 1]", names(vo), s.S, s.S)
	}
	return nil
}

func names(ts []backend.TensorInfo) []string {
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s%v", t.Name, t.Shape))
	}
	return out
}

// InputSize is S: the vision graph takes S×S images.
func (s *Segmenter) InputSize() int { return s.S }

// TokenLength is T, the token count of the text graph.
func (s *Segmenter) TokenLength() int { return s.T }

// Bundle returns the loaded bundle.
func (s *Segmenter) Bundle() *bundle.Bundle { return s.b }

// Sessions returns the text and vision sessions (for profiling).
func (s *Segmenter) Sessions() (text, vision backend.Session) { return s.text, s.vision }

// Close releases the sessions.
func (s *Segmenter) Close() error {
	var err error
	if s.text != nil {
		err = s.text.Close()
	}
	if s.vision != nil {
		if e := s.vision.Close(); err == nil {
			err = e
		}
	}
	for _, f := range s.files {
		f.Close()
	}
	s.text, s.vision, s.files = nil, nil, nil
	return err
}

// lookup returns the word features and mask for an expression, from the
// cache or by running the text graph.
func (s *Segmenter) lookup(expr string, t *Timing) (*cached, bool, error) {
	if e, ok := s.cache[expr]; ok {
		s.lru.MoveToFront(e)
		return e.Value.(*cached), true, nil
	}
	t0 := time.Now()
	enc, err := s.tok.Encode(expr, s.T)
	if err != nil {
		return nil, false, fmt.Errorf("%w: expression: %v", ErrInput, err)
	}
	for i := range s.fmask {
		s.fmask[i] = float32(enc.Mask[i])
	}
	t1 := time.Now()
	t.Tokenize = t1.Sub(t0)
	if err := s.text.SetInput(s.textIn.ids, enc.IDs); err != nil {
		return nil, false, err
	}
	if err := s.text.SetInput(s.textIn.mask, s.fmask); err != nil {
		return nil, false, err
	}
	if err := s.text.Invoke(); err != nil {
		return nil, false, err
	}
	c := &cached{expr: expr, words: make([]float32, s.T*s.C), mask: append([]float32(nil), s.fmask...), truncated: enc.Truncated}
	if err := s.text.Output(0, c.words); err != nil {
		return nil, false, err
	}
	t.Text = time.Since(t1)
	s.cache[expr] = s.lru.PushFront(c)
	for s.lru.Len() > s.max {
		old := s.lru.Back()
		s.lru.Remove(old)
		delete(s.cache, old.Value.(*cached).expr)
	}
	return c, false, nil
}

// ForgetText empties the cache of word features, so that the next Segment
// tokenizes and runs the text graph again (benchmarks of a cold expression).
func (s *Segmenter) ForgetText() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache = map[string]*list.Element{}
	s.lru.Init()
}

// Segment segments one slice for an expression.
func (s *Segmenter) Segment(sl Slice, expr string) (*Result, error) {
	if sl.Rows <= 0 || sl.Cols <= 0 || len(sl.HU) != sl.Rows*sl.Cols {
		return nil, fmt.Errorf("%w: slice %dx%d with %d values", ErrInput, sl.Rows, sl.Cols, len(sl.HU))
	}
	if sl.Rows > 1<<14 || sl.Cols > 1<<14 {
		return nil, fmt.Errorf("%w: slice %dx%d is larger than 16384 on a side", ErrInput, sl.Rows, sl.Cols)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Result{Rows: sl.Rows, Cols: sl.Cols}
	c, hit, err := s.lookup(expr, &r.Timing)
	if err != nil {
		return nil, err
	}
	r.TextCached, r.Truncated = hit, c.truncated
	s.last = c

	t0 := time.Now()
	box, err := ROIBox(s.roi, sl.Rows, sl.Cols)
	if err != nil {
		return nil, err
	}
	bh, bw := box.Y1-box.Y0, box.X1-box.X0
	for i, v := range sl.HU {
		if v != v {
			return nil, fmt.Errorf("%w: slice has NaN at pixel %d", ErrInput, i)
		}
	}
	win := make([]float32, len(sl.HU)) // the windowed box, later the native-size probabilities
	scale := 1 / (s.hi - s.lo)
	for y := 0; y < bh; y++ {
		src := sl.HU[(box.Y0+y)*sl.Cols+box.X0 : (box.Y0+y)*sl.Cols+box.X1]
		dst := win[y*bw : y*bw+bw]
		for i, v := range src {
			x := (v - s.lo) * scale
			if x < 0 {
				x = 0
			} else if x > 1 {
				x = 1
			}
			dst[i] = x
		}
	}
	ResizeBilinear(win, bh, bw, s.img, s.S, s.S)
	t1 := time.Now()
	r.Timing.Pre = t1.Sub(t0)
	if err := s.vision.SetInput(s.visionIn.image, s.img); err != nil {
		return nil, err
	}
	if err := s.vision.SetInput(s.visionIn.words, c.words); err != nil {
		return nil, err
	}
	if err := s.vision.SetInput(s.visionIn.mask, c.mask); err != nil {
		return nil, err
	}
	if err := s.vision.Invoke(); err != nil {
		return nil, err
	}
	if err := s.vision.Output(0, s.logits); err != nil {
		return nil, err
	}
	t2 := time.Now()
	r.Timing.Vision = t2.Sub(t1)
	r.Prob = win // reuse: same size
	r.Mask = make([]uint8, len(r.Prob))
	full := bh == sl.Rows && bw == sl.Cols
	if full {
		ResizeBilinear(s.logits, s.S, s.S, r.Prob, sl.Rows, sl.Cols)
	} else {
		// logits over the box, then spread to native rows from the
		// bottom row up (the box's rows are never above their
		// destination, so no row is overwritten before it is read);
		// outside the box the probability is 0 and the mask empty
		ResizeBilinear(s.logits, s.S, s.S, r.Prob, bh, bw)
		for y := bh - 1; y >= 0; y-- {
			copy(r.Prob[(box.Y0+y)*sl.Cols+box.X0:(box.Y0+y)*sl.Cols+box.X1], r.Prob[y*bw:y*bw+bw])
		}
	}
	for y := 0; y < sl.Rows; y++ {
		row := r.Prob[y*sl.Cols : y*sl.Cols+sl.Cols]
		for x, l := range row {
			if !full && (y < box.Y0 || y >= box.Y1 || x < box.X0 || x >= box.X1) {
				row[x] = 0
				continue
			}
			if l > s.logit {
				r.Mask[y*sl.Cols+x] = 1
				r.Pixels++
			}
			row[x] = float32(1 / (1 + math.Exp(-float64(l))))
		}
	}
	r.Timing.Post = time.Since(t2)
	return r, nil
}

// Box is a pixel rectangle: rows [Y0, Y1), columns [X0, X1).
type Box struct{ Y0, Y1, X0, X1 int }

// ROIBox is the pixel box of a region of interest given as fractions
// [x0, y0, x1, y1] of the columns and rows: each edge is floor(f·n + 0.5),
// clamped to [0, n]. A nil roi is the whole slice. The training side
// (train/lsms/data.py roi_box) computes the same box.
func ROIBox(roi *[4]float64, rows, cols int) (Box, error) {
	if roi == nil {
		return Box{0, rows, 0, cols}, nil
	}
	px := func(f float64, n int) int {
		v := int(math.Floor(f*float64(n) + 0.5))
		return min(n, max(0, v))
	}
	b := Box{Y0: px(roi[1], rows), Y1: px(roi[3], rows), X0: px(roi[0], cols), X1: px(roi[2], cols)}
	if b.Y1 <= b.Y0 || b.X1 <= b.X0 {
		return b, fmt.Errorf("%w: roi %v is empty on a %dx%d slice", ErrInput, *roi, rows, cols)
	}
	return b, nil
}

// SegmentBatch segments several slices for one expression (the text graph
// runs at most once).
func (s *Segmenter) SegmentBatch(slices []Slice, expr string) ([]*Result, error) {
	out := make([]*Result, len(slices))
	for i, sl := range slices {
		r, err := s.Segment(sl, expr)
		if err != nil {
			return nil, fmt.Errorf("slice %d: %w", i, err)
		}
		out[i] = r
	}
	return out, nil
}

// LastInputs returns copies of the vision graph's inputs of the last
// Segment call: the preprocessed S×S image, the word features and the mask.
func (s *Segmenter) LastInputs() (image, words, mask []float32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	image = append([]float32(nil), s.img...)
	if s.last != nil {
		words = append([]float32(nil), s.last.words...)
		mask = append([]float32(nil), s.last.mask...)
	}
	return
}

// Logits returns the raw S×S logits of the last Segment call (a copy).
func (s *Segmenter) Logits() []float32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]float32(nil), s.logits...)
}

// ReadManifestConfig decodes the bundle's model config into v.
func ReadManifestConfig(b *bundle.Bundle, v any) error {
	return json.Unmarshal(b.Manifest.Model, v)
}
