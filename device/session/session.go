package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/dimse"
	"github.com/lsms-edge/lsms/device/measure"
	"github.com/lsms-edge/lsms/device/ring"
	"github.com/lsms-edge/lsms/device/source"
)

// Segmenter is the model: it segments one CT slice (HU at its native size,
// s.Rows×s.Cols) for a referring expression. It returns a probability map
// and a binary mask (nonzero = lesion), each Rows×Cols row-major; either may
// be nil, not both (a nil mask is prob ≥ Config.Threshold). It is called
// from several goroutines at once and must not keep s or its HU.
type Segmenter interface {
	Segment(ctx context.Context, s *dicom.Slice, expr string) (prob []float32, mask []uint8, err error)
}

// Defaults of Config fields.
const (
	DefaultWorkers    = 1
	DefaultSeriesIdle = 30 * time.Second
	DefaultThreshold  = 0.5
	DefaultWindow     = 400 // HU
	DefaultLevel      = 40  // HU
	// MaxListed bounds the failures and dropped slices listed in the
	// summary (all are counted).
	MaxListed = 1000
	// maxLatencies bounds the latencies kept for the session summary.
	maxLatencies = 1 << 17
	// staleArrival: an arrival stamp this old (or 10 × SeriesIdle, if
	// longer) whose slice never reached a worker was dropped by the ring.
	staleArrival = time.Hour
)

// Errors.
var (
	// ErrConfig: a Config field is invalid.
	ErrConfig = errors.New("session: invalid configuration")
	// ErrNoExpression: a series has no expression (no override, no sidecar
	// and no default).
	ErrNoExpression = errors.New("session: no expression for the series")
	// ErrSegmenter: the Segmenter failed or returned unusable output.
	ErrSegmenter = errors.New("session: segmenter failed")
)

// Config configures a Session.
type Config struct {
	// Ring is where the sources put slices (required). The Session takes
	// them out; the caller closes it to end Run.
	Ring *ring.Ring
	// Segmenter is the model (required).
	Segmenter Segmenter
	// SegmenterName names it in reports and the SEG (Segment Algorithm
	// Name); default "LSMS".
	SegmenterName string
	// SegmenterVersion goes into the SEG's Software Versions; default
	// "unknown".
	SegmenterVersion string
	// Workers is the number of goroutines segmenting; default 1.
	Workers int
	// Out is the output directory (required; created if missing).
	Out string

	// Expression is the default expression.
	Expression string
	// Expressions overrides it per Series Instance UID.
	Expressions map[string]string
	// ExpressionFor, when set, is asked for a series' expression (after
	// Expressions, before Expression) with the first slice taken; "" means
	// no opinion. from names the origin in the report (e.g. a file path).
	ExpressionFor func(meta ring.Meta, s *dicom.Slice) (expr, from string)

	// Threshold turns a probability map into a mask when the Segmenter
	// returns none; default 0.5.
	Threshold float32
	// SeriesIdle: a series with no new slice for this long is complete;
	// default 30 s.
	SeriesIdle time.Duration
	// NoOverlays turns the PNG overlays off.
	NoOverlays bool
	// Window and Level (HU) of the overlays; a zero Window means 400, and
	// then a zero Level means 40.
	Window, Level float64
	// SegmentLabel labels the SEG's segment; default "Lesion".
	SegmentLabel string

	// Forward, when set, sends every SEG written to a PACS.
	Forward *Forward

	// Clock drives series idleness, latencies and time stamps; nil means
	// the real clock.
	Clock clockwork.Clock
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// OnSeries, when set, is called after a series' outputs are written.
	OnSeries func(*Report)
	// OnSlice, when set, is called for every slice taken from the ring once
	// it is done with (segmented or failed), before its slot is released.
	OnSlice func(SliceDone)
}

// SliceDone is what OnSlice is told.
type SliceDone struct {
	Meta              ring.Meta
	SeriesInstanceUID string // "" when the slice could not be read
	SOPInstanceUID    string
	Lesions           int
	Area              float64 // mm²
	Latency           time.Duration
	Err               error
}

