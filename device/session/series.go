package session

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/measure"
	"github.com/lsms-edge/lsms/device/ring"
)

// Report and summary formats.
const (
	ReportFormat  = "lsms-series-report/v1"
	SummaryFormat = "lsms-session-summary/v1"
)

// series is one series (part) being collected.
type series struct {
	uid         string
	part        int
	expr        string
	exprFrom    string
	first, last time.Time
	inflight    int
	slices      map[string]*sliceResult // by SOP Instance UID
	failures    []Failure
	duplicates  int
}

type sliceResult struct {
	src     *dicom.Slice // without HU
	plane   measure.Plane
	mask    []uint8 // nil when no lesion
	lesions []measure.Lesion
	area    float64
	overlay string
	latency time.Duration
	service time.Duration
	seq     uint64
	source  string
}

// Failure is a slice that was taken from the ring but not segmented.
type Failure struct {
	Source         string `json:"source"`
	Name           string `json:"name"`
	Seq            uint64 `json:"seq"`
	SOPInstanceUID string `json:"sop_instance_uid,omitempty"`
	// Stage is read, expression, segment, measure or overlay.
	Stage string `json:"stage"`
	Error string `json:"error"`
}

// SliceReport is one segmented slice of a series report.
type SliceReport struct {
	SOPInstanceUID string     `json:"sop_instance_uid"`
	InstanceNumber int        `json:"instance_number"`
	Position       [3]float64 `json:"image_position_patient"`
	// Location is the position along the slice normal, mm.
	Location float64          `json:"location_mm"`
	Source   string           `json:"source"`
	Seq      uint64           `json:"seq"`
	Area     float64          `json:"lesion_area_mm2"`
	Lesions  []measure.Lesion `json:"lesions"`
	// LatencyMS runs from arrival (C-STORE or file hand-off) to the end of
	// the slice's outputs; ServiceMS from the worker taking it.
	LatencyMS float64 `json:"latency_ms"`
	ServiceMS float64 `json:"service_ms"`
	Overlay   string  `json:"overlay,omitempty"`
}

// SEGReport says whether and where the SEG was written.
type SEGReport struct {
	Written           bool   `json:"written"`
	Path              string `json:"path,omitempty"` // relative to the series directory
	SOPInstanceUID    string `json:"sop_instance_uid,omitempty"`
	SeriesInstanceUID string `json:"series_instance_uid,omitempty"`
	Frames            int    `json:"frames,omitempty"`
	// Reason says why none was written ("no lesion found", an error).
	Reason string `json:"reason,omitempty"`
}

