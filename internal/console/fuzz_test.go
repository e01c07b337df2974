package console

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/lsms-edge/lsms/device/dicom"
)

// seedDICOM returns a small CT slice as a DICOM Part 10 file.
func seedDICOM(f *testing.F) []byte {
	dir := f.TempDir()
	sr := dicom.NewSeries(4, 5)
	if _, err := sr.Write(dir, [][]int16{make([]int16, 20)}); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "CT0001.dcm"))
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzDecodeSlice: any bytes decode to a consistent slice or an ErrUpload
// error, never a panic.
func FuzzDecodeSlice(f *testing.F) {
	f.Add(huPNG(f, 6, 5, square(1, 1, 3, 3)), 32768)
	f.Add(seedDICOM(f), 32768)
	f.Add([]byte("\x89PNG\r\n\x1a\n"), 0)
	f.Add([]byte("DICM"), 32768)
	f.Fuzz(func(t *testing.T, data []byte, offset int) {
		sl, err := DecodeSlice("fuzz", data, offset)
		if err != nil {
			return
		}
		if sl.Rows < 1 || sl.Cols < 1 || len(sl.hu) != sl.Rows*sl.Cols || sl.plane.Validate() != nil {
			t.Fatalf("inconsistent slice %d×%d, %d pixels, plane %+v", sl.Rows, sl.Cols, len(sl.hu), sl.plane)
		}
	})
}

// FuzzUpload: any upload body gets a JSON answer with a 200, 400 or 413
// status from POST /api/slices.
func FuzzUpload(f *testing.F) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.SetBoundary("fuzzboundary")
	mw.WriteField("hu_offset", "32768")
	fw, _ := mw.CreateFormFile("file", "a.png")
	fw.Write(huPNG(f, 4, 4, square(0, 0, 2, 2)))
	fw, _ = mw.CreateFormFile("file", "b.dcm")
	fw.Write(seedDICOM(f))
	mw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("--fuzzboundary--\r\n"))
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nabc\r\n--fuzzboundary--\r\n"))
	s, err := New(Config{Segmenter: huSeg{}, MaxUploadBytes: 1 << 20, MaxStoreBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/api/slices", bytes.NewReader(body))
		req.Host = "127.0.0.1:1"
		req.Header.Set("Content-Type", "multipart/form-data; boundary=fuzzboundary")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("status %d: body is not JSON: %q", w.Code, w.Body.Bytes())
		}
	})
}
