package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// Reference values of testdata/CT_small.dcm, computed with pydicom 2.3.1
// (see testdata/README.md).
const (
	ctSmallMin = -896
	ctSmallMax = 1167
	ctSmallSum = -1950906 // mean -119.0738525390625 over 128×128
)

func checkCTSmall(t *testing.T, s *Slice) {
	t.Helper()
	if s.Rows != 128 || s.Cols != 128 || len(s.HU) != 128*128 {
		t.Fatalf("size %d×%d, %d pixels", s.Rows, s.Cols, len(s.HU))
	}
	lo, hi, sum := int16(32767), int16(-32768), 0
	for _, v := range s.HU {
		lo, hi, sum = min(lo, v), max(hi, v), sum+int(v)
	}
	if lo != ctSmallMin || hi != ctSmallMax || sum != ctSmallSum {
		t.Errorf("HU min/max/sum = %d/%d/%d, want %d/%d/%d", lo, hi, sum, ctSmallMin, ctSmallMax, ctSmallSum)
	}
	if mean := float64(sum) / float64(len(s.HU)); mean != -119.0738525390625 {
		t.Errorf("mean HU %v", mean)
	}
	for _, p := range []struct{ r, c, hu int }{{0, 0, -849}, {64, 64, 904}, {10, 100, 203}, {127, 127, -115}} {
		if got := s.HU[p.r*s.Cols+p.c]; int(got) != p.hu {
			t.Errorf("HU[%d,%d] = %d, want %d", p.r, p.c, got, p.hu)
		}
	}
	want := Slice{
		Rows: 128, Cols: 128,
		PixelSpacing:            [2]float64{0.661468, 0.661468},
		ImagePositionPatient:    [3]float64{-158.135803, -179.035797, -75.699997},
		ImageOrientationPatient: [6]float64{1, 0, 0, 0, 1, 0},
		SliceThickness:          5,
		SOPClassUID:             CTImageStorage,
		SOPInstanceUID:          "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322",
		SeriesInstanceUID:       "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322",
		StudyInstanceUID:        "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
		FrameOfReferenceUID:     "1.3.6.1.4.1.5962.1.4.1.1.20040119072730.12322",
		InstanceNumber:          1,
		SeriesNumber:            1,
		Modality:                "CT",
		PatientID:               "1CT1",
		PatientName:             "CompressedSamples^CT1",
		PatientSex:              "O",
		StudyID:                 "1CT1",
		StudyDate:               "20040119",
		StudyTime:               "072730",
		SeriesDescription:       "",
	}
	got := *s
	got.HU = nil
	got.SeriesDescription = "" // not asserted
	if !reflect.DeepEqual(got, want) {
		t.Errorf("attributes:\n got %+v\nwant %+v", got, want)
	}
}

func TestReadFileCTSmall(t *testing.T) {
	for _, name := range []string{"CT_small.dcm", "CT_small_implicit.dcm", "CT_small_bigendian.dcm"} {
		t.Run(name, func(t *testing.T) {
			s, err := ReadFile("testdata/" + name)
			if err != nil {
				t.Fatal(err)
			}
			checkCTSmall(t, s)
		})
	}
}

func TestParsePayload(t *testing.T) {
	for _, name := range []string{"CT_small.dcm", "CT_small_implicit.dcm", "CT_small_bigendian.dcm"} {
		t.Run(name, func(t *testing.T) {
			payload, ts := split(t, readTestdata(t, name))
			s, err := ParsePayload(payload, ts)
			if err != nil {
				t.Fatal(err)
			}
			checkCTSmall(t, s)
			// A UID padded with NUL, as on the wire, is accepted.
			if _, err := ParsePayload(payload, ts+"\x00"); err != nil {
				t.Fatal(err)
			}
			// Without preamble and meta, ReadCT infers the syntax.
			s, err = ReadCT(bytes.NewReader(payload), int64(len(payload)))
			if err != nil {
				t.Fatal(err)
			}
			checkCTSmall(t, s)
		})
	}
}

func TestParsePayloadWrongSyntax(t *testing.T) {
	payload, _ := split(t, readTestdata(t, "CT_small.dcm"))
	_, err := ParsePayload(payload, ImplicitVRLittleEndian)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("explicit payload read as implicit: %v", err)
	}
}