// ForwardReport is the outcome of sending the SEG to a PACS.
type ForwardReport struct {
	To       string `json:"to"`
	OK       bool   `json:"ok"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
}

// Latency summarizes latencies in ms.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// Counters are the session's and the ring's counts.
type Counters struct {
	// Ring: Received = Processed + Dropped + Queued + InFlight + Backlog.
	Received  uint64 `json:"received"`
	Processed uint64 `json:"processed"`
	Dropped   uint64 `json:"dropped"`
	Spilled   uint64 `json:"spilled"`
	Unspilled uint64 `json:"unspilled"`
	Blocked   uint64 `json:"blocked"`
	Queued    int    `json:"queued"`
	InFlight  int    `json:"in_flight"`
	Backlog   int    `json:"spill_backlog"`
	// Session: every processed slice is segmented or failed.
	Segmented     uint64 `json:"segmented"`
	Failed        uint64 `json:"failed"`
	Duplicates    uint64 `json:"duplicates"`
	Series        uint64 `json:"series_written"`
	SEGs          uint64 `json:"segs_written"`
	Forwarded     uint64 `json:"forwarded"`
	ForwardFailed uint64 `json:"forward_failed"`
}

// Report is a series' report.json.
type Report struct {
	Format              string `json:"format"`
	SeriesInstanceUID   string `json:"series_instance_uid"`
	Part                int    `json:"part"`
	StudyInstanceUID    string `json:"study_instance_uid,omitempty"`
	FrameOfReferenceUID string `json:"frame_of_reference_uid,omitempty"`
	PatientID           string `json:"patient_id,omitempty"`
	SeriesNumber        int    `json:"series_number,omitempty"`
	SeriesDescription   string `json:"series_description,omitempty"`
	Expression          string `json:"expression"`
	ExpressionFrom      string `json:"expression_from"`
	Segmenter           string `json:"segmenter"`
	// Finalized is idle, flush or shutdown.
	Finalized   string    `json:"finalized"`
	FirstSlice  time.Time `json:"first_slice_at"`
	LastSlice   time.Time `json:"last_slice_at"`
	FinalizedAt time.Time `json:"finalized_at"`

	Slices       []SliceReport         `json:"slices"`
	LesionSlices int                   `json:"lesion_slices"`
	Lesions      int                   `json:"lesions"` // components summed over slices
	Volume       *measure.VolumeResult `json:"volume,omitempty"`
	VolumeError  string                `json:"volume_error,omitempty"`
	Failed       []Failure             `json:"failed"`
	Duplicates   int                   `json:"duplicates"`
	SEG          SEGReport             `json:"seg"`
	Forward      *ForwardReport        `json:"forward,omitempty"`
	Latency      Latency               `json:"latency"`
	// Counters are the session's at the time of writing.
	Counters Counters `json:"counters"`

	// Dir is the series directory (not in the JSON).
	Dir string `json:"-"`
}

// SeriesEntry lists one written series in the summary.
type SeriesEntry struct {
	SeriesInstanceUID string  `json:"series_instance_uid"`
	Part              int     `json:"part"`
	Report            string  `json:"report"` // relative to Out
	SEG               string  `json:"seg,omitempty"`
	Slices            int     `json:"slices"`
	Failed            int     `json:"failed"`
	VolumeML          float64 `json:"volume_ml"`
}

// Summary is session.json.
type Summary struct {
	Format   string    `json:"format"`
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated"`
	Counters Counters  `json:"counters"`
	// Drained: nothing queued, in flight or spilled.
	Drained bool `json:"drained"`
	// Balanced: drained, Received = Processed + Dropped, and Processed =
	// Segmented + Failed.
	Balanced bool          `json:"balanced"`
	Series   []SeriesEntry `json:"series"`
	// Unreadable lists slices that could not be read as CT (at most
	// MaxListed; all are counted in Failed).
	Unreadable []Failure `json:"unreadable"`
	// Dropped names slices stamped on arrival that never reached a worker:
	// once drained, the ring's drops.
	Dropped []string `json:"dropped"`
	Latency Latency  `json:"latency"`
}

// Counters returns the current counts.
func (s *Session) Counters() Counters {
	st := s.cfg.Ring.Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.countersLocked(st)
}

func (s *Session) countersLocked(st ring.Stats) Counters {
	return Counters{
		Received: st.Received, Processed: st.Processed, Dropped: st.Dropped,
		Spilled: st.Spilled, Unspilled: st.Unspilled, Blocked: st.Blocked,
		Queued: st.Queued, InFlight: st.InFlight, Backlog: st.Backlog,
		Segmented: s.ctr.segmented, Failed: s.ctr.failed, Duplicates: s.ctr.duplicates,
		Series: s.ctr.series, SEGs: s.ctr.segs, Forwarded: s.ctr.forwarded, ForwardFailed: s.ctr.forwardFailed,
	}
}

// Summary returns the session summary as it stands.
func (s *Session) Summary() *Summary {
	st := s.cfg.Ring.Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.countersLocked(st)
	sum := &Summary{
		Format: SummaryFormat, Started: s.start, Updated: s.clock.Now(), Counters: c,
		Series:     append([]SeriesEntry{}, s.entries...),
		Unreadable: append([]Failure{}, s.failures...),
		Dropped:    append([]string{}, s.stale...),
		Latency:    summarize(s.lat),
	}
	sum.Drained = c.Queued == 0 && c.InFlight == 0 && c.Backlog == 0
	sum.Balanced = sum.Drained && c.Received == c.Processed+c.Dropped && c.Processed == c.Segmented+c.Failed
	if sum.Drained {
		for k := range s.arrivals {
			if len(sum.Dropped) < MaxListed {
				sum.Dropped = append(sum.Dropped, k.source+" "+k.name)
			}
		}
		sort.Strings(sum.Dropped)
	}
	return sum
}

