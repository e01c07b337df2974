package dicom

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	libdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// Code is a coded concept (Code Sequence Macro, PS3.3 §8.8).
type Code struct {
	Value   string // Code Value (0008,0100), e.g. "4147007"
	Scheme  string // Coding Scheme Designator (0008,0102), e.g. "SCT"
	Meaning string // Code Meaning (0008,0104), e.g. "Mass"
}

// Default codes (SNOMED CT, as in PS3.16 CID 7150/7151/7157).
var (
	CodeMorphologicallyAlteredStructure = Code{"49755003", "SCT", "Morphologically Altered Structure"}
	CodeMass                            = Code{"4147007", "SCT", "Mass"}
	CodeNeoplasm                        = Code{"108369006", "SCT", "Neoplasm"}
	CodeLiver                           = Code{"10200004", "SCT", "Liver"}
)

// SEGOptions describes the segmentation written by WriteSEG. Zero values
// get the documented defaults.
type SEGOptions struct {
	SegmentLabel       string // required, e.g. "Liver lesion" (LO)
	SegmentDescription string // optional (ST)
	AlgorithmName      string // required (LO); Segment Algorithm Type is AUTOMATIC
	AlgorithmVersion   string // Software Versions (0018,1020); default "unknown"

	Category       Code  // default CodeMorphologicallyAlteredStructure
	Type           Code  // default CodeMass
	AnatomicRegion *Code // default &CodeLiver; use &Code{} to omit

	Manufacturer          string // default "LSMS Edge"
	ManufacturerModelName string // default "LSMS Edge"
	DeviceSerialNumber    string // default "0"

	SeriesNumber       int    // default 1
	InstanceNumber     int    // default 1
	SeriesDescription  string // optional
	ContentLabel       string // CS; default "LESIONS"
	ContentDescription string // optional; default "<AlgorithmName> <AlgorithmVersion>"
	ContentCreatorName string // optional (PN)

	// SeriesInstanceUID and SOPInstanceUID of the SEG; fresh UIDs when
	// empty.
	SeriesInstanceUID string
	SOPInstanceUID    string
	// Time stamps Series/Content Date and Time; time.Now() when zero.
	Time time.Time

	// IncludeEmptyFrames writes one frame per source slice. By default
	// only slices whose mask has a foreground pixel get a frame (empty
	// frames carry no information), and a segmentation with no foreground
	// at all is ErrEmptySegmentation.
	IncludeEmptyFrames bool
}

func optErr(format string, args ...any) error {
	return fmt.Errorf("dicom: %w: "+format, append([]any{ErrInvalidOptions}, args...)...)
}

// WriteSEG writes a DICOM Segmentation (SOP class 1.2.840.10008.5.1.4.1.1.66.4)
// of one BINARY segment at path, atomically. masks[i] is the row-major
// foreground of src[i] (len Rows×Cols).
//
// All source slices must share study, frame of reference, size, pixel
// spacing, orientation and slice thickness, and have distinct SOP
// instances and positions. Frames appear in source order; Dimension Index
// Values are (segment number, rank of the frame's position along the slice
// normal). Pixel Data holds the frames' bits packed contiguously across
// frames, first pixel in the least significant bit of the first byte
// (PS3.5 §8.1.1), padded to an even length. Patient and study attributes
// are copied from src[0].
func WriteSEG(path string, src []*Slice, masks [][]bool, opts SEGOptions) error {
	ds, err := segDataset(src, masks, opts)
	if err != nil {
		return err
	}
	return writeFile(path, ds)
}

