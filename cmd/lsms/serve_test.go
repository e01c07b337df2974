package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/measure"
	"github.com/lsms-edge/lsms/internal/console"
	"github.com/lsms-edge/lsms/model"
	"github.com/lsms-edge/lsms/synth/dataset"
)

const serveTestToken = "serve-test-token-0123456789"

func TestServeFlags(t *testing.T) {
	b := exportGolden(t)
	tf := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tf, []byte("\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--model is required"},
		{[]string{"serve", "--model", b, "--listen", "0.0.0.0:0"}, "not a loopback address: give --token"},
		{[]string{"serve", "--model", b, "--listen", ":0"}, "not a loopback address"},
		{[]string{"serve", "--model", b, "--listen", "0.0.0.0:0", "--token", "short"}, "at least 16"},
		{[]string{"serve", "--model", b, "--token", serveTestToken, "--token-file", tf}, "exclude each other"},
		{[]string{"serve", "--model", b, "--token-file", tf}, "is empty"},
		{[]string{"serve", "--model", b, "--tls-cert", "x.pem"}, "go together"},
		{[]string{"serve", "--model", b, "extra"}, "unexpected arguments"},
	} {
		var o, e bytes.Buffer
		if code := run(c.args, &o, &e); code != exitUsage || !strings.Contains(e.String(), c.want) {
			t.Errorf("%v: exit %d, %q (want %q)", c.args, code, e.String(), c.want)
		}
	}
	var o, e bytes.Buffer
	if code := run([]string{"serve", "--model", filepath.Join(t.TempDir(), "none")}, &o, &e); code != exitFailure || !strings.Contains(e.String(), "--model") {
		t.Errorf("missing bundle: exit %d, %q", code, e.String())
	}
}

// startTestServer serves the golden bundle on 127.0.0.1:0.
func startTestServer(t *testing.T, bundle, token string) *serveInstance {
	t.Helper()
	var logs bytes.Buffer
	srv, err := startServe(serveOpts{model: bundle, listen: "127.0.0.1:0", token: token, threads: 1, backend: "native",
		maxUploadMiB: 16, maxMemoryMiB: 64}, &logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

func baseURL(s *serveInstance) string { return "http://" + s.addr.String() }

func postUpload(t *testing.T, url, token, name string, data []byte) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", url+"/api/slices", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return doReq(t, req)
}

func postSegment(t *testing.T, url, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/segment", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return doReq(t, req)
}

func doReq(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// testSlice writes the 96×80 test slice (soft tissue with a darker disc)
// and returns its path and HU.
func testSlice(t *testing.T) (string, *dataset.HUImage) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "slice.png")
	writeHUPNG(t, p, 96, 80)
	im, err := dataset.ReadHU(p, 32768)
	if err != nil {
		t.Fatal(err)
	}
	return p, im
}

func modelSlice(im *dataset.HUImage) model.Slice {
	return huSlice(im.HU, im.Height, im.Width, [2]float64{1, 1})
}

