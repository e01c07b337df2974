package console

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/measure"
	"github.com/lsms-edge/lsms/synth/dataset"
)

// ErrUpload wraps every reason an uploaded file is refused.
var ErrUpload = errors.New("console: bad upload")

// DefaultHUOffset is the stored-value offset of 16-bit PNG slices.
const DefaultHUOffset = 32768

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// axial is the plane orientation assumed without DICOM geometry.
var axial = [6]float64{1, 0, 0, 0, 1, 0}

// DecodeSlice decodes one uploaded file: a 16-bit grey PNG holding
// HU + huOffset, or a DICOM CT slice (Part 10 or a bare data set). Errors wrap
// ErrUpload and say what is wrong; no input panics.
func DecodeSlice(name string, data []byte, huOffset int) (*Slice, error) {
	t0 := time.Now()
	sl := &Slice{Name: name}
	switch {
	case len(data) == 0:
		return nil, fmt.Errorf("%w: %s: empty file", ErrUpload, name)
	case bytes.HasPrefix(data, pngMagic):
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: PNG: %v", ErrUpload, name, err)
		}
		if cfg.ColorModel != color.Gray16Model {
			return nil, fmt.Errorf("%w: %s: PNG is not 16-bit greyscale (want HU + %d stored as 16-bit grey)", ErrUpload, name, huOffset)
		}
		if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > dicom.MaxCols || cfg.Height > dicom.MaxRows {
			return nil, fmt.Errorf("%w: %s: PNG is %d×%d, want 1..%d on a side", ErrUpload, name, cfg.Width, cfg.Height, dicom.MaxRows)
		}
		im, err := dataset.DecodeHU(bytes.NewReader(data), huOffset)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrUpload, name, err)
		}
		sl.Kind, sl.Rows, sl.Cols, sl.hu = "png", im.Height, im.Width, im.HU
		sl.PixelSpacing, sl.SpacingAssumed = [2]float64{1, 1}, true
		sl.plane = measure.Plane{Rows: sl.Rows, Cols: sl.Cols, PixelSpacing: sl.PixelSpacing, Orientation: axial}
	default:
		if len(data) > dicom.MaxInputBytes {
			return nil, fmt.Errorf("%w: %s: %d bytes, over the DICOM limit of %d", ErrUpload, name, len(data), dicom.MaxInputBytes)
		}
		d, err := dicom.ReadCT(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: neither a 16-bit PNG nor a readable DICOM CT slice: %v", ErrUpload, name, err)
		}
		if d.Rows < 1 || d.Cols < 1 || len(d.HU) != d.Rows*d.Cols {
			return nil, fmt.Errorf("%w: %s: DICOM slice %d×%d with %d pixels", ErrUpload, name, d.Rows, d.Cols, len(d.HU))
		}
		sl.Kind, sl.Rows, sl.Cols, sl.hu = "dicom", d.Rows, d.Cols, d.HU
		sl.Instance = d.InstanceNumber
		sl.Series, sl.SeriesName = d.SeriesInstanceUID, d.SeriesDescription
		p := measure.PlaneOf(d)
		if p.Validate() == nil {
			sl.plane, sl.Geometry = p, true
			sl.PixelSpacing = p.PixelSpacing
			n := p.Normal()
			sl.Position = n[0]*p.Position[0] + n[1]*p.Position[1] + n[2]*p.Position[2]
		} else {
			// Keep a usable spacing if there is one; the rest is unknown.
			sp := d.PixelSpacing
			if !(sp[0] > 0 && sp[1] > 0 && sp[0] < math.Inf(1) && sp[1] < math.Inf(1)) {
				sp, sl.SpacingAssumed = [2]float64{1, 1}, true
			}
			sl.PixelSpacing = sp
			sl.plane = measure.Plane{Rows: sl.Rows, Cols: sl.Cols, PixelSpacing: sp, Orientation: axial}
		}
	}
	sl.HUMin, sl.HUMax = math.MaxInt16, math.MinInt16
	for _, v := range sl.hu {
		sl.HUMin, sl.HUMax = min(sl.HUMin, v), max(sl.HUMax, v)
	}
	sl.DecodeMS = ms(time.Since(t0))
	return sl, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fileError is one refused file of an upload.
