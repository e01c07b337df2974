package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestSynthCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	var out, errb bytes.Buffer
	if code := run([]string{"synth", "--out", dir, "--cases", "2", "--seed", "5", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var sum struct {
		Cases, Slices, Records int
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Cases != 2 || sum.Slices == 0 || sum.Records == 0 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(errb.String(), "synth cases 2/2") {
		t.Errorf("no progress on stderr: %q", errb.String())
	}
	// A second run into the same folder is refused without --overwrite.
	errb.Reset()
	if code := run([]string{"synth", "--out", dir, "--cases", "2", "--quiet"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errb.String())
	}
	if code := run([]string{"synth"}, &out, &errb); code != 2 {
		t.Fatalf("no --out: exit %d", code)
	}
}
