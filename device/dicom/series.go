package dicom

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Series hands out consistent metadata for the slices of one synthetic CT
// series: shared study, series and frame-of-reference UIDs, instance
// numbers 1..N and positions stepping SliceSpacing mm along the slice
// normal.
type Series struct {
	StudyInstanceUID    string
	SeriesInstanceUID   string
	FrameOfReferenceUID string
	SeriesNumber        int
	SeriesDescription   string

	PatientID, PatientName string
	StudyID                string
	StudyDate, StudyTime   string // DA "YYYYMMDD", TM "HHMMSS"

	Rows, Cols   int
	PixelSpacing [2]float64 // (row, column) mm
	// SliceSpacing is both the distance between consecutive slice
	// positions and the slice thickness, in mm.
	SliceSpacing float64
	Origin       [3]float64 // ImagePositionPatient of slice 0
	Orientation  [6]float64 // ImageOrientationPatient
}

// NewSeries returns a series of rows×cols axial slices with fresh UIDs,
// today's study date, 0.8 mm pixels, 5 mm slices and the image centred on
// the patient z axis.
func NewSeries(rows, cols int) *Series {
	const ps = 0.8
	now := time.Now()
	return &Series{
		StudyDate:           now.Format("20060102"),
		StudyTime:           now.Format("150405"),
		StudyInstanceUID:    NewUID(),
		SeriesInstanceUID:   NewUID(),
		FrameOfReferenceUID: NewUID(),
		SeriesNumber:        1,
		SeriesDescription:   "LSMS synthetic CT",
		PatientID:           "LSMS-SYNTH",
		PatientName:         "Synthetic^Phantom",
		StudyID:             "1",
		Rows:                rows,
		Cols:                cols,
		PixelSpacing:        [2]float64{ps, ps},
		SliceSpacing:        5,
		Origin:              [3]float64{-ps * float64(cols-1) / 2, -ps * float64(rows-1) / 2, 0},
		Orientation:         [6]float64{1, 0, 0, 0, 1, 0},
	}
}

// Slice returns slice index (0-based) of the series holding hu (not
// copied), with a fresh SOP Instance UID, Instance Number index+1 and
// position Origin + index×SliceSpacing×normal.
func (sr *Series) Slice(index int, hu []int16) (*Slice, error) {
	if index < 0 {
		return nil, sliceErr("negative slice index %d", index)
	}
	s := &Slice{
		HU:                      hu,
		Rows:                    sr.Rows,
		Cols:                    sr.Cols,
		PixelSpacing:            sr.PixelSpacing,
		ImageOrientationPatient: sr.Orientation,
		SliceThickness:          sr.SliceSpacing,
		SOPClassUID:             CTImageStorage,
		SOPInstanceUID:          NewUID(),
		SeriesInstanceUID:       sr.SeriesInstanceUID,
		StudyInstanceUID:        sr.StudyInstanceUID,
		FrameOfReferenceUID:     sr.FrameOfReferenceUID,
		InstanceNumber:          index + 1,
		SeriesNumber:            sr.SeriesNumber,
		Modality:                "CT",
		SeriesDescription:       sr.SeriesDescription,
		PatientID:               sr.PatientID,
		PatientName:             sr.PatientName,
		StudyID:                 sr.StudyID,
		StudyDate:               sr.StudyDate,
		StudyTime:               sr.StudyTime,
	}
	n := s.normal()
	for k := range 3 {
		s.ImagePositionPatient[k] = sr.Origin[k] + float64(index)*sr.SliceSpacing*n[k]
	}
	if err := s.validate(false); err != nil {
		return nil, err
	}
	return s, nil
}

// Write writes one CT file per element of volume (each Rows×Cols HU,
// row-major) into dir (created if needed) as CT0001.dcm, CT0002.dcm, …
// and returns the slices written, in order.
func (sr *Series) Write(dir string, volume [][]int16) ([]*Slice, error) {
	if len(volume) == 0 {
		return nil, sliceErr("empty volume")
	}
	if len(volume) > 9999 {
		return nil, sliceErr("%d slices; at most 9999 per series", len(volume))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := make([]*Slice, len(volume))
	for i, hu := range volume {
		s, err := sr.Slice(i, hu)
		if err != nil {
			return nil, fmt.Errorf("slice %d: %w", i, err)
		}
		if err := WriteCT(filepath.Join(dir, fmt.Sprintf("CT%04d.dcm", i+1)), s); err != nil {
			return nil, fmt.Errorf("slice %d: %w", i, err)
		}
		out[i] = s
	}
	return out, nil
}
