package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/dimse"
	"github.com/lsms-edge/lsms/device/ring"
	"github.com/lsms-edge/lsms/device/session"
	"github.com/lsms-edge/lsms/device/session/sessiontest"
	"github.com/lsms-edge/lsms/device/source"
)

const expr = "the hyperdense lesion"

// harness runs a Session over a ring and collects what it reports.
type harness struct {
	t       *testing.T
	ring    *ring.Ring
	s       *session.Session
	out     string
	clock   *clockwork.FakeClock
	done    chan error
	reports chan *session.Report
	slices  chan session.SliceDone
	cancel  context.CancelFunc
}

func start(t *testing.T, cfg session.Config, capacity int, policy ring.Policy, opts ...ring.Option) *harness {
	t.Helper()
	r, err := ring.New(capacity, 1<<20, policy, opts...)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ring: r, out: t.TempDir(), clock: clockwork.NewFakeClock(),
		done: make(chan error, 1), reports: make(chan *session.Report, 64), slices: make(chan session.SliceDone, 1024)}
	cfg.Ring, cfg.Out, cfg.Clock = r, h.out, h.clock
	cfg.OnSeries = func(rep *session.Report) { h.reports <- rep }
	cfg.OnSlice = func(d session.SliceDone) { h.slices <- d }
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	h.s, err = session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		r.Close()
		<-h.done
	})
	return h
}

// wait waits for n slices to be done with.
func (h *harness) wait(n int) []session.SliceDone {
	h.t.Helper()
	var out []session.SliceDone
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case d := <-h.slices:
			out = append(out, d)
		case <-timeout:
			h.t.Fatalf("only %d of %d slices done", len(out), n)
		}
	}
	return out
}

// stop closes the ring and waits for Run.
func (h *harness) stop() *session.Summary {
	h.t.Helper()
	h.ring.Close()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		h.t.Fatal("Run did not return after Close")
	}
	h.done <- nil // for Cleanup
	var sum session.Summary
	readJSON(h.t, filepath.Join(h.out, "session.json"), &sum)
	return &sum
}

