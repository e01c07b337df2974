package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/lsms-edge/lsms/device/dicom/internal/preflight"
)

var sentinels = []error{
	ErrUnsupportedTransferSyntax, ErrMalformed, ErrTooLarge, ErrMissingAttribute,
	ErrInvalidAttribute, ErrNotCT, ErrPixelDataLength,
}

// checkResult asserts what holds for any input: an error wraps one of the
// sentinels; a slice is consistent.
func checkResult(t *testing.T, s *Slice, err error) {
	t.Helper()
	if err != nil {
		for _, se := range sentinels {
			if errors.Is(err, se) {
				return
			}
		}
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	if s.Rows < 1 || s.Rows > MaxRows || s.Cols < 1 || s.Cols > MaxCols || len(s.HU) != s.Rows*s.Cols {
		t.Fatalf("inconsistent slice %d×%d with %d pixels", s.Rows, s.Cols, len(s.HU))
	}
	if err := checkOrientation(s.ImageOrientationPatient); err != "" {
		t.Fatalf("orientation accepted: %s", err)
	}
}

// smallCT writes a 3×2 synthetic CT file: a seed small enough for the
// fuzzer to mutate quickly.
func smallCT(f testing.TB) []byte {
	s, err := NewSeries(3, 2).Slice(0, []int16{-1024, -1, 0, 1, 40, 3071})
	if err != nil {
		f.Fatal(err)
	}
	s.StudyDate, s.StudyTime = "20240101", "120000"
	path := filepath.Join(f.TempDir(), "small.dcm")
	if err := WriteCT(path, s); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

var fuzzSyntaxes = []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian}

// shrunk turns a testdata CT file into a 2×2 one without private
// elements: a seed small enough for the fuzzer to mutate and minimise
// quickly (minimising a 40 KB input takes longer than a fuzz run). It
// returns the data set and the whole file.
func shrunk(f testing.TB, name string) (payload []byte, ts string, file []byte) {
	orig := readTestdata(f, name)
	payload, ts = split(f, orig)
	syntax, err := syntaxOf(ts)
	if err != nil {
		f.Fatal(err)
	}
	bo := binary.ByteOrder(binary.LittleEndian)
	if syntax.BigEndian {
		bo = binary.BigEndian
	}
	var top []preflight.Element
	var pixel preflight.Element
	err = preflight.Check(payload, syntax, preflight.DefaultLimits, func(e preflight.Element) {
		if e.Depth == 0 {
			top = append(top, e)
			if e.Tag == tag.PixelData {
				pixel = e
			}
		}
	})
	if err != nil || pixel.Next == 0 {
		f.Fatalf("%s: %v", name, err)
	}
	// Keep the standard elements before Pixel Data, then 8 pixel bytes.
	var out []byte
	for _, e := range top {
		if e.Offset >= pixel.Offset {
			break
		}
		if e.Tag.Group%2 == 1 {
			continue // private
		}
		at := len(out)
		out = append(out, payload[e.Offset:e.Next]...)
		if e.Tag == tag.Rows || e.Tag == tag.Columns {
			bo.PutUint16(out[at+e.ValueAt-e.Offset:], 2)
		}
	}
	at := len(out)
	out = append(out, payload[pixel.Offset:pixel.ValueAt+8]...)
	bo.PutUint32(out[at+pixel.ValueAt-pixel.Offset-4:], 8)
	// The file meta group length does not cover the data set, so the
	// original header can be reused as is.
	header := orig[:len(orig)-len(payload)]
	return out, ts, append(append([]byte{}, header...), out...)
}

var ctFiles = []string{"CT_small.dcm", "CT_small_implicit.dcm", "CT_small_bigendian.dcm"}

func FuzzParsePayload(f *testing.F) {
	small, _ := split(f, smallCT(f))
	f.Add(small, uint8(0))
	for _, name := range ctFiles {
		payload, ts, _ := shrunk(f, name)
		for i, s := range fuzzSyntaxes {
			if s == ts {
				f.Add(payload, uint8(i))
			}
		}
	}
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, syntax uint8) {
		s, err := ParsePayload(data, fuzzSyntaxes[int(syntax)%len(fuzzSyntaxes)])
		checkResult(t, s, err)
	})
}

func FuzzReadCT(f *testing.F) {
	small := smallCT(f)
	f.Add(small)
	payload, _ := split(f, small)
	f.Add(payload) // no preamble: syntax inferred
	for _, name := range ctFiles {
		_, _, file := shrunk(f, name)
		f.Add(file)
	}
	for _, name := range []string{"MR_small_RLE.dcm", "JPEG2000.dcm"} {
		f.Add(readTestdata(f, name)[:512]) // file meta and the start of the data set
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadCT(bytes.NewReader(data), int64(len(data)))
		checkResult(t, s, err)
	})
}

// The shrunk seeds are valid CT data sets.
func TestShrunkSeeds(t *testing.T) {
	for _, name := range ctFiles {
		payload, ts, file := shrunk(t, name)
		for _, s := range []func() (*Slice, error){
			func() (*Slice, error) { return ParsePayload(payload, ts) },
			func() (*Slice, error) { return ReadCT(bytes.NewReader(file), int64(len(file))) },
		} {
			sl, err := s()
			if err != nil || sl.Rows != 2 || sl.Cols != 2 || sl.HU[0] != -849 {
				t.Errorf("%s: %v %+v", name, err, sl)
			}
		}
	}
}