// Session is a running pipeline. Create with New, then Run.
type Session struct {
	cfg   Config
	log   *slog.Logger
	clock clockwork.Clock
	start time.Time

	mu       sync.Mutex
	cond     *sync.Cond
	open     map[string]*series // by Series Instance UID
	parts    map[string]int     // parts begun per series
	arrivals map[arrivalKey]time.Time
	ctr      sessionCounters
	failures []Failure // slices no series could be named for
	lat      []float64 // ms, every segmented slice
	entries  []SeriesEntry
	stale    []string // arrivals pruned as dropped

	writeMu sync.Mutex // serializes output writing and session.json
	running bool
}

type arrivalKey struct{ source, name string }

type sessionCounters struct {
	segmented, failed, duplicates uint64
	series, segs, forwarded       uint64
	forwardFailed                 uint64
	failedListed                  uint64
}

// New checks cfg and returns a Session.
func New(cfg Config) (*Session, error) {
	switch {
	case cfg.Ring == nil:
		return nil, fmt.Errorf("%w: Ring is nil", ErrConfig)
	case cfg.Segmenter == nil:
		return nil, fmt.Errorf("%w: Segmenter is nil", ErrConfig)
	case cfg.Out == "":
		return nil, fmt.Errorf("%w: Out is empty", ErrConfig)
	case cfg.Workers < 0 || cfg.Workers > 1024:
		return nil, fmt.Errorf("%w: Workers %d outside 0..1024", ErrConfig, cfg.Workers)
	case cfg.SeriesIdle < 0:
		return nil, fmt.Errorf("%w: negative SeriesIdle", ErrConfig)
	case cfg.Threshold < 0 || cfg.Threshold > 1:
		return nil, fmt.Errorf("%w: Threshold %g outside 0..1", ErrConfig, cfg.Threshold)
	case cfg.Window < 0:
		return nil, fmt.Errorf("%w: negative Window", ErrConfig)
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.SeriesIdle == 0 {
		cfg.SeriesIdle = DefaultSeriesIdle
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = DefaultThreshold
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
		if cfg.Level == 0 {
			cfg.Level = DefaultLevel
		}
	}
	if cfg.SegmenterName == "" {
		cfg.SegmenterName = "LSMS"
	}
	if cfg.SegmenterVersion == "" {
		cfg.SegmenterVersion = "unknown"
	}
	if cfg.SegmentLabel == "" {
		cfg.SegmentLabel = "Lesion"
	}
	if cfg.Expression != "" {
		e, err := CleanExpression(cfg.Expression)
		if err != nil {
			return nil, fmt.Errorf("%w: Expression: %v", ErrConfig, err)
		}
		cfg.Expression = e
	}
	exprs := make(map[string]string, len(cfg.Expressions))
	for uid, e := range cfg.Expressions {
		c, err := CleanExpression(e)
		if err != nil {
			return nil, fmt.Errorf("%w: Expressions[%s]: %v", ErrConfig, uid, err)
		}
		exprs[uid] = c
	}
	cfg.Expressions = exprs
	if cfg.Forward != nil {
		f, err := cfg.Forward.withDefaults()
		if err != nil {
			return nil, fmt.Errorf("%w: Forward: %v", ErrConfig, err)
		}
		cfg.Forward = &f
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("%w: Out: %v", ErrConfig, err)
	}
	s := &Session{
		cfg: cfg, log: log, clock: cfg.Clock, start: cfg.Clock.Now(),
		open: map[string]*series{}, parts: map[string]int{}, arrivals: map[arrivalKey]time.Time{},
	}
	s.cond = sync.NewCond(&s.mu)
	return s, nil
}

// StoreHandler is the dimse.Server Handler for this session: it puts each
// C-STORE into the ring (source.StoreHandler: backpressure with Block,
// 0xA700 for anything refused) and stamps its arrival time.
func (s *Session) StoreHandler() func(context.Context, *dimse.StoreRequest) dimse.Status {
	h := source.StoreHandler(s.cfg.Ring, s.log)
	return func(ctx context.Context, req *dimse.StoreRequest) dimse.Status {
		k := arrivalKey{"dimse:" + req.CallingAE, req.SOPInstanceUID}
		s.stamp(k)
		st := h(ctx, req)
		if st != dimse.StatusSuccess {
			s.unstamp(k)
		}
		return st
	}
}

// FolderSink is the source.Folder Sink for this session: it puts each file
// into the ring (source.RingSink, Source src) and stamps its arrival time.
func (s *Session) FolderSink(src string) source.Sink {
	sink := source.RingSink(s.cfg.Ring, src)
	return func(ctx context.Context, f source.File) error {
		k := arrivalKey{src, f.Name}
		s.stamp(k)
		err := sink(ctx, f)
		if err != nil {
			s.unstamp(k)
		}
		return err
	}
}

func (s *Session) stamp(k arrivalKey) {
	now := s.clock.Now()
	s.mu.Lock()
	s.arrivals[k] = now
	s.mu.Unlock()
}

func (s *Session) unstamp(k arrivalKey) {
	s.mu.Lock()
	delete(s.arrivals, k)
	s.mu.Unlock()
}

// Run starts the workers and the idle watch, and returns when the ring is
// closed and drained (nil) or ctx is done (ctx.Err()), after writing every
// open series and the summary.
func (s *Session) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return fmt.Errorf("%w: Run called twice", ErrConfig)
	}
	s.running = true
	s.mu.Unlock()
	s.log.Info("session: started", "workers", s.cfg.Workers, "out", s.cfg.Out, "policy", s.cfg.Ring.Policy().String(),
		"slots", s.cfg.Ring.Capacity(), "slot_bytes", s.cfg.Ring.SlotBytes(), "series_idle", s.cfg.SeriesIdle.String())

	var wg sync.WaitGroup
	for w := range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.worker(ctx, w)
		}()
	}
	stop := make(chan struct{})
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		s.sweep(ctx, stop)
	}()
	wg.Wait()
	close(stop)
	<-swept

	// Write what is left, whatever ctx says: results are already computed.
	s.mu.Lock()
	var left []*series
	for uid, ser := range s.open {
		delete(s.open, uid)
		left = append(left, ser)
	}
	s.mu.Unlock()
	sort.Slice(left, func(i, j int) bool { return left[i].first.Before(left[j].first) })
	for _, ser := range left {
		s.finalize(context.WithoutCancel(ctx), ser, "shutdown")
	}
	sum := s.Summary()
	if err := s.writeSummary(sum); err != nil {
		s.log.Error("session: cannot write the summary", "err", err)
	}
	s.log.Info("session: ended", "received", sum.Counters.Received, "processed", sum.Counters.Processed,
		"dropped", sum.Counters.Dropped, "segmented", sum.Counters.Segmented, "failed", sum.Counters.Failed,
		"series", len(sum.Series), "balanced", sum.Balanced)
	return ctx.Err()
}

