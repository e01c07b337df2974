package console

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/model"
	"github.com/lsms-edge/lsms/synth/dataset"
)

// huSeg is a stand-in segmenter for the handler tests: probability 0.9
// where HU ≥ lo, 0.1 elsewhere; the mask is prob > 0.5. The console with
// the real model is tested in cmd/lsms (serve_test.go).
type huSeg struct{ lo float32 }

func (h huSeg) Segment(s model.Slice, expr string) (*model.Result, error) {
	if s.Rows*s.Cols != len(s.HU) {
		return nil, fmt.Errorf("%w: size", model.ErrInput)
	}
	r := &model.Result{Rows: s.Rows, Cols: s.Cols, Prob: make([]float32, len(s.HU)), Mask: make([]uint8, len(s.HU))}
	for i, v := range s.HU {
		r.Prob[i] = 0.1
		if v >= h.lo {
			r.Prob[i], r.Mask[i] = 0.9, 1
			r.Pixels++
		}
	}
	return r, nil
}

const testToken = "0123456789abcdef-test"

func newServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Segmenter == nil {
		cfg.Segmenter = huSeg{lo: 100}
	}
	cfg.Model = ModelInfo{Name: "hu-test", Threshold: 0.5, InputSize: 64}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type reply struct {
	code int
	hdr  http.Header
	body []byte
}

func (r reply) errMsg(t *testing.T) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("status %d: body is not a JSON error: %q", r.code, r.body)
	}
	return e.Error
}

func do(h http.Handler, method, target string, body io.Reader, hdr map[string]string) reply {
	req := httptest.NewRequest(method, target, body)
	req.Host = "127.0.0.1:8080"
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return reply{w.Code, w.Header(), w.Body.Bytes()}
}

