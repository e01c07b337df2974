package dicom

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	libdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

func TestWriteCTRoundTrip(t *testing.T) {
	src, err := ReadFile("testdata/CT_small.dcm")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ct.dcm")
	if err := WriteCT(path, src); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkCTSmall(t, got)
	if !reflect.DeepEqual(got.HU, src.HU) {
		t.Error("HU changed")
	}

	// File meta as written by us (the library writes only what it is given).
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := libdicom.ParseFile(path, nil, libdicom.SkipPixelData())
	if err != nil {
		t.Fatal(err)
	}
	for tg, want := range map[tag.Tag]string{
		tag.MediaStorageSOPClassUID:    CTImageStorage,
		tag.MediaStorageSOPInstanceUID: src.SOPInstanceUID,
		tag.TransferSyntaxUID:          ExplicitVRLittleEndian,
		tag.ImplementationClassUID:     ImplementationClassUID,
		tag.ImplementationVersionName:  ImplementationVersionName,
		tag.PixelRepresentation:        "[1]",
		tag.RescaleIntercept:           "0",
		tag.RescaleSlope:               "1",
	} {
		e, err := ds.FindElementByTag(tg)
		if err != nil {
			t.Errorf("%v: %v", tg, err)
			continue
		}
		if s := e.Value.String(); !strings.Contains(s, want) {
			t.Errorf("%v = %s, want %s", tg, s, want)
		}
	}
	// Elements ascend by tag at top level.
	var prev uint32
	for _, e := range topLevel(t, file[len(file)-len(mustSplit(t, file)):]) {
		cur := uint32(e.Tag.Group)<<16 | uint32(e.Tag.Element)
		if cur <= prev {
			t.Errorf("element %v after %08X", e.Tag, prev)
		}
		prev = cur
	}
	// Signed 16-bit pixels equal to HU, little endian.
	pix := pixelDataOf(t, file)
	if len(pix) != 2*len(src.HU) || int16(uint16(pix[0])|uint16(pix[1])<<8) != src.HU[0] {
		t.Errorf("pixel data: %d bytes, first %x", len(pix), pix[:2])
	}

	dciodvfy(t, path)
	dcmdump(t, path, "CTImageStorage", "(0028,0103) US 1", "(7fe0,0010) OW")
}

func mustSplit(t testing.TB, file []byte) []byte {
	p, _ := split(t, file)
	return p
}

func TestSeries(t *testing.T) {
	sr := NewSeries(32, 48)
	vol := make([][]int16, 4)
	for i := range vol {
		vol[i] = make([]int16, 32*48)
		for j := range vol[i] {
			vol[i][j] = int16(j%2000 - 1000 + i)
		}
	}
	dir := filepath.Join(t.TempDir(), "series")
	slices, err := sr.Write(dir, vol)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range slices {
		path := filepath.Join(dir, []string{"CT0001.dcm", "CT0002.dcm", "CT0003.dcm", "CT0004.dcm"}[i])
		got, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.HU, vol[i]) {
			t.Errorf("slice %d: HU differ", i)
		}
		if got.StudyInstanceUID != sr.StudyInstanceUID || got.SeriesInstanceUID != sr.SeriesInstanceUID ||
			got.FrameOfReferenceUID != sr.FrameOfReferenceUID || got.SOPInstanceUID != s.SOPInstanceUID {
			t.Errorf("slice %d: UIDs %+v", i, got)
		}
		if got.InstanceNumber != i+1 || got.ImagePositionPatient[2] != float64(5*i) || got.SliceThickness != 5 {
			t.Errorf("slice %d: instance %d position %v thickness %v", i, got.InstanceNumber, got.ImagePositionPatient, got.SliceThickness)
		}
		if i > 0 && s.SOPInstanceUID == slices[i-1].SOPInstanceUID {
			t.Error("SOP Instance UIDs repeat")
		}
	}
	dciodvfy(t, filepath.Join(dir, "CT0001.dcm"))
	dcmdump(t, filepath.Join(dir, "CT0004.dcm"))
	// Only the four files: no temporary files left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 4 {
		t.Errorf("%d directory entries", len(ents))
	}
}

func TestWriteCTInvalid(t *testing.T) {
	good, err := NewSeries(2, 2).Slice(0, make([]int16, 4))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, mut := range map[string]func(s *Slice){
		"short HU":        func(s *Slice) { s.HU = s.HU[:3] },
		"zero rows":       func(s *Slice) { s.Rows = 0 },
		"huge":            func(s *Slice) { s.Rows, s.Cols, s.HU = 5000, 1, make([]int16, 5000) },
		"spacing":         func(s *Slice) { s.PixelSpacing[1] = 0 },
		"orientation":     func(s *Slice) { s.ImageOrientationPatient = [6]float64{1, 0, 0, 1, 0, 0} },
		"bad UID":         func(s *Slice) { s.SeriesInstanceUID = "1.02.3" },
		"no UID":          func(s *Slice) { s.FrameOfReferenceUID = "" },
		"MR":              func(s *Slice) { s.Modality = "MR" },
		"negative number": func(s *Slice) { s.InstanceNumber = -1 },
	} {
		s := *good
		mut(&s)
		path := filepath.Join(dir, "x.dcm")
		if err := WriteCT(path, &s); !errors.Is(err, ErrInvalidSlice) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: file written", name)
		}
	}
	if err := WriteCT(filepath.Join(dir, "x.dcm"), nil); !errors.Is(err, ErrInvalidSlice) {
		t.Errorf("nil: %v", err)
	}
	if err := WriteCT(filepath.Join(dir, "no", "such", "dir.dcm"), good); err == nil {
		t.Error("missing directory: no error")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestNonASCIIPatient(t *testing.T) {
	s, err := NewSeries(2, 2).Slice(0, []int16{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	s.PatientName = "Müller^Jürgen"
	path := filepath.Join(t.TempDir(), "utf8.dcm")
	if err := WriteCT(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.PatientName != s.PatientName {
		t.Errorf("PatientName %q", got.PatientName)
	}
	dciodvfy(t, path)
}

func TestFormatDS(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0", 5: "5", 0.661468: "0.661468", -158.135803: "-158.135803",
		1.0 / 3: "0.33333333333333", -1.0 / 3: "-0.3333333333333", 1e-20: "1e-20", 123456789012345678: "1.2345678901e+17",
	} {
		if got := formatDS(f); got != want || len(got) > 16 {
			t.Errorf("formatDS(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestNewUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := NewUID()
		if msg := checkUID(u); msg != "" || !strings.HasPrefix(u, "2.25.") || len(u) > 44 {
			t.Fatalf("%q: %s", u, msg)
		}
		if seen[u] {
			t.Fatalf("duplicate %s", u)
		}
		seen[u] = true
	}
}