func (s *Session) worker(ctx context.Context, id int) {
	for ctx.Err() == nil {
		rs, err := s.cfg.Ring.Next(ctx)
		if err != nil {
			if !errors.Is(err, ring.ErrClosed) && ctx.Err() == nil {
				s.log.Error("session: ring failed", "worker", id, "err", err)
			}
			return
		}
		s.process(ctx, rs)
		if err := s.cfg.Ring.Release(rs); err != nil {
			s.log.Error("session: release failed", "worker", id, "seq", rs.Meta.Seq, "err", err)
		}
	}
}

// parse decodes a ring slice.
func parse(rs *ring.Slice) (*dicom.Slice, error) {
	if rs.Meta.Format == ring.File {
		return dicom.ReadCT(bytes.NewReader(rs.Data), int64(len(rs.Data)))
	}
	return dicom.ParsePayload(rs.Data, rs.Meta.TransferSyntaxUID)
}

// process handles one slice; the ring slot is released by the caller.
func (s *Session) process(ctx context.Context, rs *ring.Slice) {
	done := s.processSlice(ctx, rs)
	if s.cfg.OnSlice != nil {
		s.cfg.OnSlice(done)
	}
}

func (s *Session) processSlice(ctx context.Context, rs *ring.Slice) SliceDone {
	meta := rs.Meta
	taken := s.clock.Now()
	k := arrivalKey{meta.Source, meta.Name}
	s.mu.Lock()
	arrived, stamped := s.arrivals[k]
	delete(s.arrivals, k)
	s.mu.Unlock()
	if !stamped {
		arrived = taken
	}

	sl, err := parse(rs)
	if err != nil {
		s.failUnattributed(meta, "read", err)
		return SliceDone{Meta: meta, SOPInstanceUID: meta.SOPInstanceUID, Err: err}
	}
	ser := s.admit(meta, sl, taken)
	res, err := s.segment(ctx, ser, sl, meta)
	end := s.clock.Now()
	out := SliceDone{Meta: meta, SeriesInstanceUID: ser.uid, SOPInstanceUID: sl.SOPInstanceUID, Latency: end.Sub(arrived), Err: err}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.cond.Broadcast()
	ser.inflight--
	if err != nil {
		s.ctr.failed++
		ser.failures = append(ser.failures, Failure{Source: meta.Source, Name: meta.Name, Seq: meta.Seq,
			SOPInstanceUID: sl.SOPInstanceUID, Stage: stageOf(err), Error: err.Error()})
		s.log.Error("session: slice failed", "series", ser.uid, "sop_instance", sl.SOPInstanceUID,
			"source", meta.Source, "name", meta.Name, "seq", meta.Seq, "err", err)
		return out
	}
	res.latency = end.Sub(arrived)
	res.service = end.Sub(taken)
	out.Lesions, out.Area = len(res.lesions), res.area
	s.ctr.segmented++
	if len(s.lat) >= maxLatencies {
		s.lat = append(s.lat[:0], s.lat[len(s.lat)/2:]...) // keep the recent half
	}
	s.lat = append(s.lat, ms(res.latency))
	if _, dup := ser.slices[sl.SOPInstanceUID]; dup {
		ser.duplicates++
		s.ctr.duplicates++
		s.log.Warn("session: SOP instance received again; the later result replaces the earlier",
			"series", ser.uid, "sop_instance", sl.SOPInstanceUID)
	}
	ser.slices[sl.SOPInstanceUID] = res
	s.log.Debug("session: slice segmented", "series", ser.uid, "sop_instance", sl.SOPInstanceUID,
		"lesions", len(res.lesions), "area_mm2", res.area, "latency_ms", ms(res.latency), "service_ms", ms(res.service))
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// admit finds or opens the slice's series and marks a slice in flight.
func (s *Session) admit(meta ring.Meta, sl *dicom.Slice, now time.Time) *series {
	uid := sl.SeriesInstanceUID
	s.mu.Lock()
	defer s.mu.Unlock()
	ser := s.open[uid]
	if ser == nil {
		s.parts[uid]++
		part := s.parts[uid]
		expr, from := s.expressionFor(meta, sl)
		ser = &series{uid: uid, part: part, expr: expr, exprFrom: from, first: now, slices: map[string]*sliceResult{}}
		s.open[uid] = ser
		if part > 1 {
			s.log.Warn("session: slice arrived after its series was written; starting a new part",
				"series", uid, "part", part, "sop_instance", sl.SOPInstanceUID)
		}
		s.log.Info("session: series opened", "series", uid, "part", part, "expression", expr, "expression_from", from,
			"patient_id", sl.PatientID, "description", sl.SeriesDescription)
	}
	ser.inflight++
	ser.last = now
	return ser
}

// expressionFor resolves a new series' expression; s.mu is held.
func (s *Session) expressionFor(meta ring.Meta, sl *dicom.Slice) (string, string) {
	if e, ok := s.cfg.Expressions[sl.SeriesInstanceUID]; ok {
		return e, "override"
	}
	if s.cfg.ExpressionFor != nil {
		if e, from := s.cfg.ExpressionFor(meta, sl); e != "" {
			c, err := CleanExpression(e)
			if err == nil {
				if from == "" {
					from = "hook"
				}
				return c, from
			}
			s.log.Warn("session: unusable expression ignored", "series", sl.SeriesInstanceUID, "from", from, "err", err)
		}
	}
	if s.cfg.Expression != "" {
		return s.cfg.Expression, "default"
	}
	return "", ""
}

type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func stageOf(err error) string {
	var se *stageError
	if errors.As(err, &se) {
		return se.stage
	}
	return "segment"
}

// segment runs the model, the measurements and the overlay of one slice.
func (s *Session) segment(ctx context.Context, ser *series, sl *dicom.Slice, meta ring.Meta) (*sliceResult, error) {
	if ser.expr == "" {
		return nil, &stageError{"expression", fmt.Errorf("%w %s: set a default expression, an override or a sidecar", ErrNoExpression, ser.uid)}
	}
	n := sl.Rows * sl.Cols
	prob, mask, err := s.cfg.Segmenter.Segment(ctx, sl, ser.expr)
	switch {
	case err != nil:
		return nil, &stageError{"segment", fmt.Errorf("%w: %w", ErrSegmenter, err)}
	case prob == nil && mask == nil:
		return nil, &stageError{"segment", fmt.Errorf("%w: neither a probability map nor a mask", ErrSegmenter)}
	case prob != nil && len(prob) != n:
		return nil, &stageError{"segment", fmt.Errorf("%w: probability map of %d values for a %d×%d slice", ErrSegmenter, len(prob), sl.Rows, sl.Cols)}
	case mask != nil && len(mask) != n:
		return nil, &stageError{"segment", fmt.Errorf("%w: mask of %d values for a %d×%d slice", ErrSegmenter, len(mask), sl.Rows, sl.Cols)}
	}
	if mask == nil {
		mask = measure.Threshold(prob, s.cfg.Threshold, nil)
	}
	plane := measure.PlaneOf(sl)
	lesions, err := measure.Measure(mask, plane)
	if err != nil {
		return nil, &stageError{"measure", err}
	}
	res := &sliceResult{lesions: lesions, seq: meta.Seq, source: meta.Source, plane: plane}
	for _, l := range lesions {
		res.area += l.Area
	}
	if len(lesions) > 0 {
		res.mask = append([]uint8(nil), mask...) // the segmenter may reuse its buffer
	}
	if !s.cfg.NoOverlays {
		rel, err := s.writeOverlay(ser, sl, mask)
		if err != nil {
			return nil, &stageError{"overlay", err}
		}
		res.overlay = rel
	}
	// Keep what the SEG and the report need, not the pixels.
	src := *sl
	src.HU = nil
	res.src = &src
	return res, nil
}

func (s *Session) failUnattributed(meta ring.Meta, stage string, err error) {
	s.mu.Lock()
	s.ctr.failed++
	if len(s.failures) < MaxListed {
		s.failures = append(s.failures, Failure{Source: meta.Source, Name: meta.Name, Seq: meta.Seq,
			SOPInstanceUID: meta.SOPInstanceUID, Stage: stage, Error: err.Error()})
	}
	s.mu.Unlock()
	s.log.Error("session: slice unreadable", "source", meta.Source, "name", meta.Name, "seq", meta.Seq,
		"sop_instance", meta.SOPInstanceUID, "err", err)
}

// sweep finalizes idle series until stop is closed.
func (s *Session) sweep(ctx context.Context, stop <-chan struct{}) {
	tick := max(s.cfg.SeriesIdle/4, 10*time.Millisecond)
	t := s.clock.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.Chan():
			s.pruneArrivals()
			for _, ser := range s.takeIdle() {
				s.finalize(context.WithoutCancel(ctx), ser, "idle")
			}
		}
	}
}

