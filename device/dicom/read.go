package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	libdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"

	"github.com/lsms-edge/lsms/device/dicom/internal/preflight"
)

// ReadFile reads a CT slice from a DICOM Part 10 file (or a bare data set;
// see ReadCT). Errors name the path.
func ReadFile(path string) (*Slice, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	s, err := ReadCT(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ReadCT reads one single-frame CT Image Storage object of size bytes
// from r and converts its pixels to Hounsfield units.
//
// The input is normally a Part 10 file (preamble, "DICM", file meta). A
// bare data set without them is accepted too: its encoding is taken to be
// the first of explicit VR little endian, implicit VR little endian and
// explicit VR big endian under which the whole input is well-formed. For
// network payloads whose transfer syntax was negotiated, use ParsePayload.
//
// size must be at most MaxInputBytes; fewer than size bytes in r is an
// ErrMalformed error.
func ReadCT(r io.Reader, size int64) (*Slice, error) {
	if r == nil {
		return nil, errors.New("dicom: ReadCT: nil reader")
	}
	if size < 0 {
		return nil, fmt.Errorf("dicom: ReadCT: negative size %d", size)
	}
	if size > MaxInputBytes {
		return nil, fmt.Errorf("dicom: %w: %d bytes exceeds MaxInputBytes (%d)", ErrTooLarge, size, MaxInputBytes)
	}
	// Pre-size for typical slices, but let a lying size cost nothing
	// beyond the bytes actually delivered.
	var buf bytes.Buffer
	buf.Grow(int(min(size, 4<<20)))
	if _, err := buf.ReadFrom(io.LimitReader(r, size)); err != nil {
		return nil, fmt.Errorf("dicom: reading input: %w", err)
	}
	data := buf.Bytes()
	if int64(len(data)) < size {
		return nil, fmt.Errorf("dicom: %w: input ended after %d of %d bytes", ErrMalformed, len(data), size)
	}
	return readBytes(data)
}

func readBytes(data []byte) (*Slice, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("dicom: %w: empty input", ErrMalformed)
	}
	if preflight.HasPreamble(data) {
		ts, at, err := preflight.Meta(data, preflight.DefaultLimits)
		if err != nil {
			return nil, fmt.Errorf("dicom: file meta: %w", preflightErr(err))
		}
		return ParsePayload(data[at:], ts)
	}
	// No preamble: infer the syntax, as the library would, but by walking
	// the whole input rather than guessing from its first 100 bytes.
	var best *preflight.Error
	var bestSyntax preflight.Syntax
	for _, c := range []struct {
		ts string
		s  preflight.Syntax
	}{
		{ExplicitVRLittleEndian, preflight.Syntax{}},
		{ImplicitVRLittleEndian, preflight.Syntax{Implicit: true}},
		{ExplicitVRBigEndian, preflight.Syntax{BigEndian: true}},
	} {
		err := preflight.Check(data, c.s, preflight.DefaultLimits, nil)
		if err == nil {
			return ParsePayload(data, c.ts)
		}
		var pe *preflight.Error
		if errors.As(err, &pe) && (best == nil || pe.Offset > best.Offset) {
			best, bestSyntax = pe, c.s
		}
	}
	if best == nil { // not reached: Check reports only *preflight.Error
		return nil, fmt.Errorf("dicom: %w: no Part 10 preamble and no decodable data set", ErrMalformed)
	}
	sentinel := ErrMalformed
	if errors.Is(best, preflight.ErrLimit) {
		sentinel = ErrTooLarge
	}
	return nil, fmt.Errorf("dicom: %w: no Part 10 preamble, and the data is not well-formed in any uncompressed syntax (as %s: %s)",
		sentinel, bestSyntax, best.Detail())
}

// ParsePayload reads one single-frame CT data set without preamble or
// file meta, as carried by a DICOM C-STORE request, encoded in the
// negotiated transferSyntaxUID. Only the uncompressed syntaxes (implicit VR
// little endian, explicit VR little and big endian) are decoded; any other
// UID is a *TransferSyntaxError.
func ParsePayload(data []byte, transferSyntaxUID string) (*Slice, error) {
	ts := strings.Trim(transferSyntaxUID, " \x00")
	syntax, err := syntaxOf(ts)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("dicom: %w: empty data set", ErrMalformed)
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("dicom: %w: %d bytes exceeds MaxInputBytes (%d)", ErrTooLarge, len(data), MaxInputBytes)
	}
	if err := preflight.Check(data, syntax, preflight.DefaultLimits, nil); err != nil {
		return nil, preflightErr(err)
	}
	ds, err := parseDataset(data, ts,
		libdicom.SkipProcessingPixelDataValue(),
		libdicom.AllowUnknownSpecificCharacterSet())
	if err != nil {
		return nil, err
	}
	bo := binary.ByteOrder(binary.LittleEndian)
	if syntax.BigEndian {
		bo = binary.BigEndian
	}
	return sliceFrom(&ds, bo)
}