// TestServeAPI runs the console with the golden model over real HTTP.
func TestServeAPI(t *testing.T) {
	b := exportGolden(t)
	srv := startTestServer(t, b, serveTestToken)
	url := baseURL(srv)
	slicePath, im := testSlice(t)
	data, _ := os.ReadFile(slicePath)

	// The token is required, and must be the right one.
	for _, tok := range []string{"", "wrong-token-0123456789abc"} {
		if code, body := postUpload(t, url, tok, "slice.png", data); code != http.StatusUnauthorized || !strings.Contains(string(body), "token") {
			t.Errorf("token %q: %d %s", tok, code, body)
		}
	}
	// A bad upload is a 400 naming the file.
	if code, body := postUpload(t, url, serveTestToken, "junk.dcm", []byte("not a slice")); code != 400 || !strings.Contains(string(body), "junk.dcm") {
		t.Errorf("bad upload: %d %s", code, body)
	}
	code, body := postUpload(t, url, serveTestToken, "slice.png", data)
	if code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var up struct{ Slices []console.Slice }
	json.Unmarshal(body, &up)
	if len(up.Slices) != 1 || up.Slices[0].Rows != 80 || up.Slices[0].Cols != 96 {
		t.Fatalf("upload: %s", body)
	}
	id := up.Slices[0].ID

	// The mask is the model's own, at the slice's size.
	const expr = "tok5 tok9"
	code, body = postSegment(t, url, serveTestToken, `{"slice":"`+id+`","expr":"`+expr+`"}`)
	if code != 200 {
		t.Fatalf("segment: %d %s", code, body)
	}
	var res console.SegmentResponse
	if err := json.Unmarshal(body, &res); err != nil || len(res.Results) != 1 {
		t.Fatalf("segment: %v %s", err, body)
	}
	r := res.Results[0]
	mask, err := console.DecodeRLE(r.MaskRLE, 80*96)
	if err != nil || r.Rows != 80 || r.Cols != 96 {
		t.Fatalf("mask %d×%d: %v", r.Rows, r.Cols, err)
	}
	seg, err := model.Open(b, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	want, err := seg.Segment(modelSlice(im), expr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mask, want.Mask) || r.Pixels != want.Pixels || res.Threshold != 0.5 {
		t.Errorf("mask: %d pixels, the model gives %d (threshold %v)", r.Pixels, want.Pixels, res.Threshold)
	}
	if r.Latency.Vision <= 0 || r.Latency.Total < r.Latency.Model || r.Latency.Model <= 0 {
		t.Errorf("latency: %+v", r.Latency)
	}
	// The same expression again: the word features come from the cache.
	_, body = postSegment(t, url, serveTestToken, `{"slice":"`+id+`","expr":"`+expr+`"}`)
	json.Unmarshal(body, &res)
	if !res.Results[0].TextCached {
		t.Errorf("second call: text not cached")
	}
	if code, body := postSegment(t, url, serveTestToken, `{"slice":"`+id+`","expr":""}`); code != 400 || !strings.Contains(string(body), "empty") {
		t.Errorf("empty expression: %d %s", code, body)
	}
}

// threshold picks a probability threshold that puts about a third of the
// golden model's pixels in the mask (its masks at 0.5 are meaningless and
// may be empty), formatted as the page will receive it.
func threshold(t *testing.T, prob []float32) (string, float64) {
	s := append([]float32(nil), prob...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	lo, hi := s[len(s)*60/100], s[len(s)*70/100]
	if !(hi > lo) {
		t.Fatalf("the golden model's probabilities are flat (%v..%v): no threshold separates the slice", lo, hi)
	}
	str := strconv.FormatFloat(float64(lo+hi)/2, 'f', 6, 64)
	v, _ := strconv.ParseFloat(str, 64)
	return str, v
}

// browserTools finds node, Chromium and playwright-core, or says what is missing.
func browserTools() (node, chromium, script string, missing string) {
	chromium = os.Getenv("LSMS_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	script, _ = filepath.Abs("../../tools/browser/console.test.mjs")
	node, err := exec.LookPath("node")
	switch {
	case err != nil:
		return "", "", "", "node not found (apt-get install nodejs)"
	case !fileExists(chromium):
		return "", "", "", chromium + " not found (apt-get install chromium, or set LSMS_CHROMIUM)"
	case !fileExists(filepath.Join(filepath.Dir(script), "node_modules", "playwright-core", "package.json")):
		return "", "", "", "tools/browser/node_modules/playwright-core missing (cd tools/browser && npm ci)"
	}
	return node, chromium, script, ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestServeBrowser drives the console in headless Chromium
// (tools/browser/console.test.mjs) and checks, on screenshots of the
// canvas, that the overlay is drawn exactly where the API's mask is.
// LSMS_BROWSER_OUT=DIR keeps the screenshots there.
func TestServeBrowser(t *testing.T) {
	node, chromium, script, missing := browserTools()
	if missing != "" {
		if os.Getenv("LSMS_REQUIRE_BROWSER") == "1" {
			t.Fatalf("LSMS_REQUIRE_BROWSER=1: %s", missing)
		}
		t.Skipf("browser test skipped: %s (LSMS_REQUIRE_BROWSER=1 makes this a failure)", missing)
	}
	b := exportGolden(t)
	slicePath, im := testSlice(t)
	const expr = "tok7 tok12 tok40"
	seg, err := model.Open(b, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := seg.Segment(modelSlice(im), expr)
	seg.Close()
	if err != nil {
		t.Fatal(err)
	}
	thStr, th := threshold(t, ref.Prob)
	want := measure.Threshold(ref.Prob, float32(th), nil)

	srv := startTestServer(t, b, serveTestToken)
	out := t.TempDir()
	if keep := os.Getenv("LSMS_BROWSER_OUT"); keep != "" { // keep the screenshots
		out = keep
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	seriesDir, series := writeTestSeries(t, im)
	cmd := exec.CommandContext(ctx, node, script, baseURL(srv)+"/?token="+serveTestToken, out, slicePath, expr, thStr, seriesDir)
	cmd.Env = append(os.Environ(), "CHROMIUM_PATH="+chromium)
	outb, err := cmd.CombinedOutput()
	t.Logf("console.test.mjs:\n%s", outb)
	if err != nil {
		t.Fatalf("browser test: %v", err)
	}

	// The page received the model's mask at the typed threshold.
	var res console.SegmentResponse
	data, err := os.ReadFile(filepath.Join(out, "segment.json"))
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err != nil || len(res.Results) != 1 {
		t.Fatalf("segment.json: %v", err)
	}
	rows, cols := im.Height, im.Width
	mask, err := console.DecodeRLE(res.Results[0].MaskRLE, rows*cols)
	if err != nil {
		t.Fatal(err)
	}
	if res.Threshold != th || !bytes.Equal(mask, want) {
		t.Fatalf("the API's mask (threshold %v, %d px) is not the model's at %v (%d px)", res.Threshold, measure.Count(mask), th, measure.Count(want))
	}

	// Every pixel of the slice is checked at the centre of its block on the
	// screen: a mask pixel must show the overlay colour, any other pixel the
	// plain grey, so an overlay shifted, flipped or scaled by even one pixel
	// fails on the mask's boundary.
	var inside, outside [][2]int
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			if mask[r*cols+c] != 0 {
				inside = append(inside, [2]int{r, c})
			} else {
				outside = append(outside, [2]int{r, c})
			}
		}
	}
	if len(inside) < 20 || len(outside) < 20 {
		t.Fatalf("mask of %d pixels, %d outside: too few to check placement", len(inside), len(outside))
	}
	grey := func(hu int16, level, width float64) float64 {
		g := (float64(hu) - (level - width/2)) * 255 / width
		return max(0, min(255, g))
	}
	overlay, nomask, wl := readShot(t, out, "overlay.png", rows, cols), readShot(t, out, "nomask.png", rows, cols), readShot(t, out, "wl.png", rows, cols)
	const tol = 3
	near := func(a uint8, b float64) bool { return float64(a) >= b-tol && float64(a) <= b+tol }
	bad := 0
	for _, p := range inside {
		g := grey(im.HU[p[0]*cols+p[1]], 40, 400)
		// Red at opacity 0.5 over the W/L 40/400 grey.
		if px := overlay(p); !near(px[0], g/2+127.5) || !near(px[1], g/2) || !near(px[2], g/2) {
			if bad++; bad <= 5 {
				t.Errorf("inside the mask at %v: overlay %v, want %.0f,%.0f,%.0f", p, px, g/2+127.5, g/2, g/2)
			}
		}
		if px := nomask(p); !near(px[0], g) || !near(px[1], g) || !near(px[2], g) {
			if bad++; bad <= 5 {
				t.Errorf("inside the mask at %v, mask hidden: %v, want grey %.0f", p, px, g)
			}
		}
	}
	for _, p := range outside {
		hu := im.HU[p[0]*cols+p[1]]
		g := grey(hu, 40, 400)
		for name, px := range map[string][3]uint8{"overlay": overlay(p), "nomask": nomask(p)} {
			if !near(px[0], g) || !near(px[1], g) || !near(px[2], g) {
				if bad++; bad <= 5 {
					t.Errorf("outside the mask at %v (%s): %v, want grey %.0f", p, name, px, g)
				}
			}
		}
		if g2 := grey(hu, -600, 1500); !near(wl(p)[0], g2) || !near(wl(p)[2], g2) {
			if bad++; bad <= 5 {
				t.Errorf("after W/L -600/1500 at %v: %v, want grey %.0f", p, wl(p), g2)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d checked pixels wrong", bad, 2*len(inside)+3*len(outside))
	}
	t.Logf("overlay placement: all %d pixels inside and %d outside the mask match (threshold %s)", len(inside), len(outside), thStr)

	// The series: every slice segmented in order along the normal, each
	// mask the model's, and the volume the sum of areas × slice spacing.
	data, err = os.ReadFile(filepath.Join(out, "series.json"))
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err != nil || len(res.Results) != len(series.hu) || res.Volume == nil {
		t.Fatalf("series.json: %v, %d results, volume %v (%s)", err, len(res.Results), res.Volume, res.VolumeNote)
	}
	seg, err = model.Open(b, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	var vol float64
	for k, r := range res.Results {
		ref, err := seg.Segment(huSlice(series.hu[k], rows, cols, series.sr.PixelSpacing), expr)
		if err != nil {
			t.Fatal(err)
		}
		m, err := console.DecodeRLE(r.MaskRLE, rows*cols)
		if err != nil || !bytes.Equal(m, measure.Threshold(ref.Prob, float32(th), nil)) {
			t.Errorf("series slice %d: the mask is not the model's (%v)", k, err)
		}
		vol += r.AreaMM2 * series.sr.SliceSpacing / 1000
		if a := float64(measure.Count(m)) * series.sr.PixelSpacing[0] * series.sr.PixelSpacing[1]; math.Abs(a-r.AreaMM2) > 1e-9 {
			t.Errorf("series slice %d: area %v mm², %d px give %v", k, r.AreaMM2, measure.Count(m), a)
		}
	}
	if v := res.Volume; math.Abs(v.Volume-vol) > 1e-9 || v.Slices != len(series.hu) || v.Spacing != series.sr.SliceSpacing || v.Gaps != 0 {
		t.Errorf("volume %+v, want %.6f mL", v, vol)
	}
	t.Logf("series: %d slices, volume %.3f mL", len(res.Results), res.Volume.Volume)
}

type testSeries struct {
	sr *dicom.Series
	hu [][]int16 // in position order
}

// writeTestSeries writes a 3-slice DICOM series of the test slice's size,
// the slice shifted by a few pixels per position.
func writeTestSeries(t *testing.T, im *dataset.HUImage) (string, testSeries) {
	t.Helper()
	dir := t.TempDir()
	ts := testSeries{sr: dicom.NewSeries(im.Height, im.Width)}
	for k := 0; k < 3; k++ {
		hu := make([]int16, len(im.HU))
		for y := 0; y < im.Height; y++ {
			for x := 0; x < im.Width; x++ {
				hu[y*im.Width+x] = im.HU[y*im.Width+(x+4*k)%im.Width]
			}
		}
		ts.hu = append(ts.hu, hu)
	}
	if _, err := ts.sr.Write(dir, ts.hu); err != nil {
		t.Fatal(err)
	}
	return dir, ts
}

// readShot decodes a canvas screenshot and returns a sampler at the centre
// of slice pixel (row, col); the canvas has no border, so the screenshot
// spans the slice exactly.
func readShot(t *testing.T, dir, name string, rows, cols int) func(p [2]int) [3]uint8 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	bd := img.Bounds()
	if bd.Dx() < cols || bd.Dy() < rows {
		t.Fatalf("%s: %v, smaller than the %d×%d slice", name, bd, cols, rows)
	}
	sx, sy := float64(bd.Dx())/float64(cols), float64(bd.Dy())/float64(rows)
	if sx < 2 || sy < 2 {
		t.Fatalf("%s: %v for a %d×%d slice: under 2 screen pixels per slice pixel, too small to sample", name, bd, cols, rows)
	}
	if d := sx/sy - 1; d > 0.02 || d < -0.02 {
		t.Fatalf("%s: %v for a %d×%d slice: aspect ratio changed", name, bd, cols, rows)
	}
	return func(p [2]int) [3]uint8 {
		x := bd.Min.X + int((float64(p[1])+0.5)*sx)
		y := bd.Min.Y + int((float64(p[0])+0.5)*sy)
		r, g, b, _ := img.At(x, y).RGBA()
		return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
	}
}