type fileError struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// uploadResponse is the body of POST /api/slices.
type uploadResponse struct {
	Slices []*Slice     `json:"slices"`
	Errors []fileError  `json:"errors,omitempty"`
	Series []seriesInfo `json:"series"`
}

type seriesInfo struct {
	Key    string   `json:"key"`
	Name   string   `json:"name"`
	Slices []string `json:"slices"` // ids, in order along the normal
}

// cleanName keeps a printable base name of an uploaded file.
func cleanName(n string) string {
	n = path.Base(strings.ReplaceAll(n, "\\", "/"))
	if !utf8.ValidString(n) {
		n = strings.ToValidUTF8(n, "?")
	}
	n = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, n)
	if len(n) > 200 {
		n = n[:200]
	}
	if n == "" || n == "." || n == "/" {
		n = "upload"
	}
	return n
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "want a multipart/form-data body with \"file\" parts: %v", err)
		return
	}
	type file struct {
		name string
		data []byte
	}
	var files []file
	offset := DefaultHUOffset
	var spacing [2]float64 // PNG pixel spacing; 0: unknown
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			uploadReadError(w, err, s.cfg.MaxUploadBytes)
			return
		}
		switch p.FormName() {
		case "hu_offset":
			v, err := io.ReadAll(io.LimitReader(p, 32))
			if err == nil {
				offset, err = strconv.Atoi(strings.TrimSpace(string(v)))
			}
			if err != nil || offset < 0 || offset > 65535 {
				writeError(w, http.StatusBadRequest, "hu_offset %q: want an integer in 0..65535", v)
				return
			}
		case "pixel_spacing":
			v, err := io.ReadAll(io.LimitReader(p, 64))
			if err == nil {
				spacing, err = parseSpacing(string(v))
			}
			if err != nil {
				writeError(w, http.StatusBadRequest, "pixel_spacing %q: want ROW[,COL] in mm, positive", v)
				return
			}
		case "file":
			if len(files) == MaxFilesPerUpload {
				writeError(w, http.StatusRequestEntityTooLarge, "more than %d files in one upload", MaxFilesPerUpload)
				return
			}
			name := cleanName(p.FileName())
			data, err := io.ReadAll(io.LimitReader(p, dicom.MaxInputBytes+1))
			if err != nil {
				uploadReadError(w, err, s.cfg.MaxUploadBytes)
				return
			}
			if len(data) > dicom.MaxInputBytes {
				writeError(w, http.StatusRequestEntityTooLarge, "%s: larger than %d bytes", name, dicom.MaxInputBytes)
				return
			}
			files = append(files, file{name, data})
		default:
			// Unknown fields are drained and ignored.
			if _, err := io.Copy(io.Discard, p); err != nil {
				uploadReadError(w, err, s.cfg.MaxUploadBytes)
				return
			}
		}
		p.Close()
	}
	if len(files) == 0 {
		writeError(w, http.StatusBadRequest, "no \"file\" parts in the upload")
		return
	}
	var resp uploadResponse
	var total int64
	for i := range files {
		sl, err := DecodeSlice(files[i].name, files[i].data, offset)
		files[i].data = nil
		if err != nil {
			resp.Errors = append(resp.Errors, fileError{files[i].name, strings.TrimPrefix(err.Error(), ErrUpload.Error()+": ")})
			continue
		}
		if sl.Kind == "png" && spacing[0] > 0 {
			sl.PixelSpacing, sl.SpacingAssumed = spacing, false
			sl.plane.PixelSpacing = spacing
		}
		total += int64(2 * len(sl.hu))
		resp.Slices = append(resp.Slices, sl)
	}
	if len(resp.Slices) == 0 {
		msg := resp.Errors[0].Error
		if len(resp.Errors) > 1 {
			msg = fmt.Sprintf("none of the %d files is a slice; first: %s", len(resp.Errors), msg)
		}
		writeJSON(w, http.StatusBadRequest, struct {
			Error  string      `json:"error"`
			Errors []fileError `json:"errors"`
		}{msg, resp.Errors})
		return
	}
	if total > s.cfg.MaxStoreBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "the upload holds %d MiB of pixels, over the console's memory budget of %d MiB", total>>20, s.cfg.MaxStoreBytes>>20)
		return
	}
	groups := groupSeries(resp.Slices)
	for _, sl := range resp.Slices {
		sl.ID = newID()
		s.store.add(sl)
	}
	for _, g := range groups {
		si := seriesInfo{Key: g.key, Name: g.name}
		for _, i := range g.idx {
			si.Slices = append(si.Slices, resp.Slices[i].ID)
		}
		resp.Series = append(resp.Series, si)
	}
	s.log.Info("console: upload", "slices", len(resp.Slices), "refused", len(resp.Errors))
	writeJSON(w, http.StatusOK, &resp)
}

