package synth_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lsms-edge/lsms/synth"
	"github.com/lsms-edge/lsms/synth/dataset"
)

func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "synth-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	out := filepath.Join(dir, "set")
	sum, err := synth.Generate(context.Background(),
		synth.Config{Out: out, Cases: 2, Seed: 1, MinSlices: 3, MaxSlices: 3}, nil)
	if err != nil {
		panic(err)
	}
	d, err := dataset.Open(out)
	if err != nil {
		panic(err)
	}
	r := d.Records[0]
	im, err := d.Image(&r)
	if err != nil {
		panic(err)
	}
	fmt.Println("cases:", sum.Cases, "slices:", sum.Slices)
	fmt.Println("records match manifest:", sum.Records == len(d.Records))
	fmt.Println("first record:", r.Case, r.Split, r.Image)
	fmt.Println("slice:", im.Width, "x", im.Height, "HU, air corner:", im.At(0, 0) < -900)
	fmt.Println("orientation:", r.Geometry.ImageOrientationPatient)
	// Output:
	// cases: 2 slices: 6
	// records match manifest: true
	// first record: case_0000 train images/case_0000/s00.png
	// slice: 512 x 512 HU, air corner: true
	// orientation: [1 0 0 0 1 0]
}