// multipartBody builds an upload of named files (and fields, first).
func multipartBody(t *testing.T, fields map[string]string, files ...any) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for i := 0; i < len(files); i += 2 {
		fw, err := mw.CreateFormFile("file", files[i].(string))
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(files[i+1].([]byte))
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// huPNG encodes a w×h 16-bit PNG (HU + 32768) from f.
func huPNG(t testing.TB, w, h int, f func(x, y int) int16) []byte {
	hu := make([]int16, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			hu[y*w+x] = f(x, y)
		}
	}
	var buf bytes.Buffer
	if err := dataset.EncodeHU(&buf, hu, w, h, DefaultHUOffset); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// square: 200 HU inside [x0,x1)×[y0,y1), 0 elsewhere.
func square(x0, y0, x1, y1 int) func(x, y int) int16 {
	return func(x, y int) int16 {
		if x >= x0 && x < x1 && y >= y0 && y < y1 {
			return 200
		}
		return 0
	}
}

func upload(t *testing.T, h http.Handler, hdr map[string]string, fields map[string]string, files ...any) (reply, uploadResponse) {
	t.Helper()
	body, ct := multipartBody(t, fields, files...)
	if hdr == nil {
		hdr = map[string]string{}
	}
	hdr["Content-Type"] = ct
	r := do(h, "POST", "/api/slices", body, hdr)
	var u uploadResponse
	if r.code == http.StatusOK {
		if err := json.Unmarshal(r.body, &u); err != nil {
			t.Fatalf("upload response: %v: %s", err, r.body)
		}
	}
	return r, u
}

func segmentReq(t *testing.T, h http.Handler, body string) (reply, SegmentResponse) {
	t.Helper()
	r := do(h, "POST", "/api/segment", strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
	var s SegmentResponse
	if r.code == http.StatusOK {
		if err := json.Unmarshal(r.body, &s); err != nil {
			t.Fatalf("segment response: %v: %s", err, r.body)
		}
	}
	return r, s
}

func TestListen(t *testing.T) {
	for _, c := range []struct {
		addr, token string
		loop, ok    bool
	}{
		{"127.0.0.1:8080", "", true, true},
		{"localhost:0", "", true, true},
		{"[::1]:8080", "", true, true},
		{"127.8.9.10:1", "", true, true},
		{"0.0.0.0:8080", "", false, false},
		{":8080", "", false, false},
		{"[::]:8080", "", false, false},
		{"192.168.1.20:8080", "", false, false},
		{"scanner.local:8080", "", false, false},
		{"0.0.0.0:8080", testToken, false, true},
		{"0.0.0.0:8080", "short", false, false},
		{"0.0.0.0:8080", "has a space in it!", false, false},
		{"127.0.0.1", "", false, false}, // no port
	} {
		if got := IsLoopback(c.addr); got != c.loop {
			t.Errorf("IsLoopback(%q) = %v", c.addr, got)
		}
		err := CheckListen(c.addr, c.token)
		if (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, %q) = %v, want ok %v", c.addr, c.token, err, c.ok)
		}
	}
	if _, err := New(Config{Segmenter: huSeg{}, Token: "short"}); err == nil {
		t.Error("New accepted a short token")
	}
}

func TestToken(t *testing.T) {
	s := newServer(t, Config{Token: testToken})
	// The page and its assets carry no secret.
	if r := do(s, "GET", "/", nil, nil); r.code != 200 || !bytes.Contains(r.body, []byte("LSMS console")) {
		t.Fatalf("GET /: %d", r.code)
	}
	if r := do(s, "GET", "/static/app.js", nil, nil); r.code != 200 || !strings.Contains(r.hdr.Get("Content-Type"), "javascript") {
		t.Errorf("GET app.js: %d %s", r.code, r.hdr.Get("Content-Type"))
	}
	for _, p := range []string{"/static/", "/static/index.html", "/static/../server.go", "/static/nope.js"} {
		if r := do(s, "GET", p, nil, nil); r.code == 200 {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}
	// The API needs the token.
	for _, hdr := range []map[string]string{
		nil,
		{"Authorization": "Bearer wrong-token-0123456789"},
		{"Authorization": "Bearer " + testToken + "x"},
		{"Authorization": "Basic " + testToken},
		{"Cookie": cookieName + "=nope"},
	} {
		r := do(s, "GET", "/api/info", nil, hdr)
		if r.code != http.StatusUnauthorized || !strings.Contains(r.errMsg(t), "token") {
			t.Errorf("%v: status %d %s", hdr, r.code, r.body)
		}
	}
	if r := do(s, "GET", "/api/info", nil, map[string]string{"Authorization": "Bearer " + testToken}); r.code != 200 {
		t.Errorf("right bearer token: %d %s", r.code, r.body)
	}
	// The ?token= flow: a wrong one is refused, the right one sets an
	// HttpOnly cookie and redirects to / (out of the address bar).
	if r := do(s, "GET", "/?token=wrong", nil, nil); r.code != http.StatusUnauthorized {
		t.Errorf("wrong ?token=: %d", r.code)
	}
	r := do(s, "GET", "/?token="+testToken, nil, nil)
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/" {
		t.Fatalf("?token=: %d %v", r.code, r.hdr)
	}
	resp := http.Response{Header: r.hdr}
	var c *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == cookieName {
			c = x
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie: %+v", c)
	}
	if r := do(s, "GET", "/api/info", nil, map[string]string{"Cookie": c.String()}); r.code != 200 {
		t.Errorf("cookie: %d %s", r.code, r.body)
	}
	// With a token the Host is not restricted (the server may sit behind a name).
	if r := do(s, "GET", "/api/info", nil, map[string]string{"Authorization": "Bearer " + testToken, "Host": "ct-console.example:8080"}); r.code != 200 {
		t.Errorf("token and a non-loopback host: %d", r.code)
	}
}

func TestLoopbackGuards(t *testing.T) {
	s := newServer(t, Config{})
	for host, want := range map[string]int{
		"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "LOCALHOST": 200,
		"evil.example:8080": 403, "192.168.1.5:8080": 403, "": 403,
	} {
		r := do(s, "GET", "/api/info", nil, map[string]string{"Host": host})
		if r.code != want {
			t.Errorf("Host %q: %d, want %d", host, r.code, want)
		}
		if want == 403 && !strings.Contains(r.errMsg(t), "loopback") {
			t.Errorf("Host %q: %s", host, r.body)
		}
	}
	// A page of another site cannot post to the console.
	r := do(s, "POST", "/api/segment", strings.NewReader(`{}`), map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"})
	if r.code != http.StatusForbidden || !strings.Contains(r.errMsg(t), "cross-origin") {
		t.Errorf("cross-site POST: %d %s", r.code, r.body)
	}
	r = do(s, "POST", "/api/segment", strings.NewReader(`{}`), map[string]string{"Origin": "http://evil.example", "Content-Type": "application/json"})
	if r.code != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d %s", r.code, r.body)
	}
	// Security headers: nothing but this server may be loaded.
	r = do(s, "GET", "/", nil, nil)
	if csp := r.hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q", csp)
	}
	if r := do(s, "GET", "/api/nope", nil, nil); r.code != 404 || !strings.Contains(r.errMsg(t), "/api/nope") {
		t.Errorf("unknown endpoint: %d %s", r.code, r.body)
	}
}

