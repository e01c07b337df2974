package dicom

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	libdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// segFixture: a 5-slice 13×7 series (odd sizes so frames do not end on a
// byte boundary) with masks on slices 0, 2 and 3.
func segFixture(t *testing.T) ([]*Slice, [][]bool) {
	t.Helper()
	const rows, cols = 13, 7
	sr := NewSeries(rows, cols)
	src := make([]*Slice, 5)
	masks := make([][]bool, 5)
	for i := range src {
		s, err := sr.Slice(i, make([]int16, rows*cols))
		if err != nil {
			t.Fatal(err)
		}
		src[i] = s
		masks[i] = make([]bool, rows*cols)
	}
	for k := range masks[0] {
		masks[0][k] = k%3 == 0
	}
	masks[2][0] = true
	masks[3][rows*cols-1] = true
	return src, masks
}

func segOptions() SEGOptions {
	return SEGOptions{
		SegmentLabel:     "Liver lesion",
		AlgorithmName:    "LSMS Edge U-Net",
		AlgorithmVersion: "0.3.1",
		SeriesNumber:     901,
		Time:             time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
	}
}

func TestWriteSEG(t *testing.T) {
	src, masks := segFixture(t)
	path := filepath.Join(t.TempDir(), "seg.dcm")
	if err := WriteSEG(path, src, masks, segOptions()); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// Bits, decoded by our own unpacker: frames 0, 2, 3 contiguously.
	frames := []int{0, 2, 3}
	n := src[0].Rows * src[0].Cols
	pix := pixelDataOf(t, file)
	if want := (len(frames)*n + 7) / 8; len(pix) != want+want%2 {
		t.Fatalf("pixel data %d bytes, want %d (even)", len(pix), want+want%2)
	}
	bits := unpackBits(pix, len(frames)*n)
	for f, i := range frames {
		if !reflect.DeepEqual(bits[f*n:(f+1)*n], masks[i]) {
			t.Errorf("frame %d (slice %d) differs", f, i)
		}
	}
	// The first pixel of slice 0 is set: bit 0 of byte 0.
	if pix[0]&1 != 1 || pix[0] != 0b01001001 {
		t.Errorf("first byte %08b, want 01001001", pix[0])
	}

	// Structure, read with the library (pixel data skipped: it decodes
	// 1-bit pixels MSB first).
	ds, err := libdicom.ParseFile(path, nil, libdicom.SkipPixelData())
	if err != nil {
		t.Fatal(err)
	}
	str := func(tg tag.Tag) string {
		e, err := ds.FindElementByTag(tg)
		if err != nil {
			t.Fatalf("%v: %v", tg, err)
		}
		return e.Value.String()
	}
	for tg, want := range map[tag.Tag]string{
		tag.SOPClassUID:         SegmentationStorage,
		tag.Modality:            "SEG",
		tag.SegmentationType:    "BINARY",
		tag.NumberOfFrames:      "3",
		tag.BitsAllocated:       "[1]",
		tag.BitsStored:          "[1]",
		tag.HighBit:             "[0]",
		tag.StudyInstanceUID:    src[0].StudyInstanceUID,
		tag.FrameOfReferenceUID: src[0].FrameOfReferenceUID,
		tag.PatientName:         src[0].PatientName,
		tag.SeriesNumber:        "901",
		tag.SoftwareVersions:    "0.3.1",
		tag.ContentDate:         "20240506",
		tag.ContentTime:         "070809",
	} {
		if got := str(tg); got != "["+want+"]" && got != want {
			t.Errorf("%v = %s, want %s", tg, got, want)
		}
	}
	perFrame, _ := ds.FindElementByTag(tag.PerFrameFunctionalGroupsSequence)
	items := perFrame.Value.GetValue().([]*libdicom.SequenceItemValue)
	if len(items) != 3 {
		t.Fatalf("%d per-frame items", len(items))
	}
	for f, it := range items {
		sub := libdicom.Dataset{Elements: it.GetValue().([]*libdicom.Element)}
		ref, err := sub.FindElementByTagNested(tag.ReferencedSOPInstanceUID)
		if err != nil || ref.Value.String() != "["+src[frames[f]].SOPInstanceUID+"]" {
			t.Errorf("frame %d references %v (%v)", f, ref, err)
		}
		div, err := sub.FindElementByTagNested(tag.DimensionIndexValues)
		if err != nil || div.Value.String() != fmt.Sprintf("[1 %d]", f+1) {
			t.Errorf("frame %d dimension index %v (%v)", f, div, err)
		}
		pos, err := sub.FindElementByTagNested(tag.ImagePositionPatient)
		if err != nil || !strings.HasSuffix(pos.Value.String(), fmt.Sprintf(" %d]", 5*frames[f])) {
			t.Errorf("frame %d position %v (%v)", f, pos, err)
		}
	}
	for _, want := range []string{"49755003", "4147007", "10200004", "AUTOMATIC", "Liver lesion", "121322", "113076"} {
		found := false
		for e := range flat(ds.Elements) {
			if strings.Contains(e.Value.String(), want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no element holds %q", want)
		}
	}

	dciodvfy(t, path)
	dcmdump(t, path, "SegmentationStorage", "(0028,0008) IS [3", "(0062,0001) CS [BINARY", "(7fe0,0010) OB")
}

// flat iterates all elements, nested ones included.
func flat(es []*libdicom.Element) func(func(*libdicom.Element) bool) {
	return func(yield func(*libdicom.Element) bool) {
		var walk func([]*libdicom.Element) bool
		walk = func(es []*libdicom.Element) bool {
			for _, e := range es {
				if !yield(e) {
					return false
				}
				if items, ok := e.Value.GetValue().([]*libdicom.SequenceItemValue); ok {
					for _, it := range items {
						if !walk(it.GetValue().([]*libdicom.Element)) {
							return false
						}
					}
				}
			}
			return true
		}
		walk(es)
	}
}

func TestWriteSEGFromCTSmall(t *testing.T) {
	src, err := ReadFile("testdata/CT_small.dcm")
	if err != nil {
		t.Fatal(err)
	}
	mask := make([]bool, len(src.HU))
	for i, hu := range src.HU {
		mask[i] = hu > 100 && hu < 300
	}
	path := filepath.Join(t.TempDir(), "seg.dcm")
	if err := WriteSEG(path, []*Slice{src}, [][]bool{mask}, segOptions()); err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(path)
	if got := unpackBits(pixelDataOf(t, file), len(mask)); !reflect.DeepEqual(got, mask) {
		t.Error("mask differs")
	}
	dciodvfy(t, path)
	dcmdump(t, path)
}

func TestWriteSEGIncludeEmpty(t *testing.T) {
	src, masks := segFixture(t)
	opts := segOptions()
	opts.IncludeEmptyFrames = true
	path := filepath.Join(t.TempDir(), "seg.dcm")
	if err := WriteSEG(path, src, masks, opts); err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(path)
	n := src[0].Rows * src[0].Cols
	bits := unpackBits(pixelDataOf(t, file), len(src)*n)
	for i := range src {
		if !reflect.DeepEqual(bits[i*n:(i+1)*n], masks[i]) {
			t.Errorf("frame %d differs", i)
		}
	}
	dciodvfy(t, path)

	// All empty: allowed only with IncludeEmptyFrames.
	for i := range masks {
		masks[i] = make([]bool, n)
	}
	if err := WriteSEG(path, src, masks, opts); err != nil {
		t.Fatal(err)
	}
	dciodvfy(t, path)
	opts.IncludeEmptyFrames = false
	if err := WriteSEG(path, src, masks, opts); !errors.Is(err, ErrEmptySegmentation) {
		t.Errorf("all empty: %v", err)
	}
}

func TestWriteSEGInvalid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seg.dcm")
	check := func(name string, sentinel error, src []*Slice, masks [][]bool, opts SEGOptions) {
		t.Helper()
		if err := WriteSEG(path, src, masks, opts); !errors.Is(err, sentinel) {
			t.Errorf("%s: %v, want %v", name, err, sentinel)
		}
	}
	src, masks := segFixture(t)
	check("no sources", ErrInvalidSlice, nil, nil, segOptions())
	check("mask count", ErrInvalidMask, src, masks[:4], segOptions())
	short := append([][]bool{}, masks...)
	short[1] = short[1][:5]
	check("mask size", ErrInvalidMask, src, short, segOptions())

	mutated := func(i int, f func(*Slice)) []*Slice {
		out := append([]*Slice{}, src...)
		c := *out[i]
		f(&c)
		out[i] = &c
		return out
	}
	check("other study", ErrInvalidSlice, mutated(2, func(s *Slice) { s.StudyInstanceUID = NewUID() }), masks, segOptions())
	check("other frame of reference", ErrInvalidSlice, mutated(2, func(s *Slice) { s.FrameOfReferenceUID = NewUID() }), masks, segOptions())
	check("other size", ErrInvalidSlice, mutated(2, func(s *Slice) { s.Rows, s.Cols = s.Cols, s.Rows }), masks, segOptions())
	check("other spacing", ErrInvalidSlice, mutated(2, func(s *Slice) { s.PixelSpacing[0] = 2 }), masks, segOptions())
	check("duplicate instance", ErrInvalidSlice, mutated(2, func(s *Slice) { s.SOPInstanceUID = src[0].SOPInstanceUID }), masks, segOptions())
	check("same position", ErrInvalidSlice, mutated(2, func(s *Slice) { s.ImagePositionPatient = src[0].ImagePositionPatient }), masks, segOptions())
	check("bad slice", ErrInvalidSlice, mutated(2, func(s *Slice) { s.HU = s.HU[:3] }), masks, segOptions())
	check("bad source UID", ErrInvalidSlice, mutated(2, func(s *Slice) { s.SOPInstanceUID = "1.2.x" }), masks, segOptions())
	// Sources need no pixels, and UIDs with leading zeros (common in the
	// wild) are referenced as they are.
	lenient := mutated(2, func(s *Slice) { s.HU, s.SOPInstanceUID = nil, "1.2.840.0113.1" })
	if err := WriteSEG(path, lenient, masks, segOptions()); err != nil {
		t.Errorf("lenient source: %v", err)
	}
	os.Remove(path)

	for name, f := range map[string]func(*SEGOptions){
		"no label":         func(o *SEGOptions) { o.SegmentLabel = "" },
		"no algorithm":     func(o *SEGOptions) { o.AlgorithmName = "" },
		"long label":       func(o *SEGOptions) { o.SegmentLabel = strings.Repeat("x", 65) },
		"backslash":        func(o *SEGOptions) { o.Manufacturer = `a\b` },
		"content label":    func(o *SEGOptions) { o.ContentLabel = "lower case" },
		"partial code":     func(o *SEGOptions) { o.Type = Code{Value: "4147007"} },
		"bad UID":          func(o *SEGOptions) { o.SOPInstanceUID = "1..2" },
		"negative number":  func(o *SEGOptions) { o.SeriesNumber = -3 },
		"huge number":      func(o *SEGOptions) { o.InstanceNumber = 1 << 31 },
		"invalid UTF-8":    func(o *SEGOptions) { o.SeriesDescription = "\xff" },
		"long code scheme": func(o *SEGOptions) { o.Category = Code{"1", strings.Repeat("S", 17), "x"} },
	} {
		o := segOptions()
		f(&o)
		check(name, ErrInvalidOptions, src, masks, o)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestPackBits(t *testing.T) {
	got := PackBits([]bool{true, false, false, false, false, false, false, false, false, true}, []bool{true})
	if want := []byte{0x01, 0x06}; !reflect.DeepEqual(got, want) {
		t.Errorf("PackBits = %08b, want %08b", got, want)
	}
	if got := PackBits(); len(got) != 0 {
		t.Errorf("empty: %v", got)
	}
	if got := PackBits(make([]bool, 17)); len(got) != 4 {
		t.Errorf("17 bits → %d bytes, want 4 (3 padded to even)", len(got))
	}
}
