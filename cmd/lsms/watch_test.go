package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/lsms-edge/lsms/device/ring"
	"github.com/lsms-edge/lsms/device/session"
	"github.com/lsms-edge/lsms/device/session/sessiontest"
	"github.com/lsms-edge/lsms/device/source"
)

// testWatch builds a watch daemon on a fake clock without starting it.
func testWatch(t *testing.T, root string, o *watchOptions, seg session.Segmenter) *daemon {
	t.Helper()
	o.dir = root
	o.interval, o.stableTicks, o.aet = time.Second, 2, "LSMS"
	o.policy, o.slots, o.slotMiB, o.workers, o.seriesIdle = "block", 8, 1, 2, time.Hour
	o.window, o.level = 400, 40
	if o.clock == nil {
		o.clock = clockwork.NewFakeClock()
	}
	d, err := o.newDaemon(testLog(t), &openedSegmenter{Segmenter: seg, Name: "test", Version: "1", Close: func() error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// phantomFolder writes a phantom into dir, optionally with expression.txt
// and NAME.done sidecars, and returns its truth masks.
func phantomFolder(t *testing.T, dir string, n int, expr string, done bool) (*sessiontest.Phantom, map[string][]uint8) {
	t.Helper()
	p := sessiontest.Sphere(40, 40, n, 1.5, 3, 10)
	_, truth, err := p.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if expr != "" {
		if err := os.WriteFile(filepath.Join(dir, exprSidecar), []byte(expr+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if done {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if !e.IsDir() {
				os.WriteFile(filepath.Join(dir, e.Name()+source.SidecarExt), nil, 0o644)
			}
		}
	}
	return p, truth
}

func merge(ms ...map[string][]uint8) map[string][]uint8 {
	out := map[string][]uint8{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestWatchFolders: one series per sub-folder, one with expression.txt,
// one on --expr; files become ready by staying unchanged for two scans.
func TestWatchFolders(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "patientA"), filepath.Join(root, "patientB")
	os.Mkdir(a, 0o755)
	os.Mkdir(b, 0o755)
	pa, ta := phantomFolder(t, a, 6, "the  bright\tsphere ", false)
	pb, tb := phantomFolder(t, b, 5, "", false)
	reports := make(chan *session.Report, 4)
	slices := make(chan session.SliceDone, 32)
	o := &watchOptions{daemonOptions: daemonOptions{out: t.TempDir(), expr: "default expression",
		onSeries: func(r *session.Report) { reports <- r }, onSlice: func(d session.SliceDone) { slices <- d }}}
	d := testWatch(t, root, o, &sessiontest.Truth{Masks: merge(ta, tb)})
	w := o.w
	w.d, w.opts = d, o
	runDone := make(chan error, 1)
	go func() { runDone <- d.sess.Run(context.Background()) }()

	ctx := context.Background()
	w.scan(ctx) // seen
	w.scan(ctx) // unchanged once
	if got := d.sess.Counters().Received; got != 0 {
		t.Fatalf("%d slices taken before they were stable", got)
	}
	w.scan(ctx) // unchanged twice: taken
	for range 11 {
		select {
		case s := <-slices:
			if s.Err != nil {
				t.Errorf("%s: %v", s.Meta.Name, s.Err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("slices not processed")
		}
	}
	d.ring.Close()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	got := map[string]*session.Report{}
	for range 2 {
		r := <-reports
		got[r.Slices[0].Source] = r
	}
	ra, rb := got["folder:"+a], got["folder:"+b]
	if ra == nil || rb == nil {
		t.Fatalf("reports for %v", got)
	}
	if ra.Expression != "the bright sphere" || !strings.HasSuffix(ra.ExpressionFrom, exprSidecar) {
		t.Errorf("A: expression %q from %q", ra.Expression, ra.ExpressionFrom)
	}
	if rb.Expression != "default expression" || rb.ExpressionFrom != "default" {
		t.Errorf("B: expression %q from %q", rb.Expression, rb.ExpressionFrom)
	}
	for _, c := range []struct {
		r *session.Report
		p *sessiontest.Phantom
	}{{ra, pa}, {rb, pb}} {
		if math.Abs(c.r.Volume.Volume-c.p.VolumeML) > 1e-9 || !c.r.SEG.Written {
			t.Errorf("%s: volume %.6f (truth %.6f), SEG %+v", c.r.Slices[0].Source, c.r.Volume.Volume, c.p.VolumeML, c.r.SEG)
		}
	}
	// Every file was moved to .processed, expression.txt included.
	for dir, n := range map[string]int{a: 7, b: 5} {
		ents, _ := os.ReadDir(filepath.Join(dir, source.ProcessedDir))
		if len(ents) != n {
			t.Errorf("%s: %d files processed, want %d", dir, len(ents), n)
		}
	}
	sum := d.sess.Summary()
	if !sum.Balanced || sum.Counters.Segmented != 11 || sum.Counters.Failed != 0 {
		t.Errorf("summary %+v", sum)
	}
}

// TestWatchCommandLoop runs startWatch's own loop: files with NAME.done
// sidecars are taken by the first scan; the stop context drains.
func TestWatchCommandLoop(t *testing.T) {
	root := t.TempDir()
	p, truth := phantomFolder(t, root, 4, "sphere at the root", true)
	slices := make(chan session.SliceDone, 8)
	o := &watchOptions{daemonOptions: daemonOptions{out: t.TempDir(), onSlice: func(d session.SliceDone) { slices <- d }}}
	d := testWatch(t, root, o, &sessiontest.Truth{Masks: truth, Expression: "sphere at the root"})
	stop, stopFn := context.WithCancel(context.Background())
	s, err := startWatch(stop, context.Background(), o, d)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		select {
		case d := <-slices:
			if d.Err != nil {
				t.Error(d.Err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("slices not processed")
		}
	}
	stopFn()
	sum, err := s.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Balanced || len(sum.Series) != 1 || math.Abs(sum.Series[0].VolumeML-p.VolumeML) > 1e-9 {
		t.Errorf("summary %+v (truth %.6f mL)", sum, p.VolumeML)
	}
}

func TestWatchUsage(t *testing.T) {
	root := t.TempDir()
	for name, tc := range map[string]struct {
		args []string
		msg  string
	}{
		"no dir":     {[]string{"watch", "--segmenter", "threshold:0:1", "--out", t.TempDir()}, "one folder"},
		"not a dir":  {[]string{"watch", filepath.Join(root, "nope"), "--segmenter", "threshold:0:1", "--out", t.TempDir()}, "not a folder"},
		"out inside": {[]string{"watch", root, "--segmenter", "threshold:0:1", "--out", filepath.Join(root, "out")}, "inside"},
		"interval":   {[]string{"watch", root, "--segmenter", "threshold:0:1", "--out", t.TempDir(), "--interval", "0s"}, "interval"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%s: exit %d, stderr %q lacks %q", name, code, stderr.String(), tc.msg)
		}
	}
}

func TestWatchBadSidecar(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, exprSidecar), []byte(" \n\t"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, exprSidecar+source.SidecarExt), nil, 0o644)
	o := &watchOptions{daemonOptions: daemonOptions{out: t.TempDir(), expr: "x"}}
	d := testWatch(t, root, o, session.Threshold{})
	o.w.d, o.w.opts = d, o
	o.w.scan(context.Background())
	ents, _ := os.ReadDir(filepath.Join(root, source.FailedDir))
	if len(ents) != 1 || ents[0].Name() != exprSidecar {
		t.Errorf("an empty expression.txt should go to .failed: %v", ents)
	}
	if e, _ := o.w.exprFor(ring.Meta{Source: "folder:" + root}); e != "" {
		t.Errorf("expression %q from an empty sidecar", e)
	}
	d.ring.Close()
}