func TestAssetsSelfContained(t *testing.T) {
	// Works offline: the page references nothing outside the server.
	for _, f := range []string{"assets/index.html", "assets/app.js", "assets/style.css"} {
		data, err := assets.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "fonts.googleapis"} {
			if bytes.Contains(data, []byte(bad)) {
				t.Errorf("%s references %q", f, bad)
			}
		}
	}
}

func TestUploadErrors(t *testing.T) {
	s := newServer(t, Config{MaxUploadBytes: 64 << 10})
	check := func(name string, r reply, code int, want string) {
		t.Helper()
		if r.code != code {
			t.Errorf("%s: status %d, want %d: %s", name, r.code, code, r.body)
			return
		}
		if msg := r.errMsg(t); !strings.Contains(msg, want) {
			t.Errorf("%s: error %q does not say %q", name, msg, want)
		}
	}
	check("not multipart", do(s, "POST", "/api/slices", strings.NewReader("x"), map[string]string{"Content-Type": "text/plain"}), 400, "multipart")
	r, _ := upload(t, s, nil, map[string]string{"other": "x"})
	check("no files", r, 400, "no \"file\"")
	r, _ = upload(t, s, nil, nil, "notes.txt", []byte("hello, this is not a slice"))
	check("text file", r, 400, "notes.txt: neither a 16-bit PNG nor a readable DICOM")
	r, _ = upload(t, s, nil, nil, "empty.dcm", []byte{})
	check("empty file", r, 400, "empty.dcm: empty file")
	var rgb bytes.Buffer
	png.Encode(&rgb, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	r, _ = upload(t, s, nil, nil, "photo.png", rgb.Bytes())
	check("RGB PNG", r, 400, "photo.png: PNG is not 16-bit greyscale")
	good := huPNG(t, 8, 8, square(2, 2, 5, 5))
	r, _ = upload(t, s, nil, nil, "cut.png", good[:len(good)-20])
	check("truncated PNG", r, 400, "cut.png: ")
	r, _ = upload(t, s, nil, map[string]string{"hu_offset": "-4"}, "a.png", good)
	check("bad offset", r, 400, "hu_offset")
	r, _ = upload(t, s, nil, map[string]string{"hu_offset": "0"}, "a.png", good)
	check("offset leaves int16", r, 400, "outside int16")
	r, _ = upload(t, s, nil, map[string]string{"pixel_spacing": "0.5,-1"}, "a.png", good)
	check("bad spacing", r, 400, "pixel_spacing")
	r, _ = upload(t, s, nil, nil, "big.dcm", bytes.Repeat([]byte{1}, 70<<10))
	check("too large", r, 413, "larger than")
	// One bad file among good ones: the good ones load, the bad one is named.
	r, u := upload(t, s, nil, nil, "a.png", good, "junk.bin", []byte("junk"))
	if r.code != 200 || len(u.Slices) != 1 || len(u.Errors) != 1 || u.Errors[0].File != "junk.bin" {
		t.Errorf("mixed upload: %d %s", r.code, r.body)
	}
}

func TestUploadAndSegmentPNG(t *testing.T) {
	s := newServer(t, Config{})
	data := huPNG(t, 40, 30, square(10, 5, 20, 12)) // 10×7 px square
	r, u := upload(t, s, nil, nil, "dir/slice.png", data)
	if r.code != 200 || len(u.Slices) != 1 || len(u.Series) != 1 {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	sl := u.Slices[0]
	if sl.Rows != 30 || sl.Cols != 40 || sl.Kind != "png" || sl.Name != "slice.png" || !sl.SpacingAssumed || sl.HUMin != 0 || sl.HUMax != 200 {
		t.Errorf("slice: %+v", sl)
	}
	// With a pixel spacing the areas are in real mm².
	_, u2 := upload(t, s, nil, map[string]string{"pixel_spacing": "0.5, 0.8"}, "b.png", data)
	if sp := u2.Slices[0]; sp.SpacingAssumed || sp.PixelSpacing != [2]float64{0.5, 0.8} {
		t.Errorf("pixel_spacing: %+v", sp)
	}
	_, res2 := segmentReq(t, s, `{"slice":"`+u2.Slices[0].ID+`","expr":"x"}`)
	if len(res2.Results) != 1 || abs(res2.Results[0].AreaMM2-70*0.4) > 1e-9 || abs(res2.Results[0].Lesions[0].LongestDiameter) < 10*0.8 {
		t.Errorf("area with spacing: %+v", res2.Results)
	}
	// The HU come back exactly, little-endian int16.
	hr := do(s, "GET", "/api/slices/"+sl.ID+"/hu", nil, nil)
	if hr.code != 200 || len(hr.body) != 2*30*40 || hr.hdr.Get("X-Rows") != "30" {
		t.Fatalf("hu: %d %d bytes", hr.code, len(hr.body))
	}
	if v := int16(binary.LittleEndian.Uint16(hr.body[2*(6*40+12):])); v != 200 {
		t.Errorf("hu at (6,12) = %d", v)
	}
	if r := do(s, "GET", "/api/slices/nope/hu", nil, nil); r.code != 404 {
		t.Errorf("unknown slice: %d", r.code)
	}
	if r := do(s, "GET", "/api/slices/"+sl.ID, nil, nil); r.code != 200 {
		t.Errorf("slice info: %d", r.code)
	}

	r, res := segmentReq(t, s, `{"slice":"`+sl.ID+`","expr":"the bright square"}`)
	if r.code != 200 || len(res.Results) != 1 {
		t.Fatalf("segment: %d %s", r.code, r.body)
	}
	sr := res.Results[0]
	mask, err := DecodeRLE(sr.MaskRLE, sr.Rows*sr.Cols)
	if err != nil || sr.Rows != 30 || sr.Cols != 40 {
		t.Fatalf("mask %d×%d: %v", sr.Rows, sr.Cols, err)
	}
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			want := uint8(0)
			if x >= 10 && x < 20 && y >= 5 && y < 12 {
				want = 1
			}
			if mask[y*40+x] != want {
				t.Fatalf("mask at (%d,%d) = %d", y, x, mask[y*40+x])
			}
		}
	}
	if sr.Pixels != 70 || sr.AreaMM2 != 70 || sr.LesionCount != 1 || len(sr.Lesions) != 1 || sr.MaxProbability != 0.9 {
		t.Errorf("result: %+v", sr)
	}
	if l := sr.Lesions[0]; l.BBox != [4]int{5, 10, 11, 19} || l.Centroid != [2]float64{8, 14.5} {
		t.Errorf("lesion: %+v", l)
	}
	if res.Volume != nil || res.VolumeNote == "" || res.Threshold != 0.5 {
		t.Errorf("volume %v note %q threshold %v", res.Volume, res.VolumeNote, res.Threshold)
	}
	// A threshold above every probability empties the mask.
	_, res = segmentReq(t, s, `{"slices":["`+sl.ID+`"],"expr":"x","threshold":0.95}`)
	if len(res.Results) != 1 || res.Results[0].Pixels != 0 || res.Results[0].LesionCount != 0 || len(res.Results[0].MaskRLE) != 1 || res.Threshold != 0.95 {
		t.Errorf("threshold 0.95: %+v", res)
	}
	for body, want := range map[string]string{
		`{"slice":"` + sl.ID + `","expr":"  "}`:               "expression is empty",
		`{"expr":"x"}`:                                        "no slice",
		`{"slice":"nope","expr":"x"}`:                         "no slice \"nope\"",
		`{"slice":"` + sl.ID + `","expr":"x","threshold":1}`:  "threshold",
		`{"slice":"` + sl.ID + `","expr":"x","threshold":0}`:  "threshold",
		`{"slice":"` + sl.ID + `","expr":"x","colour":"red"}`: "unknown field",
		`{"slice":"` + sl.ID + `","expr":"x"} {}`:             "trailing",
		`not json`: "JSON",
		`{"slice":"` + sl.ID + `","expr":"` + strings.Repeat("a", MaxExpressionBytes+1) + `"}`: "at most",
	} {
		r, _ := segmentReq(t, s, body)
		if r.code/100 != 4 || !strings.Contains(r.errMsg(t), want) {
			t.Errorf("%.60s: %d %s (want %q)", body, r.code, r.body, want)
		}
	}
}

