package preview_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lsms-edge/lsms/synth"
	"github.com/lsms-edge/lsms/synth/dataset"
	"github.com/lsms-edge/lsms/synth/preview"
)

func ExampleSheet() {
	dir, _ := os.MkdirTemp("", "preview-example-")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "set")
	if _, err := synth.Generate(context.Background(), synth.Config{Out: out, Cases: 1, MinSlices: 2, MaxSlices: 2}, nil); err != nil {
		panic(err)
	}
	d, err := dataset.Open(out)
	if err != nil {
		panic(err)
	}
	img, err := preview.Sheet(d, preview.Pick(d.Records, 1), preview.Options{Cols: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(img.Bounds().Dx(), "x", img.Bounds().Dy())
	// Output:
	// 528 x 662
}