// The library cannot infer a syntax from fewer than 100 bytes; we never
// ask it to, so a tiny payload gets a precise error instead.
func TestParsePayloadTiny(t *testing.T) {
	sop := []byte(CTImageStorage + "\x00")
	payload := []byte{0x08, 0x00, 0x16, 0x00, 'U', 'I', byte(len(sop)), 0}
	payload = append(payload, sop...)
	_, err := ParsePayload(payload, ExplicitVRLittleEndian)
	var ae *AttributeError
	if !errors.As(err, &ae) || ae.Tag != tag.Rows || !errors.Is(err, ErrMissingAttribute) {
		t.Fatalf("got %v, want missing Rows", err)
	}
	if !strings.Contains(err.Error(), "Rows (0028,0010)") {
		t.Errorf("error does not name the tag: %v", err)
	}
	for _, p := range [][]byte{nil, {}, {0x08}, {0x08, 0x00, 0x16, 0x00, 'U', 'I', 0xFF, 0xFF}} {
		if _, err := ParsePayload(p, ExplicitVRLittleEndian); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePayload(%x): %v, want ErrMalformed", p, err)
		}
	}
}

func TestUnsupportedTransferSyntax(t *testing.T) {
	for _, c := range []struct{ file, uid, name string }{
		{"MR_small_RLE.dcm", "1.2.840.10008.1.2.5", "RLE Lossless"},
		{"JPEG2000.dcm", "1.2.840.10008.1.2.4.91", "JPEG 2000"},
	} {
		_, err := ReadFile("testdata/" + c.file)
		var te *TransferSyntaxError
		if !errors.Is(err, ErrUnsupportedTransferSyntax) || !errors.As(err, &te) {
			t.Fatalf("%s: %v", c.file, err)
		}
		if te.UID != c.uid || !strings.Contains(te.Name, c.name) || !strings.Contains(err.Error(), c.uid) {
			t.Errorf("%s: %+v / %v", c.file, te, err)
		}
	}
	for uid, name := range map[string]string{
		"1.2.840.10008.1.2.4.50":    "JPEG Baseline",
		"1.2.840.10008.1.2.4.57":    "JPEG Lossless",
		"1.2.840.10008.1.2.4.70":    "JPEG Lossless",
		"1.2.840.10008.1.2.4.80":    "JPEG-LS",
		"1.2.840.10008.1.2.4.90":    "JPEG 2000",
		"1.2.840.10008.1.2.5":       "RLE",
		"1.2.840.10008.1.2.1.99":    "Deflate",
		"1.2.840.10008.1.2.4.201":   "unknown", // HTJ2K, newer than the library's table
		"":                          "unknown",
		"1.2.840.10008.5.1.4.1.1.2": "not a transfer syntax",
	} {
		_, err := ParsePayload([]byte("irrelevant"), uid)
		var te *TransferSyntaxError
		if !errors.As(err, &te) || !errors.Is(err, ErrUnsupportedTransferSyntax) {
			t.Errorf("%q: %v", uid, err)
			continue
		}
		if !strings.Contains(strings.ToLower(te.Name), strings.ToLower(name)) {
			t.Errorf("%q: name %q, want it to contain %q", uid, te.Name, name)
		}
	}
}

func TestMissingAttributes(t *testing.T) {
	payload, ts := split(t, readTestdata(t, "CT_small.dcm"))
	for _, tg := range []tag.Tag{
		tag.SOPClassUID, tag.Rows, tag.Columns, tag.SamplesPerPixel, tag.PhotometricInterpretation,
		tag.BitsAllocated, tag.BitsStored, tag.HighBit, tag.PixelRepresentation,
		tag.RescaleSlope, tag.RescaleIntercept, tag.PixelSpacing, tag.ImagePositionPatient,
		tag.ImageOrientationPatient, tag.SOPInstanceUID, tag.SeriesInstanceUID,
		tag.StudyInstanceUID, tag.FrameOfReferenceUID, tag.PixelData,
	} {
		_, err := ParsePayload(without(t, payload, tg), ts)
		var ae *AttributeError
		if !errors.Is(err, ErrMissingAttribute) || !errors.As(err, &ae) || ae.Tag != tg {
			t.Errorf("without %v: %v", tg, err)
		}
	}
	// Type 2 attributes may be absent.
	for _, tg := range []tag.Tag{tag.SliceThickness, tag.InstanceNumber, tag.PatientName, tag.PatientID} {
		if _, err := ParsePayload(without(t, payload, tg), ts); err != nil {
			t.Errorf("without %v: %v", tg, err)
		}
	}
}

