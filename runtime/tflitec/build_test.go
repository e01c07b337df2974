package tflitec

import (
	"os"
	"os/exec"
	"testing"
)

// TestBuildWithoutCgo compiles the binding with CGO_ENABLED=0 for
// linux/arm64 (the boards' target) and linux/arm (GOARM=7): no C toolchain
// is involved, purego supplies dlopen. (Running the tests under
// CGO_ENABLED=0 exercises the calls themselves; see the Makefile.)
func TestBuildWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles; skipped with -short")
	}
	for _, env := range [][]string{{"GOARCH=arm64"}, {"GOARCH=arm", "GOARM=7"}} {
		cmd := exec.Command(goTool(), "build", ".")
		cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux"), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("CGO_ENABLED=0 GOOS=linux %v go build: %v\n%s", env, err, out)
		}
	}
}