func (o *SEGOptions) defaults() error {
	if o.AlgorithmVersion == "" {
		o.AlgorithmVersion = "unknown"
	}
	if o.Category == (Code{}) {
		o.Category = CodeMorphologicallyAlteredStructure
	}
	if o.Type == (Code{}) {
		o.Type = CodeMass
	}
	if o.AnatomicRegion == nil {
		c := CodeLiver
		o.AnatomicRegion = &c
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.Manufacturer, "LSMS Edge")
	def(&o.ManufacturerModelName, "LSMS Edge")
	def(&o.DeviceSerialNumber, "0")
	def(&o.ContentLabel, "LESIONS")
	if o.ContentDescription == "" {
		d := []rune(o.AlgorithmName + " " + o.AlgorithmVersion)
		o.ContentDescription = string(d[:min(len(d), 64)])
	}
	if o.SeriesNumber == 0 {
		o.SeriesNumber = 1
	}
	if o.InstanceNumber == 0 {
		o.InstanceNumber = 1
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if o.SeriesInstanceUID == "" {
		o.SeriesInstanceUID = NewUID()
	}
	if o.SOPInstanceUID == "" {
		o.SOPInstanceUID = NewUID()
	}

	if o.SegmentLabel == "" {
		return optErr("SegmentLabel is required")
	}
	if o.AlgorithmName == "" {
		return optErr("AlgorithmName is required (Segment Algorithm Type is AUTOMATIC)")
	}
	if o.SeriesNumber < 0 || o.InstanceNumber < 0 || o.SeriesNumber > maxIS || o.InstanceNumber > maxIS {
		return optErr("SeriesNumber %d or InstanceNumber %d outside 1..%d", o.SeriesNumber, o.InstanceNumber, maxIS)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"SegmentLabel", o.SegmentLabel, 64},
		{"SegmentDescription", o.SegmentDescription, 1024},
		{"AlgorithmName", o.AlgorithmName, 64},
		{"AlgorithmVersion", o.AlgorithmVersion, 64},
		{"Manufacturer", o.Manufacturer, 64},
		{"ManufacturerModelName", o.ManufacturerModelName, 64},
		{"DeviceSerialNumber", o.DeviceSerialNumber, 64},
		{"SeriesDescription", o.SeriesDescription, 64},
		{"ContentDescription", o.ContentDescription, 64},
		{"ContentCreatorName", o.ContentCreatorName, 64},
	} {
		if msg := checkText(f.v, f.max); msg != "" {
			return optErr("%s %q: %s", f.name, truncate(f.v), msg)
		}
	}
	if len(o.ContentLabel) > 16 || strings.Trim(o.ContentLabel, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ ") != "" {
		return optErr("ContentLabel %q: want at most 16 of A-Z, 0-9, space, underscore (CS)", truncate(o.ContentLabel))
	}
	codes := []struct {
		name string
		c    Code
	}{{"Category", o.Category}, {"Type", o.Type}}
	if *o.AnatomicRegion != (Code{}) {
		codes = append(codes, struct {
			name string
			c    Code
		}{"AnatomicRegion", *o.AnatomicRegion})
	}
	for _, c := range codes {
		if c.c.Value == "" || c.c.Scheme == "" || c.c.Meaning == "" {
			return optErr("%s code %+v: value, scheme and meaning are all required", c.name, c.c)
		}
		if checkText(c.c.Value, 16) != "" || checkText(c.c.Scheme, 16) != "" || checkText(c.c.Meaning, 64) != "" {
			return optErr("%s code %+v: value and scheme must fit SH (16), meaning LO (64)", c.name, c.c)
		}
	}
	for _, u := range []struct{ name, v string }{{"SeriesInstanceUID", o.SeriesInstanceUID}, {"SOPInstanceUID", o.SOPInstanceUID}} {
		if msg := checkUID(u.v); msg != "" {
			return optErr("%s %q: %s", u.name, truncate(u.v), msg)
		}
	}
	return nil
}

// checkText rejects what a single-valued text attribute cannot hold.
func checkText(s string, max int) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	if utf8.RuneCountInString(s) > max {
		return fmt.Sprintf("longer than %d characters", max)
	}
	if strings.ContainsAny(s, "\\\x00\r\n\t") {
		return "contains a backslash or control character"
	}
	return ""
}