func TestSeries(t *testing.T) {
	s := newServer(t, Config{})
	dir := t.TempDir()
	const rows, cols, n = 24, 32, 4
	vol := make([][]int16, n)
	for k := range vol {
		vol[k] = make([]int16, rows*cols)
		for y := 0; y < rows; y++ {
			for x := 0; x < cols; x++ {
				if x >= 4 && x < 4+3*(k+1) && y >= 6 && y < 10 { // 4 × 3(k+1) px
					vol[k][y*cols+x] = 300
				}
			}
		}
	}
	sr := dicom.NewSeries(rows, cols)
	src, err := sr.Write(dir, vol)
	if err != nil {
		t.Fatal(err)
	}
	// Upload in reverse order, plus a PNG: two series.
	var files []any
	for k := n - 1; k >= 0; k-- {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("CT%04d.dcm", k+1)))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fmt.Sprintf("CT%04d.dcm", k+1), data)
	}
	files = append(files, "extra.png", huPNG(t, 8, 8, square(0, 0, 2, 2)))
	r, u := upload(t, s, nil, nil, files...)
	if r.code != 200 || len(u.Slices) != n+1 || len(u.Series) != 2 {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	ser := u.Series[0]
	if ser.Key != src[0].SeriesInstanceUID || len(ser.Slices) != n || !strings.Contains(ser.Name, "LSMS synthetic CT") {
		t.Fatalf("series: %+v", ser)
	}
	byID := map[string]*Slice{}
	for _, sl := range u.Slices {
		byID[sl.ID] = sl
	}
	for k, id := range ser.Slices { // sorted along the normal
		if sl := byID[id]; sl.Instance != k+1 || !sl.Geometry || sl.PixelSpacing != sr.PixelSpacing {
			t.Errorf("series slice %d: %+v", k, sl)
		}
	}
	ids, _ := json.Marshal(ser.Slices)
	r, res := segmentReq(t, s, `{"slices":`+string(ids)+`,"expr":"the lesion"}`)
	if r.code != 200 || len(res.Results) != n {
		t.Fatalf("segment: %d %s", r.code, r.body)
	}
	px := sr.PixelSpacing[0] * sr.PixelSpacing[1]
	want := 0.0
	for k, x := range res.Results {
		if x.Pixels != 12*(k+1) || x.Slice != ser.Slices[k] {
			t.Errorf("slice %d: %d px", k, x.Pixels)
		}
		l := x.Lesions[0]
		// A 4-row × w-column rectangle: diameter per package measure's convention.
		w := float64(3 * (k + 1))
		if d := l.LongestDiameter; d < w*sr.PixelSpacing[1]-1e-9 {
			t.Errorf("slice %d: diameter %v", k, d)
		}
		want += float64(x.Pixels) * px * sr.SliceSpacing / 1000
	}
	if res.Volume == nil || res.Volume.Slices != n || res.Volume.Gaps != 0 || abs(res.Volume.Volume-want) > 1e-9 || res.Volume.Spacing != sr.SliceSpacing {
		t.Errorf("volume %+v, want %.6f mL", res.Volume, want)
	}
	// Mixing in the PNG (no geometry) gives no volume, with a reason.
	all, _ := json.Marshal(append(ser.Slices, u.Series[1].Slices...))
	_, res = segmentReq(t, s, `{"slices":`+string(all)+`,"expr":"x"}`)
	if res.Volume != nil || !strings.Contains(res.VolumeNote, "geometry") {
		t.Errorf("mixed: %+v %q", res.Volume, res.VolumeNote)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestStoreBudget(t *testing.T) {
	s := newServer(t, Config{MaxStoreBytes: 3 * 2 * 16 * 16})
	var ids []string
	for i := 0; i < 5; i++ {
		_, u := upload(t, s, nil, nil, "a.png", huPNG(t, 16, 16, square(0, 0, 1, 1)))
		ids = append(ids, u.Slices[0].ID)
	}
	for i, id := range ids {
		code := do(s, "GET", "/api/slices/"+id+"/hu", nil, nil).code
		if (i < 2) != (code == 404) {
			t.Errorf("slice %d: %d", i, code)
		}
	}
	r, _ := upload(t, s, nil, nil, "big.png", huPNG(t, 64, 64, square(0, 0, 1, 1)))
	if r.code != http.StatusRequestEntityTooLarge || !strings.Contains(r.errMsg(t), "memory budget") {
		t.Errorf("over budget: %d %s", r.code, r.body)
	}
}

func TestRLE(t *testing.T) {
	for _, m := range [][]uint8{{}, {0}, {1}, {1, 1, 0, 0, 0, 1}, {0, 0, 1, 0, 1, 1}} {
		runs := EncodeRLE(m)
		back, err := DecodeRLE(runs, len(m))
		if err != nil || !bytes.Equal(back, m) {
			t.Errorf("%v → %v → %v, %v", m, runs, back, err)
		}
	}
	if runs := EncodeRLE([]uint8{1, 1, 0}); fmt.Sprint(runs) != "[0 2 1]" {
		t.Errorf("runs %v", runs)
	}
	for _, bad := range [][]int{{-1, 3}, {2, 2}, {1}} {
		if _, err := DecodeRLE(bad, 3); err == nil {
			t.Errorf("DecodeRLE(%v) accepted", bad)
		}
	}
}
