package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
)

// An explicit --val 0 --test 0 puts every case in train (the library reads
// a zero share as "default"; the command must not).
func TestSynthNoValTestSplits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	var o, e bytes.Buffer
	if code := run([]string{"synth", "--out", dir, "--cases", "3", "--seed", "5", "--val", "0", "--test", "0",
		"--min-slices", "2", "--max-slices", "2", "--quiet", "--json"}, &o, &e); code != 0 {
		t.Fatalf("synth: %s", e.String())
	}
	var sum struct {
		Splits map[string]struct{ Cases int }
	}
	if err := json.Unmarshal(o.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Splits) != 1 || sum.Splits["train"].Cases != 3 {
		t.Fatalf("splits %+v, want all 3 cases in train", sum.Splits)
	}
}