func (h *harness) report() *session.Report {
	h.t.Helper()
	select {
	case r := <-h.reports:
		return r
	case <-time.After(20 * time.Second):
		h.t.Fatal("no series report")
		return nil
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// put stores data sets through the session's C-STORE handler.
func put(t *testing.T, h *harness, sl []*dicom.Slice, data [][]byte, ts string) {
	t.Helper()
	handler := h.s.StoreHandler()
	for i := range data {
		st := handler(context.Background(), &dimse.StoreRequest{CallingAE: "CONSOLE", SOPClassUID: dicom.CTImageStorage,
			SOPInstanceUID: sl[i].SOPInstanceUID, TransferSyntaxUID: ts, Data: data[i]})
		if st != dimse.StatusSuccess {
			t.Fatalf("slice %d: status %v", i, st)
		}
	}
}

func TestSphereSeries(t *testing.T) {
	p := sessiontest.Sphere(96, 96, 24, 1.0, 2.5, 20)
	sl, truth, data, ts, err := p.DataSets(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	seg := &sessiontest.Truth{Masks: truth, Expression: expr}
	h := start(t, session.Config{Segmenter: seg, Workers: 3, Expression: expr, SegmenterName: "truth", SegmenterVersion: "1"}, 8, ring.Block)
	put(t, h, sl, data, ts)
	for _, d := range h.wait(len(sl)) {
		if d.Err != nil {
			t.Errorf("%s: %v", d.SOPInstanceUID, d.Err)
		}
	}
	sum := h.stop()
	rep := h.report()

	if rep.Finalized != "shutdown" || rep.Part != 1 || rep.Expression != expr || rep.ExpressionFrom != "default" {
		t.Errorf("report header: %+v", rep)
	}
	if len(rep.Slices) != len(sl) || len(rep.Failed) != 0 {
		t.Fatalf("%d slices, %d failed", len(rep.Slices), len(rep.Failed))
	}
	// Exactly the digital truth; close to the analytic sphere.
	if rep.Volume == nil || math.Abs(rep.Volume.Volume-p.VolumeML) > 1e-9 {
		t.Errorf("volume %+v, truth %.6f mL", rep.Volume, p.VolumeML)
	}
	if math.Abs(rep.Volume.Volume-p.AnalyticML) > 0.03*p.AnalyticML {
		t.Errorf("volume %.3f mL, analytic %.3f mL", rep.Volume.Volume, p.AnalyticML)
	}
	if rep.Volume.Spacing != 2.5 || rep.Volume.SpacingFrom != "positions" {
		t.Errorf("spacing %+v", rep.Volume)
	}
	// Slices sorted along the normal; one lesion each where the sphere is,
	// with a diameter close to the sphere's section.
	for i, s := range rep.Slices {
		if i > 0 && s.Location <= rep.Slices[i-1].Location {
			t.Fatalf("slices not sorted by location at %d", i)
		}
		z := s.Location - rep.Slices[0].Location - float64(len(sl)-1)/2*2.5
		want := 0
		for _, v := range p.Masks[i] {
			want += int(v)
		}
		if want == 0 {
			if len(s.Lesions) != 0 {
				t.Errorf("slice %d: %d lesions outside the sphere", i, len(s.Lesions))
			}
			continue
		}
		if len(s.Lesions) != 1 || s.Lesions[0].AreaPx != want {
			t.Fatalf("slice %d: lesions %+v, want one of %d px", i, s.Lesions, want)
		}
		d := 2 * math.Sqrt(20*20-z*z)
		if got := s.Lesions[0].LongestDiameter; math.Abs(got-d) > 2.5 {
			t.Errorf("slice %d (z %.2f): diameter %.2f mm, section %.2f mm", i, z, got, d)
		}
		c := s.Lesions[0].Centroid
		if math.Abs(c[0]-47.5) > 1e-9 || math.Abs(c[1]-47.5) > 1e-9 {
			t.Errorf("slice %d: centroid %v", i, c)
		}
		if s.Overlay == "" {
			t.Errorf("slice %d: no overlay", i)
		} else if _, err := os.Stat(filepath.Join(rep.Dir, s.Overlay)); err != nil {
			t.Error(err)
		}
	}

	// The SEG: frames for lesion slices only, valid.
	if !rep.SEG.Written || rep.SEG.Frames != rep.LesionSlices {
		t.Fatalf("SEG %+v, %d lesion slices", rep.SEG, rep.LesionSlices)
	}
	segPath := filepath.Join(rep.Dir, rep.SEG.Path)
	dciodvfy(t, segPath)
	dcmdump(t, segPath, "SegmentationStorage", expr, sl[0].SeriesInstanceUID)

	// Accounting.
	c := sum.Counters
	if !sum.Balanced || c.Received != uint64(len(sl)) || c.Processed != c.Received || c.Segmented != c.Received || c.Failed != 0 {
		t.Errorf("summary %+v", sum)
	}
	if len(sum.Series) != 1 || sum.Series[0].Report != filepath.Join(filepath.Base(rep.Dir), "report.json") {
		t.Errorf("series %+v", sum.Series)
	}
	if len(sum.Dropped) != 0 || len(sum.Unreadable) != 0 {
		t.Errorf("dropped %v unreadable %v", sum.Dropped, sum.Unreadable)
	}
	var onDisk session.Report
	readJSON(t, filepath.Join(rep.Dir, "report.json"), &onDisk)
	if onDisk.Volume.Volume != rep.Volume.Volume || len(onDisk.Slices) != len(sl) {
		t.Errorf("report.json differs from the reported one")
	}
}

func TestThresholdAndProbabilityPaths(t *testing.T) {
	p := sessiontest.Sphere(64, 64, 12, 1.2, 3, 12)
	dir := t.TempDir()
	sl, truth, err := p.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, seg := range map[string]session.Segmenter{
		"threshold": session.Threshold{Lo: sessiontest.LesionLo, Hi: sessiontest.LesionHi},
		"prob":      &sessiontest.Truth{Masks: truth, AsProb: true},
	} {
		t.Run(name, func(t *testing.T) {
			h := start(t, session.Config{Segmenter: seg, Expression: expr, NoOverlays: true}, 4, ring.Block)
			sink := h.s.FolderSink("folder:" + dir)
			for i := range sl {
				b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("CT%04d.dcm", i+1)))
				if err != nil {
					t.Fatal(err)
				}
				if err := sink(context.Background(), source.File{Name: fmt.Sprintf("CT%04d.dcm", i+1), Data: b}); err != nil {
					t.Fatal(err)
				}
			}
			h.wait(len(sl))
			h.stop()
			rep := h.report()
			if rep.Volume == nil || math.Abs(rep.Volume.Volume-p.VolumeML) > 1e-9 {
				t.Errorf("volume %+v, truth %.6f", rep.Volume, p.VolumeML)
			}
			if rep.Slices[0].Overlay != "" {
				t.Error("overlay written with NoOverlays")
			}
		})
	}
}

func TestIdleFinalizeAndLateSlice(t *testing.T) {
	p := sessiontest.Sphere(32, 32, 6, 2, 5, 8)
	sl, truth, data, ts, err := p.DataSets(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, session.Config{Segmenter: &sessiontest.Truth{Masks: truth}, Expression: expr, SeriesIdle: 10 * time.Second}, 8, ring.Block)
	put(t, h, sl[:5], data[:5], ts)
	h.wait(5)
	h.clock.Advance(5 * time.Second)
	select {
	case r := <-h.reports:
		t.Fatalf("series written after 5 s of a 10 s idle timeout: %+v", r.Finalized)
	default:
	}
	h.clock.Advance(6 * time.Second)
	rep := h.report()
	if rep.Finalized != "idle" || rep.Part != 1 || len(rep.Slices) != 5 {
		t.Fatalf("first part: %s part %d, %d slices", rep.Finalized, rep.Part, len(rep.Slices))
	}
	// The sixth slice comes late: a second part.
	put(t, h, sl[5:], data[5:], ts)
	h.wait(1)
	h.stop()
	rep2 := h.report()
	if rep2.Part != 2 || len(rep2.Slices) != 1 || rep2.Finalized != "shutdown" {
		t.Fatalf("second part: %+v", rep2)
	}
	if _, err := os.Stat(filepath.Join(rep2.Dir, "report-2.json")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(rep.Dir, "report.json")); err != nil {
		t.Error(err)
	}
}

func TestFlushAndExpressions(t *testing.T) {
	mk := func(desc string) (*sessiontest.Phantom, []*dicom.Slice, [][]byte, string) {
		p := sessiontest.Sphere(32, 32, 3, 2, 5, 6)
		p.Series.SeriesDescription = desc
		sl, _, data, ts, err := p.DataSets(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return p, sl, data, ts
	}
	_, slA, dA, ts := mk("A")
	_, slB, dB, _ := mk("B")
	_, slC, dC, _ := mk("C")
	seen := map[string]string{}
	var mu sync.Mutex
	seg := sessiontest.Func(func(_ context.Context, s *dicom.Slice, e string) ([]float32, []uint8, error) {
		mu.Lock()
		seen[s.SeriesDescription] = e
		mu.Unlock()
		return nil, make([]uint8, s.Rows*s.Cols), nil
	})
	cfg := session.Config{
		Segmenter:   seg,
		Expression:  "default one",
		Expressions: map[string]string{slA[0].SeriesInstanceUID: "  override\tfor A "},
		ExpressionFor: func(_ ring.Meta, s *dicom.Slice) (string, string) {
			if s.SeriesDescription == "B" {
				return "hook for B", "sidecar"
			}
			return "", ""
		},
	}
	h := start(t, cfg, 8, ring.Block)
	put(t, h, slA, dA, ts)
	put(t, h, slB, dB, ts)
	put(t, h, slC, dC, ts)
	h.wait(9)
	reps := h.s.Flush(context.Background())
	if len(reps) != 3 {
		t.Fatalf("Flush wrote %d series", len(reps))
	}
	want := map[string]string{"A": "override for A", "B": "hook for B", "C": "default one"}
	from := map[string]string{"A": "override", "B": "sidecar", "C": "default"}
	for _, r := range reps {
		if r.Finalized != "flush" || r.Expression != want[r.SeriesDescription] || r.ExpressionFrom != from[r.SeriesDescription] {
			t.Errorf("series %s: expression %q from %q, finalized %s", r.SeriesDescription, r.Expression, r.ExpressionFrom, r.Finalized)
		}
		if r.SEG.Written || r.SEG.Reason != "no lesion found" {
			t.Errorf("series %s: SEG %+v with empty masks", r.SeriesDescription, r.SEG)
		}
		if r.Volume == nil || r.Volume.Volume != 0 {
			t.Errorf("volume %+v", r.Volume)
		}
	}
	for d, e := range want {
		if seen[d] != e {
			t.Errorf("segmenter saw %q for %s, want %q", seen[d], d, e)
		}
	}
	sum := h.stop()
	if !sum.Balanced || len(sum.Series) != 3 {
		t.Errorf("summary %+v", sum)
	}
}

func TestFailuresAreReported(t *testing.T) {
	p := sessiontest.Sphere(32, 32, 4, 2, 5, 6)
	sl, _, data, ts, err := p.DataSets(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bad := sl[1].SOPInstanceUID
	short := sl[2].SOPInstanceUID
	seg := sessiontest.Func(func(_ context.Context, s *dicom.Slice, _ string) ([]float32, []uint8, error) {
		switch s.SOPInstanceUID {
		case bad:
			return nil, nil, errors.New("model exploded")
		case short:
			return nil, make([]uint8, 7), nil
		}
		return nil, make([]uint8, s.Rows*s.Cols), nil
	})
	h := start(t, session.Config{Segmenter: seg, Expression: expr}, 8, ring.Block)
	put(t, h, sl, data, ts)
	// Not DICOM at all.
	if st := h.s.StoreHandler()(context.Background(), &dimse.StoreRequest{CallingAE: "X", SOPInstanceUID: "1.2.3",
		TransferSyntaxUID: ts, Data: []byte("this is not a data set")}); st != dimse.StatusSuccess {
		t.Fatalf("status %v", st)
	}
	done := h.wait(5)
	nerr := 0
	for _, d := range done {
		if d.Err != nil {
			nerr++
		}
	}
	if nerr != 3 {
		t.Errorf("%d failures, want 3", nerr)
	}
	sum := h.stop()
	rep := h.report()
	if len(rep.Failed) != 2 || len(rep.Slices) != 2 {
		t.Fatalf("report: %d failed, %d slices", len(rep.Failed), len(rep.Slices))
	}
	for _, f := range rep.Failed {
		if f.Stage != "segment" || (f.SOPInstanceUID != bad && f.SOPInstanceUID != short) {
			t.Errorf("failure %+v", f)
		}
	}
	if len(sum.Unreadable) != 1 || sum.Unreadable[0].Stage != "read" || sum.Unreadable[0].Name != "1.2.3" {
		t.Errorf("unreadable %+v", sum.Unreadable)
	}
	c := sum.Counters
	if !sum.Balanced || c.Received != 5 || c.Segmented != 2 || c.Failed != 3 {
		t.Errorf("counters %+v balanced %v", c, sum.Balanced)
	}
}

func TestNoExpression(t *testing.T) {
	p := sessiontest.Sphere(16, 16, 2, 2, 5, 3)
	sl, _, data, ts, err := p.DataSets(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, session.Config{Segmenter: session.Threshold{Lo: 0, Hi: 1}}, 4, ring.Block)
	put(t, h, sl, data, ts)
	for _, d := range h.wait(2) {
		if !errors.Is(d.Err, session.ErrNoExpression) {
			t.Errorf("err %v", d.Err)
		}
	}
	h.stop()
	rep := h.report()
	if len(rep.Failed) != 2 || rep.Failed[0].Stage != "expression" || rep.SEG.Written {
		t.Errorf("%+v", rep)
	}
}

// dropPhantom returns n data sets of a small series.
func smallSeries(t *testing.T, n int) ([]*dicom.Slice, map[string][]uint8, [][]byte, string) {
	p := sessiontest.Sphere(24, 24, n, 2, 5, 10)
	sl, truth, data, ts, err := p.DataSets(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return sl, truth, data, ts
}

func TestDropOldestIsAccounted(t *testing.T) {
	sl, truth, data, ts := smallSeries(t, 6)
	gate := &sessiontest.Gate{Inner: &sessiontest.Truth{Masks: truth}, Entered: make(chan string, 8), Proceed: make(chan struct{})}
	h := start(t, session.Config{Segmenter: gate, Expression: expr}, 2, ring.DropOldest)
	put(t, h, sl[:1], data[:1], ts)
	<-gate.Entered // the worker holds slot 1
	put(t, h, sl[1:], data[1:], ts)
	close(gate.Proceed)
	h.wait(2)
	sum := h.stop()
	c := sum.Counters
	if c.Received != 6 || c.Dropped != 4 || c.Processed != 2 || !sum.Balanced {
		t.Fatalf("counters %+v balanced %v", c, sum.Balanced)
	}
	if len(sum.Dropped) != 4 {
		t.Fatalf("dropped listed: %v", sum.Dropped)
	}
	for i := 1; i <= 4; i++ {
		want := "dimse:CONSOLE " + sl[i].SOPInstanceUID
		found := false
		for _, d := range sum.Dropped {
			found = found || d == want
		}
		if !found {
			t.Errorf("slice %d not listed as dropped: %v", i, sum.Dropped)
		}
	}
	rep := h.report()
	if rep.Counters.Dropped != 4 || len(rep.Slices) != 2 {
		t.Errorf("report counters %+v, %d slices", rep.Counters, len(rep.Slices))
	}
}

func TestSpillLosesNothing(t *testing.T) {
	sl, truth, data, ts := smallSeries(t, 8)
	gate := &sessiontest.Gate{Inner: &sessiontest.Truth{Masks: truth}, Entered: make(chan string, 16), Proceed: make(chan struct{})}
	h := start(t, session.Config{Segmenter: gate, Expression: expr}, 2, ring.Spill, ring.WithSpillDir(t.TempDir()))
	put(t, h, sl[:1], data[:1], ts)
	<-gate.Entered
	put(t, h, sl[1:], data[1:], ts)
	close(gate.Proceed)
	h.wait(8)
	sum := h.stop()
	c := sum.Counters
	if c.Received != 8 || c.Processed != 8 || c.Dropped != 0 || c.Spilled == 0 || c.Unspilled != c.Spilled || !sum.Balanced {
		t.Fatalf("counters %+v balanced %v", c, sum.Balanced)
	}
	if rep := h.report(); len(rep.Slices) != 8 || !rep.SEG.Written {
		t.Errorf("report: %d slices, SEG %+v", len(rep.Slices), rep.SEG)
	}
}

func TestCancelLeavesQueuedReported(t *testing.T) {
	sl, truth, data, ts := smallSeries(t, 4)
	gate := &sessiontest.Gate{Inner: &sessiontest.Truth{Masks: truth}, Entered: make(chan string, 8), Proceed: make(chan struct{})}
	h := start(t, session.Config{Segmenter: gate, Expression: expr}, 8, ring.Block)
	put(t, h, sl, data, ts)
	<-gate.Entered
	h.cancel()
	if err := <-h.done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	h.done <- nil
	var sum session.Summary
	readJSON(t, filepath.Join(h.out, "session.json"), &sum)
	c := sum.Counters
	// The interrupted slice failed; three stay queued, reported as such.
	if sum.Drained || sum.Balanced || c.Queued != 3 || c.Failed != 1 || c.Received != 4 {
		t.Errorf("summary %+v", sum)
	}
}

func TestDIMSEToSessionAndForward(t *testing.T) {
	// A PACS: a dimse.Server keeping what it gets.
	var mu sync.Mutex
	var got []*dimse.StoreRequest
	pacs := &dimse.Server{AETitle: "PACS", SOPClasses: []string{dimse.SegmentationStorage},
		Handler: func(_ context.Context, req *dimse.StoreRequest) dimse.Status {
			c := *req
			c.Data = append([]byte(nil), req.Data...)
			mu.Lock()
			got = append(got, &c)
			mu.Unlock()
			return dimse.StatusSuccess
		}}
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(context.Background())
	pdone := make(chan error, 1)
	go func() { pdone <- pacs.Serve(pctx, pln) }()
	defer func() { pcancel(); <-pdone }()

	p := sessiontest.Sphere(48, 48, 10, 1.5, 4, 12)
	sl, truth, data, ts, err := p.DataSets(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := session.ParseForward("PACS@" + pln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, session.Config{Segmenter: &sessiontest.Truth{Masks: truth}, Expression: expr, Workers: 2, Forward: &fwd}, 4, ring.Block)

	// The scanner: a dimse.Client to a dimse.Server with the session's handler.
	scp := &dimse.Server{AETitle: "LSMS", Handler: h.s.StoreHandler()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan error, 1)
	go func() { sdone <- scp.Serve(sctx, ln) }()
	c, err := dimse.Dial(context.Background(), ln.Addr().String(), dimse.ClientConfig{CallingAE: "CONSOLE", CalledAE: "LSMS"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range sl {
		if err := c.Store(context.Background(), dicom.CTImageStorage, sl[i].SOPInstanceUID, ts, data[i]); err != nil {
			t.Fatalf("C-STORE %d: %v", i, err)
		}
	}
	if err := c.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	scancel()
	<-sdone
	h.wait(len(sl))
	sum := h.stop()
	rep := h.report()
	if rep.Forward == nil || !rep.Forward.OK || rep.Forward.Attempts != 1 {
		t.Fatalf("forward %+v", rep.Forward)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].SOPClassUID != dicom.SegmentationStorage || got[0].SOPInstanceUID != rep.SEG.SOPInstanceUID || got[0].CallingAE != "LSMS" {
		t.Fatalf("PACS got %d objects: %+v", len(got), got)
	}
	seg, err := os.ReadFile(filepath.Join(rep.Dir, rep.SEG.Path))
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.SplitPart10(seg)
	if err != nil {
		t.Fatal(err)
	}
	if string(seg[m.DataSetOffset:]) != string(got[0].Data) {
		t.Error("the PACS got other bytes than the SEG's data set")
	}
	if sum.Counters.Forwarded != 1 || !sum.Balanced {
		t.Errorf("summary %+v", sum)
	}
}

func TestForwardFailureIsReported(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	sl, truth, data, ts := smallSeries(t, 3)
	fwd := session.Forward{Addr: addr, CalledAE: "PACS", Attempts: 1}
	h := start(t, session.Config{Segmenter: &sessiontest.Truth{Masks: truth}, Expression: expr, Forward: &fwd}, 4, ring.Block)
	put(t, h, sl, data, ts)
	h.wait(3)
	sum := h.stop()
	rep := h.report()
	if rep.Forward == nil || rep.Forward.OK || rep.Forward.Error == "" || !rep.SEG.Written {
		t.Fatalf("forward %+v", rep.Forward)
	}
	if sum.Counters.ForwardFailed != 1 {
		t.Errorf("counters %+v", sum.Counters)
	}
}

func TestOverlayPixels(t *testing.T) {
	s := &dicom.Slice{Rows: 5, Cols: 5, HU: make([]int16, 25)}
	for i := range s.HU {
		s.HU[i] = -1000
	}
	s.HU[0] = 240 // level 40 + window/2: white
	mask := make([]uint8, 25)
	for r := 1; r <= 3; r++ {
		for c := 1; c <= 3; c++ {
			mask[r*5+c] = 1
		}
	}
	img, err := session.Overlay(s, mask, 400, 40)
	if err != nil {
		t.Fatal(err)
	}
	at := func(r, c int) [3]uint8 {
		p := img.Palette[img.ColorIndexAt(c, r)].(color.NRGBA)
		return [3]uint8{p.R, p.G, p.B}
	}
	if at(0, 0) != [3]uint8{255, 255, 255} || at(4, 4) != [3]uint8{0, 0, 0} {
		t.Errorf("window: %v %v", at(0, 0), at(4, 4))
	}
	if at(1, 1) != [3]uint8{255, 220, 0} {
		t.Errorf("outline %v", at(1, 1))
	}
	if c := at(2, 2); c[0] != 89 || c[1] != 14 || c[2] != 14 {
		t.Errorf("tint %v", c)
	}
	if _, err := session.Overlay(s, make([]uint8, 3), 400, 40); err == nil {
		t.Error("short mask accepted")
	}
	// And it encodes.
	f, err := os.Create(filepath.Join(t.TempDir(), "o.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrors(t *testing.T) {
	r, _ := ring.New(1, 1024, ring.Block)
	seg := session.Threshold{}
	for name, cfg := range map[string]session.Config{
		"no ring":      {Segmenter: seg, Out: t.TempDir()},
		"no segmenter": {Ring: r, Out: t.TempDir()},
		"no out":       {Ring: r, Segmenter: seg},
		"workers":      {Ring: r, Segmenter: seg, Out: t.TempDir(), Workers: -1},
		"threshold":    {Ring: r, Segmenter: seg, Out: t.TempDir(), Threshold: 2},
		"expression":   {Ring: r, Segmenter: seg, Out: t.TempDir(), Expression: " \t "},
		"override":     {Ring: r, Segmenter: seg, Out: t.TempDir(), Expressions: map[string]string{"1.2": ""}},
		"forward":      {Ring: r, Segmenter: seg, Out: t.TempDir(), Forward: &session.Forward{Addr: "nohost", CalledAE: "X"}},
	} {
		if _, err := session.New(cfg); !errors.Is(err, session.ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// tool returns an external tool's path, skipping the test when it is
// missing unless LSMS_REQUIRE_DICOM_TOOLS=1.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LSMS_REQUIRE_DICOM_TOOLS") == "1" {
			t.Fatalf("%s not found (Debian package %s) and LSMS_REQUIRE_DICOM_TOOLS=1", name, pkg)
		}
		t.Skipf("%s not installed (Debian package %s); set LSMS_REQUIRE_DICOM_TOOLS=1 to require it", name, pkg)
	}
	return p
}

func dciodvfy(t *testing.T, path string) {
	t.Helper()
	t.Run("dciodvfy", func(t *testing.T) {
		out, err := exec.Command(tool(t, "dciodvfy", "dicom3tools"), path).CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			switch {
			case strings.HasPrefix(line, "Error"):
				t.Errorf("%s: %s", filepath.Base(path), line)
			case strings.HasPrefix(line, "Warning"):
				t.Logf("%s: %s", filepath.Base(path), line)
			}
		}
		if err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	})
}

func dcmdump(t *testing.T, path string, wants ...string) {
	t.Helper()
	t.Run("dcmdump", func(t *testing.T) {
		out, err := exec.Command(tool(t, "dcmdump", "dcmtk"), "-E", "-dc", path).CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, w := range wants {
			if !strings.Contains(string(out), w) {
				t.Errorf("dcmdump lacks %q", w)
			}
		}
	})
}
