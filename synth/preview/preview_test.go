package preview

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lsms-edge/lsms/synth"
	"github.com/lsms-edge/lsms/synth/dataset"
)

func TestWrap(t *testing.T) {
	got := wrap("the larger of the two cysts in segment VI", 12)
	want := []string{"the larger", "of the two", "cysts in", "segment VI"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q", got)
	}
}

func TestSheet(t *testing.T) {
	out := filepath.Join(t.TempDir(), "set")
	if _, err := synth.Generate(context.Background(), synth.Config{Out: out, Cases: 2, Seed: 3, MinSlices: 3, MaxSlices: 3}, nil); err != nil {
		t.Fatal(err)
	}
	d, err := dataset.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := Pick(d.Records, 3)
	if len(recs) != 3 {
		t.Fatalf("picked %d", len(recs))
	}
	img, err := Sheet(d, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 2*512+3*margin || b.Dy() != 2*(512+9*lineH+margin)+3*margin {
		t.Fatalf("bounds %v", b)
	}
	// the target outline is drawn in the target colour
	r := recs[0]
	found := false
	for y := r.Target.BBox[1]; y <= r.Target.BBox[3] && !found; y++ {
		for x := r.Target.BBox[0]; x <= r.Target.BBox[2]; x++ {
			if img.RGBAAt(margin+x, margin+y) == targetColour {
				found = true
				break
			}
		}
	}
	if !found {
		t.Fatal("no outline in the first tile")
	}
	if _, err := Sheet(d, nil, Options{}); !errors.Is(err, ErrNoRecords) {
		t.Fatalf("empty: %v", err)
	}
}