func us16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

func TestInvalidAttributes(t *testing.T) {
	payload, ts := split(t, readTestdata(t, "CT_small.dcm"))
	mr := []byte("1.2.840.10008.5.1.4.1.1.4\x00") // MR Image Storage
	for _, c := range []struct {
		tag      tag.Tag
		value    []byte
		sentinel error
	}{
		{tag.SOPClassUID, mr, ErrNotCT},
		{tag.Rows, us16(5000), ErrTooLarge},
		{tag.Columns, us16(0), ErrInvalidAttribute},
		{tag.Rows, us16(64), ErrPixelDataLength},
		{tag.BitsAllocated, us16(8), ErrInvalidAttribute},
		{tag.SamplesPerPixel, us16(3), ErrInvalidAttribute},
		{tag.HighBit, us16(11), ErrInvalidAttribute},
		{tag.PixelSpacing, []byte(`0.5\abc `), ErrInvalidAttribute},
		{tag.PixelSpacing, []byte(`0.5 `), ErrInvalidAttribute},
		{tag.PixelSpacing, []byte(`0\0.5 `), ErrInvalidAttribute},
		{tag.RescaleSlope, []byte("0 "), ErrInvalidAttribute},
		{tag.ImageOrientationPatient, []byte(`1\0\0\1\0\0 `), ErrInvalidAttribute},
		{tag.ImagePositionPatient, []byte(`1\2\NaN `), ErrInvalidAttribute},
		{tag.SOPInstanceUID, []byte("1.2.abc "), ErrInvalidAttribute},
	} {
		_, err := ParsePayload(withValue(t, payload, c.tag, c.value), ts)
		if !errors.Is(err, c.sentinel) {
			t.Errorf("%v = %q: %v, want %v", c.tag, c.value, err, c.sentinel)
		}
		if c.sentinel != ErrPixelDataLength {
			var ae *AttributeError
			if !errors.As(err, &ae) || ae.Tag != c.tag {
				t.Errorf("%v = %q: error does not name the tag: %v", c.tag, c.value, err)
			}
		}
	}
}

func TestSignedAndRescale(t *testing.T) {
	payload, ts := split(t, readTestdata(t, "CT_small.dcm"))
	// Unsigned, 12 bits stored, slope 2, intercept -1000.5: HU = raw*2 - 1000.5.
	p := withValue(t, payload, tag.PixelRepresentation, us16(0))
	p = withValue(t, p, tag.BitsStored, us16(12))
	p = withValue(t, p, tag.HighBit, us16(11))
	p = withValue(t, p, tag.RescaleSlope, []byte("2 "))
	p = withValue(t, p, tag.RescaleIntercept, []byte("-1000.5 "))
	s, err := ParsePayload(p, ts)
	if err != nil {
		t.Fatal(err)
	}
	// CT_small raw[0] = 175 → 350 - 1000.5 = -650.5 → rounds to -651.
	if s.HU[0] != -651 {
		t.Errorf("HU[0] = %d, want -651", s.HU[0])
	}
	// Signed 12-bit: 0x0FFF is -1, high bits are ignored.
	raw := []byte{0xFF, 0xFF, 0x00, 0x08, 0xFF, 0x07}
	hu := toHU(raw, binary.LittleEndian, 12, true, 1, 0)
	if hu[0] != -1 || hu[1] != -2048 || hu[2] != 2047 {
		t.Errorf("signed 12-bit: %v", hu)
	}
	hu = toHU([]byte{0xFF, 0xFF}, binary.LittleEndian, 16, false, 1, 0)
	if hu[0] != 32767 {
		t.Errorf("clamp: %v", hu)
	}
	hu = toHU([]byte{0x00, 0x80}, binary.LittleEndian, 16, true, 1, -1024)
	if hu[0] != -32768 {
		t.Errorf("clamp low: %v", hu)
	}
}

