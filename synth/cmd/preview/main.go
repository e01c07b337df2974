// Command preview renders a contact sheet of a synthetic liver-lesion
// dataset (docs/synth-samples.png): slices in a W400/L40 window, the
// target lesion outlined in red, other lesions on the slice marked in
// blue, and the record's expressions underneath.
//
//	go run ./synth/cmd/preview                       # generate 12 cases in a temp folder
//	go run ./synth/cmd/preview -data out/synth -n 6  # use an existing set
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lsms-edge/lsms/synth"
	"github.com/lsms-edge/lsms/synth/dataset"
	"github.com/lsms-edge/lsms/synth/preview"
)

func main() {
	data := flag.String("data", "", "dataset folder (default: generate one in a temporary folder)")
	cases := flag.Int("cases", 12, "cases to generate when -data is empty")
	seed := flag.Uint64("seed", 1, "seed when generating")
	n := flag.Int("n", 4, "tiles")
	out := flag.String("out", "docs/synth-samples.png", "output PNG")
	flag.Parse()
	if err := run(*data, *cases, *seed, *n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "preview:", err)
		os.Exit(1)
	}
}

func run(data string, cases int, seed uint64, n int, out string) error {
	if data == "" {
		tmp, err := os.MkdirTemp("", "synth-preview-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		data = filepath.Join(tmp, "set")
		if _, err := synth.Generate(context.Background(), synth.Config{Out: data, Cases: cases, Seed: seed}, nil); err != nil {
			return err
		}
	}
	d, err := dataset.Open(data)
	if err != nil {
		return err
	}
	img, err := preview.Sheet(d, preview.Pick(d.Records, n), preview.Options{})
	if err != nil {
		return err
	}
	b, err := preview.EncodePNG(img)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := synth.WriteFileAtomic(out, b); err != nil {
		return err
	}
	fmt.Println("wrote", out)
	return nil
}
