package dicom

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/lsms-edge/lsms/device/dicom/internal/preflight"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// split returns the data set of a Part 10 file and its transfer syntax.
func split(t testing.TB, file []byte) (payload []byte, ts string) {
	t.Helper()
	ts, at, err := preflight.Meta(file, preflight.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return file[at:], ts
}

// topLevel lists the depth-0 elements of an explicit VR little endian
// data set, in order.
func topLevel(t testing.TB, payload []byte) []preflight.Element {
	t.Helper()
	var out []preflight.Element
	err := preflight.Check(payload, preflight.Syntax{}, preflight.DefaultLimits, func(e preflight.Element) {
		if e.Depth == 0 {
			out = append(out, e)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func find(t testing.TB, payload []byte, tg tag.Tag) preflight.Element {
	t.Helper()
	for _, e := range topLevel(t, payload) {
		if e.Tag == tg {
			return e
		}
	}
	t.Fatalf("no element %v", tg)
	return preflight.Element{}
}

// without returns payload minus the top-level element tg.
func without(t testing.TB, payload []byte, tg tag.Tag) []byte {
	e := find(t, payload, tg)
	out := append([]byte{}, payload[:e.Offset]...)
	return append(out, payload[e.Next:]...)
}

// withValue returns payload with the value of the top-level element tg
// (explicit VR, short length form) replaced by v.
func withValue(t testing.TB, payload []byte, tg tag.Tag, v []byte) []byte {
	t.Helper()
	e := find(t, payload, tg)
	if e.ValueAt-e.Offset != 8 || len(v) > 0xFFFE {
		t.Fatalf("withValue: %v is not a short explicit element", tg)
	}
	out := append([]byte{}, payload[:e.ValueAt-2]...)
	out = append(out, byte(len(v)), byte(len(v)>>8))
	out = append(out, v...)
	return append(out, payload[e.Next:]...)
}

// pixelDataOf returns the raw Pixel Data value of a Part 10 file written
// in explicit VR little endian, found by our own walk (not the library).
func pixelDataOf(t testing.TB, file []byte) []byte {
	t.Helper()
	payload, ts := split(t, file)
	if ts != ExplicitVRLittleEndian {
		t.Fatalf("transfer syntax %s", ts)
	}
	e := find(t, payload, tag.PixelData)
	return payload[e.ValueAt:e.Next]
}

// unpackBits is the test's independent 1-bit decoder: pixel k is bit k%8
// (LSB first) of byte k/8.
func unpackBits(data []byte, n int) []bool {
	out := make([]bool, n)
	for k := range out {
		out[k] = data[k/8]>>(k%8)&1 == 1
	}
	return out
}

// tool returns the path of an external DICOM tool, skipping the test when
// it is missing unless LSMS_REQUIRE_DICOM_TOOLS=1.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LSMS_REQUIRE_DICOM_TOOLS") == "1" {
			t.Fatalf("%s not found (Debian package %s) and LSMS_REQUIRE_DICOM_TOOLS=1", name, pkg)
		}
		t.Skipf("%s not installed (Debian package %s); set LSMS_REQUIRE_DICOM_TOOLS=1 to require it", name, pkg)
	}
	return p
}

// dciodvfy runs dicom3tools' IOD validator in a subtest (skipped when
// the tool is missing) that fails on any "Error" line and logs warnings.
func dciodvfy(t *testing.T, path string) {
	t.Helper()
	t.Run("dciodvfy", func(t *testing.T) {
		bin := tool(t, "dciodvfy", "dicom3tools")
		out, err := exec.Command(bin, path).CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			switch {
			case strings.HasPrefix(line, "Error"):
				t.Errorf("%s: %s", filepath.Base(path), line)
			case strings.HasPrefix(line, "Warning"):
				t.Logf("%s: %s", filepath.Base(path), line)
			}
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", filepath.Base(path), err, out)
		}
	})
}

// dcmdump runs DCMTK's dcmdump (stop on error, no data correction) in a
// subtest (skipped when the tool is missing) and checks that its output
// holds each of wants.
func dcmdump(t *testing.T, path string, wants ...string) {
	t.Helper()
	t.Run("dcmdump", func(t *testing.T) {
		bin := tool(t, "dcmdump", "dcmtk")
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "-E", "-dc", path)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Errorf("%s: %v\n%s", filepath.Base(path), err, stderr.String())
		}
		for _, w := range wants {
			if !bytes.Contains(out, []byte(w)) {
				t.Errorf("%s: dcmdump output lacks %q", filepath.Base(path), w)
			}
		}
	})
}
