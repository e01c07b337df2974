package dicom_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/lsms-edge/lsms/device/dicom"
)

// Write a synthetic two-slice CT series, read a slice back, and write a
// segmentation of everything above 100 HU.
func Example() {
	dir, err := os.MkdirTemp("", "dicom-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	sr := dicom.NewSeries(4, 4)
	volume := make([][]int16, 2)
	for z := range volume {
		volume[z] = make([]int16, 16)
		for i := range volume[z] {
			volume[z][i] = int16(-1000 + 150*i + 10*z)
		}
	}
	slices, err := sr.Write(dir, volume)
	if err != nil {
		log.Fatal(err)
	}

	s, err := dicom.ReadFile(filepath.Join(dir, "CT0002.dcm"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Rows, s.Cols, s.InstanceNumber, s.ImagePositionPatient, s.HU[:3])

	masks := make([][]bool, len(slices))
	for z, sl := range slices {
		masks[z] = make([]bool, len(sl.HU))
		for i, hu := range sl.HU {
			masks[z][i] = hu > 100
		}
	}
	err = dicom.WriteSEG(filepath.Join(dir, "seg.dcm"), slices, masks, dicom.SEGOptions{
		SegmentLabel:     "Liver lesion",
		AlgorithmName:    "threshold",
		AlgorithmVersion: "1",
	})
	fmt.Println("SEG written:", err == nil)
	// Output:
	// 4 4 2 [-1.2 -1.2 5] [-990 -840 -690]
	// SEG written: true
}

func ExampleReadFile() {
	s, err := dicom.ReadFile("testdata/CT_small.dcm")
	if err != nil {
		log.Fatal(err)
	}
	lo, hi := s.HU[0], s.HU[0]
	for _, v := range s.HU {
		lo, hi = min(lo, v), max(hi, v)
	}
	fmt.Printf("%d×%d, %.6f mm pixels, HU %d..%d\n", s.Rows, s.Cols, s.PixelSpacing[0], lo, hi)
	// Output:
	// 128×128, 0.661468 mm pixels, HU -896..1167
}

func ExampleParsePayload() {
	_, err := dicom.ParsePayload([]byte{ /* a C-STORE data set */ }, "1.2.840.10008.1.2.4.50")
	fmt.Println(errors.Is(err, dicom.ErrUnsupportedTransferSyntax))
	var te *dicom.TransferSyntaxError
	if errors.As(err, &te) {
		fmt.Println(te.UID, te.Name)
	}
	// Output:
	// true
	// 1.2.840.10008.1.2.4.50 JPEG Baseline (Process 1)
}
