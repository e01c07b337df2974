package dataset_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/lsms-edge/lsms/synth/dataset"
)

func ExampleReadManifest() {
	line := `{"case":"case_0007","case_index":7,"split":"val","slice_index":2,"slice_count":9,` +
		`"image":"images/case_0007/s02.png","mask":"masks/case_0007/s02_l1.png","rows":512,"columns":512,` +
		`"pixel_spacing_mm":[0.75,0.75],"hu_offset":32768,"geometry":{"image_position_patient":[-191.625,-191.625,-140],` +
		`"image_orientation_patient":[1,0,0,0,1,0],"slice_thickness_mm":5,"spacing_between_slices_mm":5,"slice_location_mm":-140},` +
		`"landmarks":{"gallbladder_fossa":[-40,-60,-170],"ivc":[-25,10,-140]},"target_id":1,` +
		`"target":{"id":1,"type":"cyst","segment":"VI","lobe":"right","diameter_mm":12.5,"short_axis_mm":11,"area_px":210,` +
		`"area_mm2":118.1,"diameter_3d_mm":13,"centroid_px":[120,300],"centroid_patient_mm":[-101.6,33.4,-140],` +
		`"bbox_px":[113,293,128,308],"shape":"round","boundary":"clear","density":"low","ring_enhancement":false},` +
		`"lesions":[{"id":1,"type":"cyst","segment":"VI","lobe":"right","diameter_mm":12.5,"short_axis_mm":11,"area_px":210,` +
		`"area_mm2":118.1,"diameter_3d_mm":13,"centroid_px":[120,300],"centroid_patient_mm":[-101.6,33.4,-140],` +
		`"bbox_px":[113,293,128,308],"shape":"round","boundary":"clear","density":"low","ring_enhancement":false}],` +
		`"expressions":[{"level":"quarter","text":"A cyst in segment VI.","attributes":["type","segment"]}]}`
	recs, err := dataset.ReadManifest(strings.NewReader(line + "\n"))
	if err != nil {
		panic(err)
	}
	r := recs[0]
	fmt.Println(r.Case, r.Split, r.Target.Type, r.Target.Segment, r.Target.DiameterMM)
	fmt.Println(r.Expressions[0].Level+":", r.Expressions[0].Text)

	// A malformed line is reported with its number.
	_, err = dataset.ReadManifest(strings.NewReader(line + "\n{\"case\": \n"))
	var le *dataset.LineError
	fmt.Println(errors.As(err, &le), le.Line)
	// Output:
	// case_0007 val cyst VI 12.5
	// quarter: A cyst in segment VI.
	// true 2
}

func ExampleDecodeHU() {
	var buf bytes.Buffer
	hu := []int16{-1000, -100, 50, 1200}
	if err := dataset.EncodeHU(&buf, hu, 2, 2, dataset.HUOffset); err != nil {
		panic(err)
	}
	im, err := dataset.DecodeHU(&buf, dataset.HUOffset)
	if err != nil {
		panic(err)
	}
	fmt.Println(im.Width, im.Height, im.HU)
	// Output:
	// 2 2 [-1000 -100 50 1200]
}