func (s *Session) writeSummary(sum *Summary) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.cfg.Out, "session.json"), append(b, '\n'))
}

// SeriesDir returns the directory of a series' outputs.
func (s *Session) SeriesDir(seriesUID string) string {
	return filepath.Join(s.cfg.Out, safeName(seriesUID))
}

// safeName keeps [0-9A-Za-z._-] and replaces anything else by "_";
// names that would be hidden or empty get a leading "_".
func safeName(uid string) string {
	b := []byte(uid)
	for i, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		b = append([]byte{'_'}, b...)
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

func partName(base, ext string, part int) string {
	if part <= 1 {
		return base + ext
	}
	return fmt.Sprintf("%s-%d%s", base, part, ext)
}

// finalize writes a series' outputs and returns its report.
func (s *Session) finalize(ctx context.Context, ser *series, reason string) *Report {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	dir := s.SeriesDir(ser.uid)
	log := s.log.With("series", ser.uid, "part", ser.part)
	rep := &Report{
		Format: ReportFormat, SeriesInstanceUID: ser.uid, Part: ser.part,
		Expression: ser.expr, ExpressionFrom: ser.exprFrom, Segmenter: s.cfg.SegmenterName + " " + s.cfg.SegmenterVersion,
		Finalized: reason, FirstSlice: ser.first, LastSlice: ser.last, FinalizedAt: s.clock.Now(),
		Slices: []SliceReport{}, Failed: append([]Failure{}, ser.failures...), Duplicates: ser.duplicates, Dir: dir,
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Error("session: cannot create the series directory; series lost", "dir", dir, "err", err)
		return rep
	}
	results := make([]*sliceResult, 0, len(ser.slices))
	for _, r := range ser.slices {
		results = append(results, r)
	}
	var normal [3]float64
	if len(results) > 0 {
		normal = results[0].plane.Normal()
	}
	loc := func(r *sliceResult) float64 {
		p := r.plane.Position
		return p[0]*normal[0] + p[1]*normal[1] + p[2]*normal[2]
	}
	sort.Slice(results, func(i, j int) bool {
		a, b := results[i], results[j]
		if la, lb := loc(a), loc(b); la != lb {
			return la < lb
		}
		if a.src.InstanceNumber != b.src.InstanceNumber {
			return a.src.InstanceNumber < b.src.InstanceNumber
		}
		return a.src.SOPInstanceUID < b.src.SOPInstanceUID
	})
	var lat []float64
	var areas []measure.SliceArea
	for _, r := range results {
		rep.Slices = append(rep.Slices, SliceReport{
			SOPInstanceUID: r.src.SOPInstanceUID, InstanceNumber: r.src.InstanceNumber,
			Position: r.src.ImagePositionPatient, Location: loc(r), Source: r.source, Seq: r.seq,
			Area: r.area, Lesions: nonNil(r.lesions), LatencyMS: ms(r.latency), ServiceMS: ms(r.service), Overlay: r.overlay,
		})
		lat = append(lat, ms(r.latency))
		areas = append(areas, measure.SliceArea{Plane: r.plane, Area: r.area})
		if len(r.lesions) > 0 {
			rep.LesionSlices++
			rep.Lesions += len(r.lesions)
		}
	}
	rep.Latency = summarize(lat)
	if len(results) > 0 {
		f := results[0].src
		rep.StudyInstanceUID, rep.FrameOfReferenceUID, rep.PatientID = f.StudyInstanceUID, f.FrameOfReferenceUID, f.PatientID
		rep.SeriesNumber, rep.SeriesDescription = f.SeriesNumber, f.SeriesDescription
		if v, err := measure.Volume(areas); err != nil {
			rep.VolumeError = err.Error()
		} else {
			rep.Volume = &v
			if v.Gaps > 0 || v.Duplicates > 0 {
				log.Warn("session: series has missing or duplicate slice positions", "gaps", v.Gaps, "duplicates", v.Duplicates)
			}
		}
	}

	// SEG
	segName := partName("seg", ".dcm", ser.part)
	switch {
	case len(results) == 0:
		rep.SEG.Reason = "no slice segmented"
	case rep.LesionSlices == 0:
		rep.SEG.Reason = "no lesion found"
	default:
		src := make([]*dicom.Slice, len(results))
		masks := make([][]bool, len(results))
		for i, r := range results {
			src[i] = r.src
			m := make([]bool, r.src.Rows*r.src.Cols)
			for k, v := range r.mask {
				m[k] = v != 0
			}
			masks[i] = m
		}
		opts := dicom.SEGOptions{
			SegmentLabel:       s.cfg.SegmentLabel,
			SegmentDescription: ser.expr,
			AlgorithmName:      truncRunes(s.cfg.SegmenterName, 64),
			AlgorithmVersion:   truncRunes(s.cfg.SegmenterVersion, 64),
			SeriesDescription:  truncRunes("LSMS: "+ser.expr, 64),
			SeriesNumber:       segSeriesNumber(results[0].src.SeriesNumber),
			InstanceNumber:     ser.part,
			Time:               s.clock.Now(),
		}
		opts.SeriesInstanceUID, opts.SOPInstanceUID = dicom.NewUID(), dicom.NewUID()
		if err := dicom.WriteSEG(filepath.Join(dir, segName), src, masks, opts); err != nil {
			rep.SEG.Reason = "SEG not written: " + err.Error()
			log.Error("session: SEG not written", "err", err)
		} else {
			frames := 0
			for _, r := range results {
				if r.mask != nil {
					frames++
				}
			}
			rep.SEG = SEGReport{Written: true, Path: segName, SOPInstanceUID: opts.SOPInstanceUID,
				SeriesInstanceUID: opts.SeriesInstanceUID, Frames: frames}
			log.Info("session: SEG written", "path", filepath.Join(dir, segName), "frames", frames)
		}
	}
	if rep.SEG.Written && s.cfg.Forward != nil {
		fr := s.cfg.Forward.send(ctx, s.clock, log, filepath.Join(dir, segName))
		rep.Forward = &fr
	}

	s.mu.Lock()
	s.ctr.series++
	if rep.SEG.Written {
		s.ctr.segs++
	}
	if rep.Forward != nil {
		if rep.Forward.OK {
			s.ctr.forwarded++
		} else {
			s.ctr.forwardFailed++
		}
	}
	s.mu.Unlock()
	rep.Counters = s.Counters()

	repName := partName("report", ".json", ser.part)
	b, err := json.MarshalIndent(rep, "", "  ")
	if err == nil {
		err = writeFileAtomic(filepath.Join(dir, repName), append(b, '\n'))
	}
	if err != nil {
		log.Error("session: report not written", "err", err)
	}
	entry := SeriesEntry{SeriesInstanceUID: ser.uid, Part: ser.part, Report: filepath.Join(filepath.Base(dir), repName),
		Slices: len(results), Failed: len(ser.failures)}
	if rep.SEG.Written {
		entry.SEG = filepath.Join(filepath.Base(dir), segName)
	}
	if rep.Volume != nil {
		entry.VolumeML = rep.Volume.Volume
	}
	s.mu.Lock()
	s.entries = append(s.entries, entry)
	s.mu.Unlock()
	if err := s.writeSummary(s.Summary()); err != nil {
		log.Error("session: summary not written", "err", err)
	}
	vol := math.NaN()
	if rep.Volume != nil {
		vol = rep.Volume.Volume
	}
	log.Info("session: series written", "finalized", reason, "slices", len(results), "failed", len(ser.failures),
		"lesion_slices", rep.LesionSlices, "volume_ml", vol, "seg", rep.SEG.Written, "report", filepath.Join(dir, repName))
	if s.cfg.OnSeries != nil {
		s.cfg.OnSeries(rep)
	}
	return rep
}

func nonNil(l []measure.Lesion) []measure.Lesion {
	if l == nil {
		return []measure.Lesion{}
	}
	return l
}

func segSeriesNumber(src int) int {
	if src > 0 && src < 1<<30 {
		return src + 1000
	}
	return 1000
}

func truncRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n]))
}

// summarize returns percentiles (nearest rank) of ms values.
func summarize(v []float64) Latency {
	if len(v) == 0 {
		return Latency{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Latency{N: len(s), P50: rank(0.5), P90: rank(0.9), P99: rank(0.99), Max: s[len(s)-1]}
}