// pruneArrivals forgets arrival stamps too old to belong to a slice still
// queued: the ring dropped those slices. They are listed in the summary.
func (s *Session) pruneArrivals() {
	horizon := s.clock.Now().Add(-max(staleArrival, 10*s.cfg.SeriesIdle))
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.arrivals {
		if t.Before(horizon) {
			delete(s.arrivals, k)
			if len(s.stale) < MaxListed {
				s.stale = append(s.stale, k.source+" "+k.name)
			}
			s.log.Warn("session: slice never reached a worker; presumed dropped by the ring", "source", k.source, "name", k.name, "arrived", t)
		}
	}
}

// takeIdle removes and returns the series that are complete by idleness.
func (s *Session) takeIdle() []*series {
	st := s.cfg.Ring.Stats()
	waiting := st.Queued+st.Backlog > 0
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*series
	for uid, ser := range s.open {
		idle := now.Sub(ser.last)
		if ser.inflight > 0 || idle < s.cfg.SeriesIdle || (waiting && idle < 10*s.cfg.SeriesIdle) {
			continue
		}
		delete(s.open, uid)
		out = append(out, ser)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].first.Before(out[j].first) })
	return out
}

// Flush writes every open series now, waiting for slices of them being
// segmented at the moment; later slices of the same series start a new
// part. It returns the reports written.
func (s *Session) Flush(ctx context.Context) []*Report {
	s.mu.Lock()
	var take []*series
	for uid, ser := range s.open {
		delete(s.open, uid)
		take = append(take, ser)
	}
	for {
		busy := false
		for _, ser := range take {
			busy = busy || ser.inflight > 0
		}
		if !busy {
			break
		}
		s.cond.Wait()
	}
	s.mu.Unlock()
	sort.Slice(take, func(i, j int) bool { return take[i].first.Before(take[j].first) })
	var out []*Report
	for _, ser := range take {
		out = append(out, s.finalize(ctx, ser, "flush"))
	}
	return out
}