// checkSources validates src and masks and returns the indices of the
// frames to write.
func checkSources(src []*Slice, masks [][]bool, includeEmpty bool) ([]int, error) {
	if len(src) == 0 {
		return nil, sliceErr("no source slices")
	}
	if len(masks) != len(src) {
		return nil, fmt.Errorf("dicom: %w: %d masks for %d source slices", ErrInvalidMask, len(masks), len(src))
	}
	first := src[0]
	seen := make(map[string]int, len(src))
	var frames []int
	for i, s := range src {
		if err := s.validate(true); err != nil {
			return nil, fmt.Errorf("source slice %d: %w", i, err)
		}
		mismatch := func(what string) error {
			return sliceErr("source slice %d: %s differs from slice 0", i, what)
		}
		switch {
		case s.Rows != first.Rows || s.Cols != first.Cols:
			return nil, mismatch(fmt.Sprintf("size %d×%d", s.Rows, s.Cols))
		case s.StudyInstanceUID != first.StudyInstanceUID:
			return nil, mismatch("StudyInstanceUID")
		case s.FrameOfReferenceUID != first.FrameOfReferenceUID:
			return nil, mismatch("FrameOfReferenceUID")
		case !near(s.PixelSpacing[:], first.PixelSpacing[:], 1e-4):
			return nil, mismatch("PixelSpacing")
		case !near(s.ImageOrientationPatient[:], first.ImageOrientationPatient[:], 1e-4):
			return nil, mismatch("ImageOrientationPatient")
		case math.Abs(s.SliceThickness-first.SliceThickness) > 1e-3:
			return nil, mismatch("SliceThickness")
		}
		if j, dup := seen[s.SOPInstanceUID]; dup {
			return nil, sliceErr("source slices %d and %d share SOPInstanceUID %s", j, i, s.SOPInstanceUID)
		}
		seen[s.SOPInstanceUID] = i
		if len(masks[i]) != s.Rows*s.Cols {
			return nil, fmt.Errorf("dicom: %w: mask %d has %d pixels, want Rows×Cols = %d", ErrInvalidMask, i, len(masks[i]), s.Rows*s.Cols)
		}
		if includeEmpty || anyTrue(masks[i]) {
			frames = append(frames, i)
		}
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("dicom: %w: all %d masks are empty", ErrEmptySegmentation, len(masks))
	}
	return frames, nil
}

