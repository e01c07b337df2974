package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/session"
	"github.com/lsms-edge/lsms/device/session/sessiontest"
	"github.com/lsms-edge/lsms/synth"
	"github.com/lsms-edge/lsms/synth/dataset"
)

// dicomTool returns the path of an external tool, skipping the test when
// it is missing unless LSMS_REQUIRE_DICOM_TOOLS=1.
func dicomTool(t *testing.T, name, pkg string) string {
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

// runDciodvfy fails on any "Error" line of dicom3tools' IOD validator.
func runDciodvfy(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command(dicomTool(t, "dciodvfy", "dicom3tools"), path).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "Error"):
			t.Errorf("dciodvfy %s: %s", filepath.Base(path), line)
		case strings.HasPrefix(line, "Warning"):
			t.Logf("dciodvfy %s: %s", filepath.Base(path), line)
		}
	}
	if err != nil {
		t.Errorf("dciodvfy: %v\n%s", err, out)
	}
}

// storescu sends every file under dir with DCMTK and returns the number of
// successful C-STORE responses.
func storescu(t *testing.T, addr net.Addr, dir string) int {
	t.Helper()
	bin := dicomTool(t, "storescu", "dcmtk")
	port := fmt.Sprint(addr.(*net.TCPAddr).Port)
	out, err := exec.Command(bin, "-v", "-aet", "CONSOLE", "-aec", "LSMS", "127.0.0.1", port, "+sd", "+r", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("Failed")) || bytes.Contains(out, []byte("E: ")) {
		t.Errorf("storescu reported a failure:\n%s", out)
	}
	return strings.Count(string(out), "Received Store Response (Success)")
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tlogWriter{t}, nil))
	}
	return slog.New(slog.DiscardHandler)
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// synthSeries is one synthetic case written as a CT series, with the
// ground truth of its largest lesion.
type synthSeries struct {
	dir     string
	slices  []*dicom.Slice
	lesion  int
	expr    string
	truth   map[string][]uint8        // SOP Instance UID → mask of the lesion
	synthAt map[string]dataset.Lesion // SOP → synth's own measurement of it (slices with a mask)
	// digitalML: Σ mask pixels × pixel area × slice spacing over the masks
	// the generator wrote (target sections). synthML: Σ of the generator's
	// section areas over every slice the lesion is visible on (non-target
	// sections have no mask file, so the pipeline cannot see them).
	digitalML, synthML float64
}

