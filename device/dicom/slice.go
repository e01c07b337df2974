package dicom

import (
	"math"
	"strings"
)

// Limits on what is read and written.
const (
	// MaxRows and MaxCols bound the image size of a slice.
	MaxRows = 4096
	MaxCols = 4096
	// MaxInputBytes bounds one encoded object read by ReadCT, ReadFile and
	// ParsePayload: a 4096×4096 16-bit slice plus generous headers.
	MaxInputBytes = 64 << 20
)

// Well-known UIDs.
const (
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	ExplicitVRBigEndian    = "1.2.840.10008.1.2.2" // retired, still decodable
	CTImageStorage         = "1.2.840.10008.5.1.4.1.1.2"
	SegmentationStorage    = "1.2.840.10008.5.1.4.1.1.66.4"
)

// Slice is one CT image in Hounsfield units with the attributes the
// segmentation pipeline and the SEG writer need.
type Slice struct {
	// HU holds Rows×Cols Hounsfield units, row-major (index r*Cols+c),
	// from stored values × RescaleSlope + RescaleIntercept, rounded and
	// clamped to the int16 range.
	HU         []int16
	Rows, Cols int

	// PixelSpacing is (row spacing, column spacing) in mm: the distance
	// between the centres of adjacent rows, then adjacent columns.
	PixelSpacing            [2]float64
	ImagePositionPatient    [3]float64 // mm, centre of the first pixel
	ImageOrientationPatient [6]float64 // row direction cosines, then column
	SliceThickness          float64    // mm; 0 when the source left it empty

	SOPClassUID         string
	SOPInstanceUID      string
	SeriesInstanceUID   string
	StudyInstanceUID    string
	FrameOfReferenceUID string
	InstanceNumber      int // 0 when empty
	SeriesNumber        int // 0 when empty
	Modality            string
	SeriesDescription   string

	// Patient and study attributes, copied verbatim (DICOM formats: PN
	// "Family^Given", DA "YYYYMMDD", TM "HHMMSS"); empty when absent.
	PatientID              string
	PatientName            string
	PatientBirthDate       string
	PatientSex             string
	StudyID                string
	StudyDate              string
	StudyTime              string
	AccessionNumber        string
	ReferringPhysicianName string
}

// normal is the slice normal (row × column direction).
func (s *Slice) normal() [3]float64 {
	o := s.ImageOrientationPatient
	return [3]float64{
		o[1]*o[5] - o[2]*o[4],
		o[2]*o[3] - o[0]*o[5],
		o[0]*o[4] - o[1]*o[3],
	}
}

// validate checks what the writers rely on. A SEG source (source true)
// may lack HU and may carry UIDs that are not strictly well-formed (as
// read from real scanners); a slice written by WriteCT may not.
func (s *Slice) validate(source bool) error {
	if s == nil {
		return sliceErr("nil slice")
	}
	if s.Rows < 1 || s.Cols < 1 || s.Rows > MaxRows || s.Cols > MaxCols {
		return sliceErr("size %d×%d outside 1..%d × 1..%d", s.Rows, s.Cols, MaxRows, MaxCols)
	}
	if len(s.HU) != s.Rows*s.Cols && !(source && len(s.HU) == 0) {
		return sliceErr("len(HU) = %d, want Rows×Cols = %d", len(s.HU), s.Rows*s.Cols)
	}
	for i, v := range s.PixelSpacing {
		if !(v > 0) || math.IsInf(v, 0) {
			return sliceErr("PixelSpacing[%d] = %v, want a positive finite number", i, v)
		}
	}
	if math.IsNaN(s.SliceThickness) || math.IsInf(s.SliceThickness, 0) || s.SliceThickness < 0 {
		return sliceErr("SliceThickness = %v, want a finite number ≥ 0", s.SliceThickness)
	}
	for i, v := range s.ImagePositionPatient {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return sliceErr("ImagePositionPatient[%d] = %v is not finite", i, v)
		}
	}
	if err := checkOrientation(s.ImageOrientationPatient); err != "" {
		return sliceErr("ImageOrientationPatient %v: %s", s.ImageOrientationPatient, err)
	}
	for _, u := range []struct{ name, v string }{
		{"SOPInstanceUID", s.SOPInstanceUID},
		{"SeriesInstanceUID", s.SeriesInstanceUID},
		{"StudyInstanceUID", s.StudyInstanceUID},
		{"FrameOfReferenceUID", s.FrameOfReferenceUID},
	} {
		check := checkUID
		if source {
			check = checkUIDLenient
		}
		if err := check(u.v); err != "" {
			return sliceErr("%s %q: %s", u.name, truncate(u.v), err)
		}
	}
	if s.SOPClassUID != "" && s.SOPClassUID != CTImageStorage {
		return sliceErr("SOPClassUID %q is not CT Image Storage", s.SOPClassUID)
	}
	if s.Modality != "" && s.Modality != "CT" {
		return sliceErr("Modality %q is not CT", s.Modality)
	}
	if s.InstanceNumber < 0 || s.SeriesNumber < 0 || s.InstanceNumber > maxIS || s.SeriesNumber > maxIS {
		return sliceErr("InstanceNumber %d or SeriesNumber %d outside 0..%d", s.InstanceNumber, s.SeriesNumber, maxIS)
	}
	return nil
}

// checkOrientation wants two unit vectors that are orthogonal (within
// 1e-3, loose enough for values printed with six decimals).
func checkOrientation(o [6]float64) string {
	for _, v := range o {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "values must be finite"
		}
	}
	r := math.Sqrt(o[0]*o[0] + o[1]*o[1] + o[2]*o[2])
	c := math.Sqrt(o[3]*o[3] + o[4]*o[4] + o[5]*o[5])
	dot := o[0]*o[3] + o[1]*o[4] + o[2]*o[5]
	if math.Abs(r-1) > 1e-3 || math.Abs(c-1) > 1e-3 {
		return "direction cosines must be unit vectors"
	}
	if math.Abs(dot) > 1e-3 {
		return "row and column directions must be orthogonal"
	}
	return ""
}

// maxIS is the largest Integer String value (PS3.5 §6.2).
const maxIS = 1<<31 - 1

// checkUIDLenient accepts what ReadCT accepts: 1..64 digits and dots.
func checkUIDLenient(u string) string {
	if u == "" || len(u) > 64 || strings.Trim(u, "0123456789.") != "" {
		return "not 1..64 digits and dots"
	}
	return ""
}

// checkUID applies PS3.5 §9.1: 1..64 characters, dot-separated numeric
// components without leading zeros.
func checkUID(u string) string {
	if u == "" {
		return "empty"
	}
	if len(u) > 64 {
		return "longer than 64 characters"
	}
	for _, comp := range strings.Split(u, ".") {
		if comp == "" {
			return "empty component"
		}
		if len(comp) > 1 && comp[0] == '0' {
			return "component with a leading zero"
		}
		for _, r := range comp {
			if r < '0' || r > '9' {
				return "non-digit character"
			}
		}
	}
	return ""
}