// parseSpacing reads "ROW,COL" or "BOTH" (mm); empty is unknown.
func parseSpacing(v string) ([2]float64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return [2]float64{}, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) > 2 {
		return [2]float64{}, errors.New("too many values")
	}
	var sp [2]float64
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(x > 0) || x > 1000 {
			return [2]float64{}, errors.New("not a positive number of mm up to 1000")
		}
		sp[i] = x
	}
	if len(parts) == 1 {
		sp[1] = sp[0]
	}
	return sp, nil
}

func uploadReadError(w http.ResponseWriter, err error, limit int64) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, "upload larger than %d MiB", limit>>20)
		return
	}
	writeError(w, http.StatusBadRequest, "reading the upload: %v", err)
}

// group is a series of one upload: indexes into its slices.
type group struct {
	key, name string
	idx       []int
}

// groupSeries groups the slices of one upload: DICOM slices by series UID,
// ordered along the normal (then by instance number and name); PNG slices
// together in name order. Each slice gets its Series key and name.
func groupSeries(slices []*Slice) []group {
	batch := newID()[:6]
	byKey := map[string]int{}
	var out []group
	for i, sl := range slices {
		key, name := sl.Series, sl.SeriesName
		if sl.Kind == "png" || key == "" {
			key, name = "upload-"+batch+"-"+sl.Kind, sl.Kind+" upload"
		} else if name == "" {
			name = "series …" + key[max(0, len(key)-8):]
		}
		sl.Series, sl.SeriesName = key, name
		k, ok := byKey[key]
		if !ok {
			k = len(out)
			byKey[key] = k
			out = append(out, group{key: key, name: name})
		}
		out[k].idx = append(out[k].idx, i)
	}
	for k := range out {
		idx := out[k].idx
		sort.SliceStable(idx, func(a, b int) bool {
			x, y := slices[idx[a]], slices[idx[b]]
			if x.Position != y.Position {
				return x.Position < y.Position
			}
			if x.Instance != y.Instance {
				return x.Instance < y.Instance
			}
			return x.Name < y.Name
		})
		if n := len(idx); n > 1 {
			out[k].name = fmt.Sprintf("%s (%d slices)", out[k].name, n)
		}
		for _, i := range idx {
			slices[i].SeriesName = out[k].name
		}
	}
	return out
}

// sliceInfo is GET /api/slices/{id}.
func (s *Server) sliceInfo(w http.ResponseWriter, r *http.Request) {
	sl := s.store.get(r.PathValue("id"))
	if sl == nil {
		writeError(w, http.StatusNotFound, "no slice %q (uploads are kept in memory and the oldest are dropped)", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, sl)
}

// list is GET /api/slices.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"slices": s.store.all()})
}

// sliceHU is GET /api/slices/{id}/hu: little-endian int16, row-major.
func (s *Server) sliceHU(w http.ResponseWriter, r *http.Request) {
	sl := s.store.get(r.PathValue("id"))
	if sl == nil {
		writeError(w, http.StatusNotFound, "no slice %q (uploads are kept in memory and the oldest are dropped)", r.PathValue("id"))
		return
	}
	buf := make([]byte, 2*len(sl.hu))
	for i, v := range sl.hu {
		binary.LittleEndian.PutUint16(buf[2*i:], uint16(v))
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Rows", strconv.Itoa(sl.Rows))
	h.Set("X-Cols", strconv.Itoa(sl.Cols))
	h.Set("Content-Length", strconv.Itoa(len(buf)))
	w.Write(buf)
}