func syntaxOf(ts string) (preflight.Syntax, error) {
	switch ts {
	case ImplicitVRLittleEndian:
		return preflight.Syntax{Implicit: true}, nil
	case ExplicitVRLittleEndian:
		return preflight.Syntax{}, nil
	case ExplicitVRBigEndian:
		return preflight.Syntax{BigEndian: true}, nil
	}
	return preflight.Syntax{}, transferSyntaxError(ts)
}

func preflightErr(err error) error {
	var pe *preflight.Error
	if !errors.As(err, &pe) {
		return fmt.Errorf("dicom: %w: %v", ErrMalformed, err)
	}
	sentinel := ErrMalformed
	if errors.Is(err, preflight.ErrLimit) {
		sentinel = ErrTooLarge
	}
	return fmt.Errorf("dicom: %w: %s", sentinel, pe.Detail())
}

// metaHeader builds a minimal Part 10 header announcing ts, so the
// library reads the data set in that syntax without guessing (its guess
// needs at least 100 bytes and can mis-detect).
func metaHeader(ts string) []byte {
	v := []byte(ts)
	if len(v)%2 == 1 {
		v = append(v, 0)
	}
	tsElem := binary.LittleEndian.AppendUint16(nil, 0x0002)
	tsElem = binary.LittleEndian.AppendUint16(tsElem, 0x0010)
	tsElem = append(tsElem, 'U', 'I')
	tsElem = binary.LittleEndian.AppendUint16(tsElem, uint16(len(v)))
	tsElem = append(tsElem, v...)

	h := make([]byte, 128, 128+4+12+len(tsElem))
	h = append(h, "DICM"...)
	h = append(h, 0x02, 0x00, 0x00, 0x00, 'U', 'L', 0x04, 0x00)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(tsElem)))
	return append(h, tsElem...)
}

// parseDataset runs the library on a data set that preflight accepted.
// A panic inside the library becomes an ErrMalformed error.
func parseDataset(data []byte, ts string, opts ...libdicom.ParseOption) (ds libdicom.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			ds, err = libdicom.Dataset{}, fmt.Errorf("dicom: %w: parser panic: %v", ErrMalformed, r)
		}
	}()
	h := metaHeader(ts)
	in := io.MultiReader(bytes.NewReader(h), bytes.NewReader(data))
	ds, err = libdicom.Parse(in, int64(len(h)+len(data)), nil, opts...)
	if err != nil {
		return libdicom.Dataset{}, fmt.Errorf("dicom: %w: %v", ErrMalformed, err)
	}
	return ds, nil
}

// attrs reads top-level attributes of a parsed data set.
type attrs struct{ ds *libdicom.Dataset }

func (a attrs) find(t tag.Tag) *libdicom.Element {
	e, err := a.ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return nil
	}
	return e
}

// strs returns the values of a string-typed attribute; ok is false when it
// is absent or empty.
func (a attrs) strs(t tag.Tag) (vals []string, ok bool, err error) {
	e := a.find(t)
	if e == nil {
		return nil, false, nil
	}
	v, isStr := e.Value.GetValue().([]string)
	if !isStr {
		return nil, false, attrErr(t, ErrInvalidAttribute, "VR %s is not a string VR", e.RawValueRepresentation)
	}
	if len(v) == 0 || (len(v) == 1 && strings.TrimSpace(v[0]) == "") {
		return nil, false, nil
	}
	return v, true, nil
}