func near(a, b []float64, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

func anyTrue(m []bool) bool {
	for _, v := range m {
		if v {
			return true
		}
	}
	return false
}

// positionRanks returns, per frame, the 1-based rank of its position along
// the slice normal; positions closer than 1e-3 mm are duplicates.
func positionRanks(src []*Slice, frames []int) ([]int, error) {
	n := src[0].normal()
	type fp struct {
		frame int
		d     float64
	}
	ps := make([]fp, len(frames))
	for k, i := range frames {
		p := src[i].ImagePositionPatient
		ps[k] = fp{k, p[0]*n[0] + p[1]*n[1] + p[2]*n[2]}
	}
	sort.SliceStable(ps, func(a, b int) bool { return ps[a].d < ps[b].d })
	ranks := make([]int, len(frames))
	for r, p := range ps {
		if r > 0 && math.Abs(p.d-ps[r-1].d) < 1e-3 {
			return nil, sliceErr("source slices %d and %d lie at the same position along the slice normal", frames[ps[r-1].frame], frames[p.frame])
		}
		ranks[p.frame] = r + 1
	}
	return ranks, nil
}

// PackBits packs frames of row-major booleans into DICOM 1-bit Pixel Data:
// contiguous across frames, pixel k in bit k%8 (LSB first) of byte k/8,
// zero-padded to an even number of bytes.
func PackBits(frames ...[]bool) []byte {
	total := 0
	for _, f := range frames {
		total += len(f)
	}
	n := (total + 7) / 8
	out := make([]byte, n+n%2)
	k := 0
	for _, f := range frames {
		for _, v := range f {
			if v {
				out[k>>3] |= 1 << (k & 7)
			}
			k++
		}
	}
	return out
}

// code returns a code sequence item, merging errors into b.
func (b *builder) code(c Code) []*libdicom.Element {
	it := &builder{}
	it.str(tag.CodeValue, c.Value)
	it.str(tag.CodingSchemeDesignator, c.Scheme)
	it.str(tag.CodeMeaning, c.Meaning)
	return b.item(it)
}

func segDataset(src []*Slice, masks [][]bool, opts SEGOptions) (libdicom.Dataset, error) {
	if err := opts.defaults(); err != nil {
		return libdicom.Dataset{}, err
	}
	frames, err := checkSources(src, masks, opts.IncludeEmptyFrames)
	if err != nil {
		return libdicom.Dataset{}, err
	}
	ranks, err := positionRanks(src, frames)
	if err != nil {
		return libdicom.Dataset{}, err
	}
	first := src[0]
	date, clock := opts.Time.Format("20060102"), opts.Time.Format("150405")
	dimOrg := NewUID()

	b := &builder{}
	b.str(tag.ImageType, `DERIVED\PRIMARY`)
	b.str(tag.SOPClassUID, SegmentationStorage)
	b.str(tag.SOPInstanceUID, opts.SOPInstanceUID)
	b.str(tag.StudyDate, first.StudyDate)
	b.str(tag.SeriesDate, date)
	b.str(tag.ContentDate, date)
	b.str(tag.StudyTime, first.StudyTime)
	b.str(tag.SeriesTime, clock)
	b.str(tag.ContentTime, clock)
	b.str(tag.AccessionNumber, first.AccessionNumber)
	b.str(tag.Modality, "SEG")
	b.str(tag.Manufacturer, opts.Manufacturer)
	b.str(tag.ReferringPhysicianName, first.ReferringPhysicianName)
	if opts.SeriesDescription != "" {
		b.str(tag.SeriesDescription, opts.SeriesDescription)
	}
	b.str(tag.ManufacturerModelName, opts.ManufacturerModelName)
	b.patient(first)
	b.str(tag.DeviceSerialNumber, opts.DeviceSerialNumber)
	b.str(tag.SoftwareVersions, opts.AlgorithmVersion)
	b.str(tag.StudyInstanceUID, first.StudyInstanceUID)
	b.str(tag.SeriesInstanceUID, opts.SeriesInstanceUID)
	b.str(tag.StudyID, first.StudyID)
	b.str(tag.SeriesNumber, fmt.Sprint(opts.SeriesNumber))
	b.str(tag.InstanceNumber, fmt.Sprint(opts.InstanceNumber))
	b.str(tag.FrameOfReferenceUID, first.FrameOfReferenceUID)
	b.str(tag.PositionReferenceIndicator, "")

	// Common Instance Reference: the referenced instances, by series.
	var seriesOrder []string
	bySeries := map[string][][]*libdicom.Element{}
	for _, i := range frames {
		s := src[i]
		if _, ok := bySeries[s.SeriesInstanceUID]; !ok {
			seriesOrder = append(seriesOrder, s.SeriesInstanceUID)
		}
		r := &builder{}
		r.str(tag.ReferencedSOPClassUID, sopClassOf(s))
		r.str(tag.ReferencedSOPInstanceUID, s.SOPInstanceUID)
		bySeries[s.SeriesInstanceUID] = append(bySeries[s.SeriesInstanceUID], b.item(r))
	}
	var refSeries [][]*libdicom.Element
	for _, uid := range seriesOrder {
		it := &builder{}
		it.seq(tag.ReferencedInstanceSequence, bySeries[uid]...)
		it.str(tag.SeriesInstanceUID, uid)
		refSeries = append(refSeries, b.item(it))
	}
	b.seq(tag.ReferencedSeriesSequence, refSeries...)

	// Multi-frame Dimension module.
	org := &builder{}
	org.str(tag.DimensionOrganizationUID, dimOrg)
	b.seq(tag.DimensionOrganizationSequence, b.item(org))
	dim := func(index, group tag.Tag, label string) []*libdicom.Element {
		d := &builder{}
		d.str(tag.DimensionOrganizationUID, dimOrg)
		d.add(tag.DimensionIndexPointer, []int{int(index.Group), int(index.Element)})
		d.add(tag.FunctionalGroupPointer, []int{int(group.Group), int(group.Element)})
		d.str(tag.DimensionDescriptionLabel, label)
		return b.item(d)
	}
	b.seq(tag.DimensionIndexSequence,
		dim(tag.ReferencedSegmentNumber, tag.SegmentIdentificationSequence, "ReferencedSegmentNumber"),
		dim(tag.ImagePositionPatient, tag.PlanePositionSequence, "ImagePositionPatient"))

	// Image Pixel and Segmentation Image modules.
	b.us(tag.SamplesPerPixel, 1)
	b.str(tag.PhotometricInterpretation, "MONOCHROME2")
	b.str(tag.NumberOfFrames, fmt.Sprint(len(frames)))
	b.us(tag.Rows, first.Rows)
	b.us(tag.Columns, first.Cols)
	b.us(tag.BitsAllocated, 1)
	b.us(tag.BitsStored, 1)
	b.us(tag.HighBit, 0)
	b.us(tag.PixelRepresentation, 0)
	b.str(tag.LossyImageCompression, "00")
	b.str(tag.SegmentationType, "BINARY")

	seg := &builder{}
	if *opts.AnatomicRegion != (Code{}) {
		seg.seq(tag.AnatomicRegionSequence, b.code(*opts.AnatomicRegion))
	}
	seg.seq(tag.SegmentedPropertyCategoryCodeSequence, b.code(opts.Category))
	seg.us(tag.SegmentNumber, 1)
	seg.str(tag.SegmentLabel, opts.SegmentLabel)
	if opts.SegmentDescription != "" {
		seg.str(tag.SegmentDescription, opts.SegmentDescription)
	}
	seg.str(tag.SegmentAlgorithmType, "AUTOMATIC")
	seg.str(tag.SegmentAlgorithmName, opts.AlgorithmName)
	seg.seq(tag.SegmentedPropertyTypeCodeSequence, b.code(opts.Type))
	b.seq(tag.SegmentSequence, b.item(seg))

	b.str(tag.ContentLabel, opts.ContentLabel)
	b.str(tag.ContentDescription, opts.ContentDescription)
	b.str(tag.ContentCreatorName, opts.ContentCreatorName)

	// Shared functional groups: pixel measures and orientation.
	shared := &builder{}
	orient := &builder{}
	orient.ds(tag.ImageOrientationPatient, first.ImageOrientationPatient[:]...)
	shared.seq(tag.PlaneOrientationSequence, b.item(orient))
	meas := &builder{}
	meas.ds(tag.PixelSpacing, first.PixelSpacing[:]...)
	if first.SliceThickness > 0 {
		meas.ds(tag.SliceThickness, first.SliceThickness)
	}
	shared.seq(tag.PixelMeasuresSequence, b.item(meas))
	b.seq(tag.SharedFunctionalGroupsSequence, b.item(shared))

	// Per-frame functional groups.
	perFrame := make([][]*libdicom.Element, len(frames))
	bits := make([][]bool, len(frames))
	for k, i := range frames {
		s := src[i]
		bits[k] = masks[i]

		srcImg := &builder{}
		srcImg.str(tag.ReferencedSOPClassUID, sopClassOf(s))
		srcImg.str(tag.ReferencedSOPInstanceUID, s.SOPInstanceUID)
		srcImg.seq(tag.PurposeOfReferenceCodeSequence, b.code(Code{"121322", "DCM", "Source image for image processing operation"}))
		deriv := &builder{}
		deriv.seq(tag.SourceImageSequence, b.item(srcImg))
		deriv.seq(tag.DerivationCodeSequence, b.code(Code{"113076", "DCM", "Segmentation"}))

		content := &builder{}
		content.add(tag.DimensionIndexValues, []int{1, ranks[k]})
		pos := &builder{}
		pos.ds(tag.ImagePositionPatient, s.ImagePositionPatient[:]...)
		segID := &builder{}
		segID.us(tag.ReferencedSegmentNumber, 1)

		f := &builder{}
		f.seq(tag.DerivationImageSequence, b.item(deriv))
		f.seq(tag.FrameContentSequence, b.item(content))
		f.seq(tag.PlanePositionSequence, b.item(pos))
		f.seq(tag.SegmentIdentificationSequence, b.item(segID))
		perFrame[k] = b.item(f)
	}
	b.seq(tag.PerFrameFunctionalGroupsSequence, perFrame...)

	b.pixels("OB", PackBits(bits...))
	return b.dataset(SegmentationStorage, opts.SOPInstanceUID)
}

func sopClassOf(s *Slice) string {
	if s.SOPClassUID == "" {
		return CTImageStorage
	}
	return s.SOPClassUID
}
