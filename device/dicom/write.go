package dicom

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	libdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// WriteCT writes s as a CT Image Storage Part 10 file (explicit VR little
// endian) at path, atomically: a temporary file in the same directory is
// written, synced and renamed over path.
//
// Pixels are stored as signed 16-bit values equal to the HU (Rescale
// Slope 1, Rescale Intercept 0). s must carry its four UIDs (NewUID or
// Series fill them); empty patient and study attributes are written as
// empty type 2 attributes. Manufacturer is "LSMS Edge" and Image Type
// DERIVED\SECONDARY\AXIAL: these files are synthetic.
func WriteCT(path string, s *Slice) error {
	if err := s.validate(false); err != nil {
		return err
	}
	ds, err := ctDataset(s)
	if err != nil {
		return err
	}
	return writeFile(path, ds)
}

func ctDataset(s *Slice) (libdicom.Dataset, error) {
	b := &builder{}
	b.str(tag.ImageType, `DERIVED\SECONDARY\AXIAL`)
	b.str(tag.SOPClassUID, CTImageStorage)
	b.str(tag.SOPInstanceUID, s.SOPInstanceUID)
	b.str(tag.StudyDate, s.StudyDate)
	b.str(tag.StudyTime, s.StudyTime)
	b.str(tag.AccessionNumber, s.AccessionNumber)
	b.str(tag.Modality, "CT")
	b.str(tag.Manufacturer, "LSMS Edge")
	b.str(tag.ReferringPhysicianName, s.ReferringPhysicianName)
	if s.SeriesDescription != "" {
		b.str(tag.SeriesDescription, s.SeriesDescription)
	}
	b.patient(s)
	b.str(tag.BodyPartExamined, "ABDOMEN")
	b.str(tag.SliceThickness, optDS(s.SliceThickness))
	b.str(tag.KVP, "")
	b.str(tag.PatientPosition, "")
	b.str(tag.StudyInstanceUID, s.StudyInstanceUID)
	b.str(tag.SeriesInstanceUID, s.SeriesInstanceUID)
	b.str(tag.StudyID, s.StudyID)
	b.str(tag.SeriesNumber, optIS(s.SeriesNumber))
	b.str(tag.AcquisitionNumber, "")
	b.str(tag.InstanceNumber, optIS(s.InstanceNumber))
	b.ds(tag.ImagePositionPatient, s.ImagePositionPatient[:]...)
	b.ds(tag.ImageOrientationPatient, s.ImageOrientationPatient[:]...)
	b.str(tag.FrameOfReferenceUID, s.FrameOfReferenceUID)
	b.str(tag.PositionReferenceIndicator, "")
	n := s.normal()
	b.ds(tag.SliceLocation, n[0]*s.ImagePositionPatient[0]+n[1]*s.ImagePositionPatient[1]+n[2]*s.ImagePositionPatient[2])
	b.us(tag.SamplesPerPixel, 1)
	b.str(tag.PhotometricInterpretation, "MONOCHROME2")
	b.us(tag.Rows, s.Rows)
	b.us(tag.Columns, s.Cols)
	b.ds(tag.PixelSpacing, s.PixelSpacing[:]...)
	b.us(tag.BitsAllocated, 16)
	b.us(tag.BitsStored, 16)
	b.us(tag.HighBit, 15)
	b.us(tag.PixelRepresentation, 1)
	b.str(tag.WindowCenter, "40")
	b.str(tag.WindowWidth, "400")
	b.str(tag.RescaleIntercept, "0")
	b.str(tag.RescaleSlope, "1")
	pix := make([]byte, 2*len(s.HU))
	for i, v := range s.HU {
		binary.LittleEndian.PutUint16(pix[2*i:], uint16(v))
	}
	b.pixels("OW", pix)
	return b.dataset(CTImageStorage, s.SOPInstanceUID)
}

// builder collects elements and the first error.
type builder struct {
	elems []*libdicom.Element
	err   error
	utf8  bool // a non-ASCII string was added
}

func (b *builder) add(t tag.Tag, v any) {
	if b.err != nil {
		return
	}
	e, err := libdicom.NewElement(t, v)
	if err != nil {
		b.err = fmt.Errorf("dicom: building (%04X,%04X): %w", t.Group, t.Element, err)
		return
	}
	b.elems = append(b.elems, e)
}