// str returns a single-valued string attribute ("" when absent or empty),
// joining several values with a backslash.
func (a attrs) str(t tag.Tag) (string, error) {
	v, _, err := a.strs(t)
	return strings.TrimSpace(strings.Join(v, `\`)), err
}

func (a attrs) uid(t tag.Tag) (string, error) {
	v, ok, err := a.strs(t)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", missing(t)
	}
	if len(v) != 1 {
		return "", attrErr(t, ErrInvalidAttribute, "has %d values, want 1", len(v))
	}
	u := strings.Trim(v[0], " \x00")
	if len(u) > 64 || strings.Trim(u, "0123456789.") != "" {
		return "", attrErr(t, ErrInvalidAttribute, "%q is not a UID", truncate(u))
	}
	return u, nil
}

// decimals parses a DS (or IS) attribute with exactly n values; ok is
// false when it is absent or empty.
func (a attrs) decimals(t tag.Tag, n int) (vals []float64, ok bool, err error) {
	v, ok, err := a.strs(t)
	if err != nil || !ok {
		return nil, false, err
	}
	if len(v) != n {
		return nil, false, attrErr(t, ErrInvalidAttribute, "has %d values, want %d", len(v), n)
	}
	out := make([]float64, n)
	for i, s := range v {
		f, perr := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false, attrErr(t, ErrInvalidAttribute, "value %d %q is not a finite number", i+1, truncate(s))
		}
		out[i] = f
	}
	return out, true, nil
}

func (a attrs) requiredDecimals(t tag.Tag, n int) ([]float64, error) {
	v, ok, err := a.decimals(t, n)
	if err == nil && !ok {
		err = missing(t)
	}
	return v, err
}

// integer parses an IS attribute; 0 when absent or empty.
func (a attrs) integer(t tag.Tag) (int, bool, error) {
	v, ok, err := a.strs(t)
	if err != nil || !ok {
		return 0, false, err
	}
	if len(v) != 1 {
		return 0, false, attrErr(t, ErrInvalidAttribute, "has %d values, want 1", len(v))
	}
	n, perr := strconv.Atoi(strings.TrimSpace(v[0]))
	if perr != nil {
		return 0, false, attrErr(t, ErrInvalidAttribute, "%q is not an integer", truncate(v[0]))
	}
	return n, true, nil
}

// us returns a required single US value.
func (a attrs) us(t tag.Tag) (int, error) {
	e := a.find(t)
	if e == nil {
		return 0, missing(t)
	}
	v, isInt := e.Value.GetValue().([]int)
	if !isInt {
		return 0, attrErr(t, ErrInvalidAttribute, "VR %s is not US", e.RawValueRepresentation)
	}
	if len(v) != 1 {
		if len(v) == 0 {
			return 0, missing(t)
		}
		return 0, attrErr(t, ErrInvalidAttribute, "has %d values, want 1", len(v))
	}
	return v[0], nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// sliceFrom validates the CT attributes and converts the pixels.
func sliceFrom(ds *libdicom.Dataset, bo binary.ByteOrder) (*Slice, error) {
	a := attrs{ds}
	s := &Slice{}
	var err error
	if s.SOPClassUID, err = a.uid(tag.SOPClassUID); err != nil {
		return nil, err
	}
	if s.Modality, err = a.str(tag.Modality); err != nil {
		return nil, err
	}
	if s.SOPClassUID != CTImageStorage {
		return nil, attrErr(tag.SOPClassUID, ErrNotCT, "%s (%s), modality %q; want CT Image Storage %s",
			s.SOPClassUID, sopName(s.SOPClassUID), s.Modality, CTImageStorage)
	}
	if n, ok, err := a.integer(tag.NumberOfFrames); err != nil {
		return nil, err
	} else if ok && n != 1 {
		return nil, attrErr(tag.NumberOfFrames, ErrNotCT, "%d frames; only single-frame CT is supported", n)
	}

	// Image Pixel module.
	if s.Rows, err = a.us(tag.Rows); err != nil {
		return nil, err
	}
	if s.Cols, err = a.us(tag.Columns); err != nil {
		return nil, err
	}
	if s.Rows < 1 || s.Rows > MaxRows {
		return nil, fmt.Errorf("%w (%w)", attrErr(tag.Rows, ErrInvalidAttribute, "%d outside 1..%d", s.Rows, MaxRows), ErrTooLarge)
	}
	if s.Cols < 1 || s.Cols > MaxCols {
		return nil, fmt.Errorf("%w (%w)", attrErr(tag.Columns, ErrInvalidAttribute, "%d outside 1..%d", s.Cols, MaxCols), ErrTooLarge)
	}
	spp, err := a.us(tag.SamplesPerPixel)
	if err != nil {
		return nil, err
	}
	if spp != 1 {
		return nil, attrErr(tag.SamplesPerPixel, ErrInvalidAttribute, "%d, want 1 (grayscale)", spp)
	}
	photometric, err := a.str(tag.PhotometricInterpretation)
	if err != nil {
		return nil, err
	}
	if photometric != "MONOCHROME2" && photometric != "MONOCHROME1" {
		if photometric == "" {
			return nil, missing(tag.PhotometricInterpretation)
		}
		return nil, attrErr(tag.PhotometricInterpretation, ErrInvalidAttribute, "%q, want MONOCHROME1 or MONOCHROME2", truncate(photometric))
	}
	bitsAllocated, err := a.us(tag.BitsAllocated)
	if err != nil {
		return nil, err
	}
	if bitsAllocated != 16 {
		return nil, attrErr(tag.BitsAllocated, ErrInvalidAttribute, "%d, want 16", bitsAllocated)
	}
	bitsStored, err := a.us(tag.BitsStored)
	if err != nil {
		return nil, err
	}
	if bitsStored < 1 || bitsStored > 16 {
		return nil, attrErr(tag.BitsStored, ErrInvalidAttribute, "%d outside 1..16", bitsStored)
	}
	highBit, err := a.us(tag.HighBit)
	if err != nil {
		return nil, err
	}
	if highBit != bitsStored-1 {
		return nil, attrErr(tag.HighBit, ErrInvalidAttribute, "%d, want BitsStored-1 = %d", highBit, bitsStored-1)
	}
	pixelRep, err := a.us(tag.PixelRepresentation)
	if err != nil {
		return nil, err
	}
	if pixelRep != 0 && pixelRep != 1 {
		return nil, attrErr(tag.PixelRepresentation, ErrInvalidAttribute, "%d, want 0 or 1", pixelRep)
	}
	slope, err := a.requiredDecimals(tag.RescaleSlope, 1)
	if err != nil {
		return nil, err
	}
	if slope[0] == 0 {
		return nil, attrErr(tag.RescaleSlope, ErrInvalidAttribute, "slope 0")
	}
	intercept, err := a.requiredDecimals(tag.RescaleIntercept, 1)
	if err != nil {
		return nil, err
	}

	// Image Plane module.
	ps, err := a.requiredDecimals(tag.PixelSpacing, 2)
	if err != nil {
		return nil, err
	}
	if !(ps[0] > 0 && ps[1] > 0) {
		return nil, attrErr(tag.PixelSpacing, ErrInvalidAttribute, "%v, want positive values", ps)
	}
	copy(s.PixelSpacing[:], ps)
	ipp, err := a.requiredDecimals(tag.ImagePositionPatient, 3)
	if err != nil {
		return nil, err
	}
	copy(s.ImagePositionPatient[:], ipp)
	iop, err := a.requiredDecimals(tag.ImageOrientationPatient, 6)
	if err != nil {
		return nil, err
	}
	copy(s.ImageOrientationPatient[:], iop)
	if msg := checkOrientation(s.ImageOrientationPatient); msg != "" {
		return nil, attrErr(tag.ImageOrientationPatient, ErrInvalidAttribute, "%v: %s", iop, msg)
	}
	if th, ok, err := a.decimals(tag.SliceThickness, 1); err != nil {
		return nil, err
	} else if ok {
		if th[0] < 0 {
			return nil, attrErr(tag.SliceThickness, ErrInvalidAttribute, "%v is negative", th[0])
		}
		s.SliceThickness = th[0]
	}

	// Identification.
	for _, u := range []struct {
		t   tag.Tag
		dst *string
	}{
		{tag.SOPInstanceUID, &s.SOPInstanceUID},
		{tag.SeriesInstanceUID, &s.SeriesInstanceUID},
		{tag.StudyInstanceUID, &s.StudyInstanceUID},
		{tag.FrameOfReferenceUID, &s.FrameOfReferenceUID},
	} {
		if *u.dst, err = a.uid(u.t); err != nil {
			return nil, err
		}
	}
	if s.InstanceNumber, _, err = a.integer(tag.InstanceNumber); err != nil {
		return nil, err
	}
	if s.SeriesNumber, _, err = a.integer(tag.SeriesNumber); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		t   tag.Tag
		dst *string
	}{
		{tag.SeriesDescription, &s.SeriesDescription},
		{tag.PatientID, &s.PatientID},
		{tag.PatientName, &s.PatientName},
		{tag.PatientBirthDate, &s.PatientBirthDate},
		{tag.PatientSex, &s.PatientSex},
		{tag.StudyID, &s.StudyID},
		{tag.StudyDate, &s.StudyDate},
		{tag.StudyTime, &s.StudyTime},
		{tag.AccessionNumber, &s.AccessionNumber},
		{tag.ReferringPhysicianName, &s.ReferringPhysicianName},
	} {
		if *f.dst, err = a.str(f.t); err != nil {
			return nil, err
		}
	}

	// Pixel Data.
	raw, err := pixelBytes(a)
	if err != nil {
		return nil, err
	}
	n := s.Rows * s.Cols
	if len(raw) != 2*n {
		return nil, fmt.Errorf("dicom: %w: Pixel Data (7FE0,0010) has %d bytes, want Rows×Columns×2 = %d×%d×2 = %d",
			ErrPixelDataLength, len(raw), s.Rows, s.Cols, 2*n)
	}
	s.HU = toHU(raw, bo, bitsStored, pixelRep == 1, slope[0], intercept[0])
	return s, nil
}

func pixelBytes(a attrs) ([]byte, error) {
	e := a.find(tag.PixelData)
	if e == nil {
		return nil, missing(tag.PixelData)
	}
	info, ok := e.Value.GetValue().(libdicom.PixelDataInfo)
	if !ok {
		return nil, attrErr(tag.PixelData, ErrInvalidAttribute, "not pixel data")
	}
	if info.IsEncapsulated {
		return nil, attrErr(tag.PixelData, ErrInvalidAttribute, "encapsulated (compressed) pixel data in an uncompressed transfer syntax")
	}
	if !info.IntentionallyUnprocessed {
		return nil, attrErr(tag.PixelData, ErrInvalidAttribute, "pixel data was not read")
	}
	return info.UnprocessedValueData, nil
}

// toHU converts stored 16-bit values (the low bitsStored bits, two's
// complement when signed) to rounded, clamped Hounsfield units. The library
// would hand these back as []uint16 whatever PixelRepresentation says; we
// decode the bytes ourselves.
func toHU(raw []byte, bo binary.ByteOrder, bitsStored int, signed bool, slope, intercept float64) []int16 {
	n := len(raw) / 2
	hu := make([]int16, n)
	mask := uint32(1)<<bitsStored - 1
	sign := uint32(1) << (bitsStored - 1)
	stored := func(i int) int32 {
		v := uint32(bo.Uint16(raw[2*i:])) & mask
		if signed && v&sign != 0 {
			return int32(v) - int32(mask) - 1
		}
		return int32(v)
	}
	if slope == 1 && intercept == math.Trunc(intercept) && math.Abs(intercept) < 1<<20 {
		off := int32(intercept)
		for i := range hu {
			hu[i] = clamp16(float64(stored(i) + off))
		}
		return hu
	}
	for i := range hu {
		hu[i] = clamp16(math.Round(float64(stored(i))*slope + intercept))
	}
	return hu
}

func clamp16(v float64) int16 {
	switch {
	case v < math.MinInt16:
		return math.MinInt16
	case v > math.MaxInt16:
		return math.MaxInt16
	}
	return int16(v)
}

func sopName(u string) string {
	if info, err := uid.Lookup(u); err == nil {
		return info.Name
	}
	return "unknown SOP class"
}