func TestMalformed(t *testing.T) {
	file := readTestdata(t, "CT_small.dcm")
	// Every truncation is an error, never a panic.
	for n := 0; n < len(file); n += 97 {
		if _, err := ReadCT(bytes.NewReader(file[:n]), int64(n)); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
	// A reader shorter than the size promised.
	if _, err := ReadCT(bytes.NewReader(file[:1000]), int64(len(file))); !errors.Is(err, ErrMalformed) {
		t.Errorf("short reader: %v", err)
	}
	if _, err := ReadCT(bytes.NewReader(file), MaxInputBytes+1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge size: %v", err)
	}
	if _, err := ReadCT(bytes.NewReader(file), -1); err == nil {
		t.Error("negative size: no error")
	}
	if _, err := ReadCT(nil, 0); err == nil {
		t.Error("nil reader: no error")
	}
	if _, err := ReadFile("testdata/does-not-exist.dcm"); err == nil {
		t.Error("missing file: no error")
	}
}

// A lying 32-bit length must not make the library allocate it.
func TestHugeLengthNotAllocated(t *testing.T) {
	payload, ts := split(t, readTestdata(t, "CT_small.dcm"))
	e := find(t, payload, tag.PixelData)
	p := append([]byte{}, payload...)
	binary.LittleEndian.PutUint32(p[e.ValueAt-4:], 0xFFFFFFF0)
	// Also an undefined-length date (the library would allocate 4 GiB).
	date := append([]byte{0x08, 0x00, 0x12, 0x00, 'D', 'A', 0xFF, 0xFF}, p...)
	for _, in := range [][]byte{p, date} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ParsePayload(in, ts)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("got %v, want ErrMalformed", err)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 8<<20 {
			t.Errorf("allocated %d bytes", d)
		}
	}
}

func TestDeepNesting(t *testing.T) {
	// 1000 nested undefined-length sequences (private tag, explicit SQ).
	var p []byte
	for range 1000 {
		p = append(p, 0x09, 0x00, 0x10, 0x10, 'S', 'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF)
		p = append(p, 0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF)
	}
	_, err := ParsePayload(p, ExplicitVRLittleEndian)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func TestTooManyElements(t *testing.T) {
	var p []byte
	for range 200_000 {
		p = append(p, 0x09, 0x00, 0x10, 0x10, 'L', 'O', 0, 0)
	}
	if _, err := ParsePayload(p, ExplicitVRLittleEndian); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

// Structures on which v1.1.0 panics are rejected before it sees them.
func TestLibraryPanicsAvoided(t *testing.T) {
	cases := map[string][]byte{
		// Defined-length sequence holding a non-item element.
		"non-item in sequence": {0x09, 0x00, 0x10, 0x10, 'S', 'Q', 0, 0, 8, 0, 0, 0,
			0x09, 0x00, 0x11, 0x10, 'L', 'O', 0, 0},
		// Rows with a string VR (MustGetInts would panic).
		"Rows as IS": {0x28, 0x00, 0x10, 0x00, 'I', 'S', 2, 0, '5', ' ',
			0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0, 2, 0, 0, 0, 0, 0},
	}
	for name, p := range cases {
		if _, err := ParsePayload(p, ExplicitVRLittleEndian); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A library panic on input preflight let through is recovered.
	_, err := parseDatasetPanics()
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "panic") {
		t.Errorf("recover: %v", err)
	}
}

// parseDatasetPanics feeds the library, bypassing preflight, a Rows
// element with an empty US value followed by native Pixel Data:
// readNativeFrames indexes the empty value and panics.
func parseDatasetPanics() (*Slice, error) {
	p := []byte{0x28, 0x00, 0x02, 0x00, 'U', 'S', 2, 0, 1, 0} // SamplesPerPixel 1
	p = append(p, 0x28, 0x00, 0x10, 0x00, 'U', 'S', 0, 0)     // Rows, empty
	p = append(p, 0x28, 0x00, 0x11, 0x00, 'U', 'S', 2, 0, 1, 0)
	p = append(p, 0x28, 0x00, 0x00, 0x01, 'U', 'S', 2, 0, 16, 0)
	p = append(p, 0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0, 2, 0, 0, 0, 0, 0)
	_, err := parseDataset(p, ExplicitVRLittleEndian) // no SkipProcessingPixelDataValue
	return nil, err
}

func TestReadCTStreams(t *testing.T) {
	file := readTestdata(t, "CT_small.dcm")
	// Size smaller than the reader: only size bytes are consumed.
	r := io.MultiReader(bytes.NewReader(file), strings.NewReader("trailing"))
	s, err := ReadCT(r, int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	checkCTSmall(t, s)
	rest, _ := io.ReadAll(r)
	if string(rest) != "trailing" {
		t.Errorf("consumed past size: %q left", rest)
	}
}
