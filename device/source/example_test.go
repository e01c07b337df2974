package source_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/lsms-edge/lsms/device/ring"
	"github.com/lsms-edge/lsms/device/source"
)

func ExampleFolder() {
	dir, err := os.MkdirTemp("", "inbox")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	r, err := ring.New(8, 1<<20, ring.Block)
	if err != nil {
		log.Fatal(err)
	}
	f := &source.Folder{Dir: dir, Sink: source.RingSink(r, "inbox"), StableTicks: 1}
	ctx := context.Background()

	// A scanner drops a file, with a sidecar saying it is complete.
	os.WriteFile(filepath.Join(dir, "slice-001.dcm"), []byte("DICM..."), 0o644)
	os.WriteFile(filepath.Join(dir, "slice-001.dcm.done"), nil, 0o644)
	n, err := f.Poll(ctx) // Run(ctx) polls every Interval
	fmt.Println(n, err)

	s, _ := r.Next(ctx)
	fmt.Println(s.Meta.Source, s.Meta.Name, string(s.Data))
	r.Release(s)
	_, err = os.Stat(filepath.Join(dir, source.ProcessedDir, "slice-001.dcm"))
	fmt.Println("moved to .processed:", err == nil)
	// Output:
	// 1 <nil>
	// inbox slice-001.dcm DICM...
	// moved to .processed: true
}