// makeSynthSeries generates one case of n slices with package synth and
// writes it as DICOM CT files.
func makeSynthSeries(t *testing.T, n int, seed uint64) *synthSeries {
	t.Helper()
	root := filepath.Join(t.TempDir(), "synth")
	if _, err := synth.Generate(context.Background(), synth.Config{Out: root, Cases: 1, Seed: seed,
		MinSlices: n, MaxSlices: n, ValFrac: -1, TestFrac: -1, Workers: 1}, nil); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	recs := ds.Records
	if len(recs) == 0 {
		t.Fatal("no records")
	}
	// Every lesion section per slice (the same list in each record of a slice).
	sections := map[int]map[int]dataset.Lesion{} // slice → id → lesion
	for _, r := range recs {
		if sections[r.SliceIndex] == nil {
			sections[r.SliceIndex] = map[int]dataset.Lesion{}
			for _, l := range r.Lesions {
				sections[r.SliceIndex][l.ID] = l
			}
		}
	}
	area := map[int]float64{}
	for _, ls := range sections {
		for id, l := range ls {
			area[id] += l.AreaMM2
		}
	}
	best := -1
	for id, a := range area {
		if best < 0 || a > area[best] || a == area[best] && id < best {
			best = id
		}
	}
	// Geometry: slice k lies SpacingBetweenSlices below slice k-1 (index 0 is
	// the most cranial).
	r0 := recs[0]
	step := r0.Geometry.SpacingBetweenSlicesMM
	sr := dicom.NewSeries(r0.Rows, r0.Columns)
	sr.PixelSpacing = r0.PixelSpacing
	sr.SliceSpacing = step
	sr.Orientation = r0.Geometry.ImageOrientationPatient
	sr.PatientID, sr.PatientName, sr.SeriesDescription = "SYNTH0003", "Synth^Case", "synthetic abdomen"
	ss := &synthSeries{dir: filepath.Join(t.TempDir(), "series"), lesion: best,
		truth: map[string][]uint8{}, synthAt: map[string]dataset.Lesion{}}
	if err := os.MkdirAll(ss.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var bestArea float64
	for k := 0; k < n; k++ {
		im, err := dataset.ReadHU(filepath.Join(root, "images", r0.Case, fmt.Sprintf("s%02d.png", k)), dataset.HUOffset)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sr.Slice(k, im.HU)
		if err != nil {
			t.Fatal(err)
		}
		p := r0.Geometry.ImagePositionPatient
		s.ImagePositionPatient = [3]float64{p[0], p[1], p[2] - float64(k-r0.SliceIndex)*step}
		if err := dicom.WriteCT(filepath.Join(ss.dir, fmt.Sprintf("CT%04d.dcm", k+1)), s); err != nil {
			t.Fatal(err)
		}
		ss.slices = append(ss.slices, s)
		if l, ok := sections[k][best]; ok {
			ss.synthML += l.AreaMM2 * step / 1000
		}
	}
	for _, r := range recs {
		if r.TargetID != best {
			continue
		}
		m, err := ds.Mask(&r)
		if err != nil {
			t.Fatal(err)
		}
		sop := ss.slices[r.SliceIndex].SOPInstanceUID
		ss.truth[sop] = m.Pix
		ss.synthAt[sop] = r.Target
		ss.digitalML += float64(m.Area()) * r.PixelSpacing[0] * r.PixelSpacing[1] * step / 1000
		if r.Target.AreaMM2 > bestArea {
			bestArea = r.Target.AreaMM2
			ss.expr = r.Expressions[0].Text
		}
	}
	return ss
}

// testSCP starts an SCP with seg on a free port.
func testSCP(t *testing.T, o *scpOptions, seg session.Segmenter) (*scpServer, context.CancelFunc) {
	t.Helper()
	o.listen, o.aet = "127.0.0.1:0", "LSMS"
	if o.policy == "" {
		o.policy = "block"
	}
	if o.slots == 0 {
		o.slots, o.slotMiB, o.workers, o.seriesIdle = 8, 1, 2, time.Hour
	}
	o.window, o.level, o.maxAssoc, o.assocIdle = 400, 40, 4, time.Minute
	d, err := o.newDaemon(testLog(t), &openedSegmenter{Segmenter: seg, Name: "test truth", Version: "1", Close: func() error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	stop, stopFn := context.WithCancel(context.Background())
	s, err := startSCP(stop, context.Background(), o, d)
	if err != nil {
		t.Fatal(err)
	}
	return s, stopFn
}

// TestSCPStorescuSynth is the acceptance test: a 40-slice synthetic series
// sent by DCMTK's storescu to the SCP; every C-STORE succeeds, a SEG valid
// for dciodvfy comes out, and the lesion volume matches the ground truth.
// The segmenter returns the generator's masks, so this checks ingest,
// measurement, volume and SEG — not a model.
func TestSCPStorescuSynth(t *testing.T) {
	dicomTool(t, "storescu", "dcmtk")
	ss := makeSynthSeries(t, 40, 3)
	out := t.TempDir()
	reports := make(chan *session.Report, 4)
	o := &scpOptions{daemonOptions: daemonOptions{out: out, expr: ss.expr,
		onSeries: func(r *session.Report) { reports <- r }}}
	seg := &sessiontest.Truth{Masks: ss.truth, Expression: ss.expr}
	srv, stop := testSCP(t, o, seg)
	if n := storescu(t, srv.Addr(), ss.dir); n != 40 {
		t.Errorf("%d successful C-STORE responses, want 40", n)
	}
	stop()
	sum, err := srv.Wait()
	if err != nil {
		t.Fatal(err)
	}
	c := sum.Counters
	if c.Received != 40 || c.Segmented != 40 || c.Failed != 0 || c.Dropped != 0 || !sum.Balanced {
		t.Fatalf("counters %+v balanced %v", c, sum.Balanced)
	}
	rep := <-reports
	if len(rep.Slices) != 40 || rep.SeriesInstanceUID != ss.slices[0].SeriesInstanceUID || rep.Expression != ss.expr {
		t.Fatalf("report: %d slices, series %s, expression %q", len(rep.Slices), rep.SeriesInstanceUID, rep.Expression)
	}
	if !rep.SEG.Written || rep.SEG.Frames != len(ss.truth) {
		t.Fatalf("SEG %+v, want %d frames", rep.SEG, len(ss.truth))
	}
	runDciodvfy(t, filepath.Join(rep.Dir, rep.SEG.Path))

	v := rep.Volume.Volume
	t.Logf("lesion %d: report %.4f mL; truth from masks %.4f mL; generator's section areas %.4f mL",
		ss.lesion, v, ss.digitalML, ss.synthML)
	if math.Abs(v-ss.digitalML) > 1e-9*ss.digitalML {
		t.Errorf("volume %.6f mL, masks give %.6f mL", v, ss.digitalML)
	}
	if math.Abs(v-ss.synthML) > 0.10*ss.synthML {
		t.Errorf("volume %.4f mL is more than 10%% off the generator's %.4f mL", v, ss.synthML)
	}
	// Per slice, the measurements agree with the generator's own (rounded
	// to 0.1 mm², 0.1 mm and 0.01 mm/px): area, Feret diameter (same
	// convention) and centroid, in pixels and in patient coordinates.
	checked := 0
	for _, s := range rep.Slices {
		want, ok := ss.synthAt[s.SOPInstanceUID]
		if !ok {
			if len(s.Lesions) != 0 {
				t.Errorf("slice %d: lesions where the truth has none", s.InstanceNumber)
			}
			continue
		}
		if len(s.Lesions) != 1 {
			t.Logf("slice %d: %d components; skipped", s.InstanceNumber, len(s.Lesions))
			continue
		}
		l := s.Lesions[0]
		checked++
		if l.AreaPx != want.AreaPx || math.Abs(l.Area-want.AreaMM2) > 0.051 {
			t.Errorf("slice %d: area %d px %.2f mm², synth %d px %.1f", s.InstanceNumber, l.AreaPx, l.Area, want.AreaPx, want.AreaMM2)
		}
		if math.Abs(l.LongestDiameter-want.DiameterMM) > 0.051 {
			t.Errorf("slice %d: diameter %.3f mm, synth %.1f", s.InstanceNumber, l.LongestDiameter, want.DiameterMM)
		}
		if math.Abs(l.Centroid[0]-want.CentroidPx[1]) > 0.006 || math.Abs(l.Centroid[1]-want.CentroidPx[0]) > 0.006 {
			t.Errorf("slice %d: centroid (row, col) %v, synth (col, row) %v", s.InstanceNumber, l.Centroid, want.CentroidPx)
		}
		for k := range 3 {
			if math.Abs(l.CentroidPatient[k]-want.CentroidPatient[k]) > 0.006 {
				t.Errorf("slice %d: patient centroid %v, synth %v", s.InstanceNumber, l.CentroidPatient, want.CentroidPatient)
				break
			}
		}
	}
	if checked == 0 {
		t.Error("no slice compared with the generator's measurements")
	}
	var onDisk session.Summary
	b, err := os.ReadFile(filepath.Join(out, "session.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &onDisk); err != nil || !onDisk.Balanced || len(onDisk.Series) != 1 {
		t.Errorf("session.json: %v %+v", err, onDisk)
	}
}

func TestSCPUsage(t *testing.T) {
	out := t.TempDir()
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"no out":        {[]string{"scp", "--segmenter", "threshold:0:1", "--expr", "x"}, exitUsage, "--out"},
		"no expr":       {[]string{"scp", "--segmenter", "threshold:0:1", "--out", out}, exitUsage, "--expr"},
		"no model":      {[]string{"scp", "--expr", "x", "--out", out}, exitUsage, "--model"},
		"both":          {[]string{"scp", "--model", "m", "--segmenter", "threshold:0:1", "--expr", "x", "--out", out}, exitUsage, "exclude"},
		"bad segmenter": {[]string{"scp", "--segmenter", "thresh:0", "--expr", "x", "--out", out}, exitUsage, "threshold:LO:HI"},
		"policy":        {[]string{"scp", "--segmenter", "threshold:0:1", "--expr", "x", "--out", out, "--policy", "lifo"}, exitUsage, "policy"},
		"forward":       {[]string{"scp", "--segmenter", "threshold:0:1", "--expr", "x", "--out", out, "--forward", "PACS:104"}, exitUsage, "AET@host:port"},
		"aet":           {[]string{"scp", "--segmenter", "threshold:0:1", "--expr", "x", "--out", out, "--aet", "A_VERY_LONG_AE_TITLE"}, exitUsage, "--aet"},
		"args":          {[]string{"scp", "extra"}, exitUsage, "unexpected"},
		"no bundle":     {[]string{"scp", "--model", filepath.Join(out, "none"), "--expr", "x", "--out", out}, exitFailure, "manifest.json"},
		"log level":     {[]string{"scp", "--segmenter", "threshold:0:1", "--expr", "x", "--out", out, "--log-level", "loud"}, exitUsage, "log-level"},
		"expr map":      {[]string{"scp", "--segmenter", "threshold:0:1", "--expr-map", filepath.Join(out, "nope"), "--out", out}, exitFailure, "expr-map"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%s: exit %d (want %d), stderr %q lacks %q", name, code, tc.code, stderr.String(), tc.msg)
		}
	}
}

// TestSCPCommandSignals runs `lsms scp` itself with the diagnostic
// threshold segmenter: storescu sends a phantom, SIGINT drains and ends it.
func TestSCPCommandSignals(t *testing.T) {
	dicomTool(t, "storescu", "dcmtk")
	p := sessiontest.Sphere(64, 64, 12, 1.5, 3, 12)
	in := t.TempDir()
	if _, _, err := p.Write(in); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	pr, pw := io.Pipe()
	var stdout bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run([]string{"scp", "--listen", "127.0.0.1:0", "--segmenter",
			fmt.Sprintf("threshold:%d:%d", sessiontest.LesionLo, sessiontest.LesionHi),
			"--expr", "the bright sphere", "--out", out, "--log-json", "--series-idle", "1h"}, &stdout, pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var addr *net.TCPAddr
	var logs []string
	for addr == nil && lines.Scan() {
		logs = append(logs, lines.Text())
		var m map[string]any
		if json.Unmarshal(lines.Bytes(), &m) == nil && m["msg"] == "lsms scp: listening" {
			a, err := net.ResolveTCPAddr("tcp", m["addr"].(string))
			if err != nil {
				t.Fatal(err)
			}
			addr = a
		}
	}
	if addr == nil {
		t.Fatalf("no listening line in the logs:\n%s", strings.Join(logs, "\n"))
	}
	var mu sync.Mutex
	go func() { // keep draining the logs
		for lines.Scan() {
			mu.Lock()
			logs = append(logs, lines.Text())
			mu.Unlock()
		}
	}()
	if n := storescu(t, addr, in); n != 12 {
		t.Errorf("%d C-STOREs succeeded, want 12", n)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != exitOK {
			mu.Lock()
			t.Fatalf("exit %d\n%s", c, strings.Join(logs, "\n"))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("lsms scp did not stop on SIGINT")
	}
	if !regexp.MustCompile(`received 12, segmented 12, failed 0, dropped 0, spilled 0; 1 series written, 1 SEGs, 0 forwarded \(0 failed\); balanced true`).MatchString(stdout.String()) {
		t.Errorf("stdout %q", stdout.String())
	}
	var sum session.Summary
	b, _ := os.ReadFile(filepath.Join(out, "session.json"))
	if err := json.Unmarshal(b, &sum); err != nil || len(sum.Series) != 1 {
		t.Fatalf("session.json %v %+v", err, sum)
	}
	var rep session.Report
	b, _ = os.ReadFile(filepath.Join(out, sum.Series[0].Report))
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if math.Abs(rep.Volume.Volume-p.VolumeML) > 1e-9 || !strings.Contains(rep.Segmenter, "not a model") {
		t.Errorf("volume %.6f, truth %.6f; segmenter %q", rep.Volume.Volume, p.VolumeML, rep.Segmenter)
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, l := range logs {
		found = found || strings.Contains(l, "draining the queue")
	}
	if !found {
		t.Error("no drain message logged")
	}
}