// str adds a string attribute; backslashes separate values.
func (b *builder) str(t tag.Tag, v string) {
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			b.utf8 = true
			break
		}
	}
	b.add(t, strings.Split(v, `\`))
}

func (b *builder) us(t tag.Tag, v ...int) { b.add(t, v) }

func (b *builder) ds(t tag.Tag, v ...float64) {
	s := make([]string, len(v))
	for i, f := range v {
		s[i] = formatDS(f)
	}
	b.add(t, s)
}

// seq adds a sequence; each item is a list of elements (sorted here).
func (b *builder) seq(t tag.Tag, items ...[]*libdicom.Element) {
	for _, it := range items {
		sortElements(it)
	}
	b.add(t, items)
}

// item returns the elements of a nested builder, merging its error.
func (b *builder) item(sub *builder) []*libdicom.Element {
	if sub.err != nil && b.err == nil {
		b.err = sub.err
	}
	b.utf8 = b.utf8 || sub.utf8
	return sub.elems
}

// pixels adds Pixel Data with the given VR and raw (already encoded)
// bytes, bypassing the library's pixel encoder.
func (b *builder) pixels(vr string, raw []byte) {
	if len(raw)%2 == 1 {
		raw = append(raw, 0)
	}
	v, err := libdicom.NewValue(libdicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: raw})
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return
	}
	b.elems = append(b.elems, &libdicom.Element{
		Tag:                    tag.PixelData,
		ValueRepresentation:    tag.VRPixelData,
		RawValueRepresentation: vr,
		Value:                  v,
	})
}

func (b *builder) patient(s *Slice) {
	b.str(tag.PatientName, s.PatientName)
	b.str(tag.PatientID, s.PatientID)
	b.str(tag.PatientBirthDate, s.PatientBirthDate)
	b.str(tag.PatientSex, s.PatientSex)
}

// dataset sorts the elements, adds the file meta and, when needed,
// Specific Character Set ISO_IR 192 (UTF-8).
func (b *builder) dataset(sopClass, sopInstance string) (libdicom.Dataset, error) {
	if b.utf8 {
		b.str(tag.SpecificCharacterSet, "ISO_IR 192")
	}
	if b.err != nil {
		return libdicom.Dataset{}, b.err
	}
	sortElements(b.elems)
	m := &builder{}
	m.add(tag.FileMetaInformationVersion, []byte{0x00, 0x01})
	m.str(tag.MediaStorageSOPClassUID, sopClass)
	m.str(tag.MediaStorageSOPInstanceUID, sopInstance)
	m.str(tag.TransferSyntaxUID, ExplicitVRLittleEndian)
	m.str(tag.ImplementationClassUID, ImplementationClassUID)
	m.str(tag.ImplementationVersionName, ImplementationVersionName)
	if m.err != nil {
		return libdicom.Dataset{}, m.err
	}
	return libdicom.Dataset{Elements: append(m.elems, b.elems...)}, nil
}

// sortElements orders by tag: the library writes elements in the order
// given, and DICOM requires ascending tags.
func sortElements(es []*libdicom.Element) {
	slices.SortStableFunc(es, func(a, b *libdicom.Element) int {
		if c := cmp.Compare(a.Tag.Group, b.Tag.Group); c != 0 {
			return c
		}
		return cmp.Compare(a.Tag.Element, b.Tag.Element)
	})
}

// formatDS renders a DS value in at most 16 characters.
func formatDS(f float64) string {
	if f == 0 {
		return "0"
	}
	for prec := 16; prec > 0; prec-- {
		s := strconv.FormatFloat(f, 'g', prec, 64)
		if len(s) <= 16 {
			// Trim "g" artefacts like "1.500000" are not produced by 'g';
			// nothing else to do.
			return s
		}
	}
	return strconv.FormatFloat(f, 'g', 1, 64)
}

func optDS(f float64) string {
	if f == 0 || math.IsNaN(f) {
		return ""
	}
	return formatDS(f)
}

func optIS(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// writeFile encodes ds and writes it atomically to path.
func writeFile(path string, ds libdicom.Dataset) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		if err := libdicom.Write(w, ds); err != nil {
			return fmt.Errorf("dicom: encoding: %w", err)
		}
		return nil
	})
}

// writeFileAtomic writes through fill into a temporary file next to path,
// syncs it and renames it to path; on error nothing is left behind.
func writeFileAtomic(path string, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err = fill(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}
