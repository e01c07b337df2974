package update

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/synth/dataset"
)

// stageInputs: this test binary as "lsms" (an ELF of this machine), a
// placeholder model bundle, a profile for this arch, the repository's
// sample manifest.
func stageInputs(t *testing.T) StageOptions {
	t.Helper()
	if _, ok := elfMachine[runtime.GOARCH]; !ok || runtime.GOOS != "linux" {
		t.Skipf("no profile arch for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "model-src")
	writeModel(t, model, "staged")
	prof := filepath.Join(dir, "board.json")
	if err := os.WriteFile(prof, []byte(testProfile(runtime.GOARCH)), 0o644); err != nil {
		t.Fatal(err)
	}
	return StageOptions{Binary: exe, Model: model, Profile: prof, Health: "../../samples/manifest.jsonl",
		HealthSlices: 2, Version: "v1.2.3-4-gabcdef", Backends: []string{"native"}}
}

func TestStage(t *testing.T) {
	o := stageInputs(t)
	out := filepath.Join(t.TempDir(), "release")
	if err := Stage(out, o); err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(filepath.Join(out, EnvName))
	if err != nil || !strings.Contains(string(env), "\nLSMS_ARGS=\"--model model --backend native --threads 2 --listen :11112 --aet LSMS\"\n") {
		t.Errorf("lsms.env: %q %v", env, err)
	}
	if v, _ := os.ReadFile(filepath.Join(out, VersionName)); string(v) != o.Version+"\n" {
		t.Errorf("VERSION %q", v)
	}
	if fi, err := os.Stat(filepath.Join(out, BinaryName)); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("binary: %v %v", fi, err)
	}
	// The health slices: the first two records with their images and masks.
	f, err := os.Open(filepath.Join(out, "model", HealthDir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := dataset.ReadManifest(f)
	f.Close()
	if err != nil || len(recs) != 2 {
		t.Fatalf("health manifest: %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		for _, p := range []string{r.Image, r.Mask} {
			a, err1 := os.ReadFile(filepath.Join(out, "model", HealthDir, p))
			b, err2 := os.ReadFile(filepath.Join("../../samples", p))
			if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
				t.Errorf("health %s: %v %v", p, err1, err2)
			}
		}
	}
	// It signs, verifies and installs (health check stubbed: this binary
	// is a test binary, not lsms).
	pub, priv := testKey(3)
	data := sign(t, out, priv)
	m, err := Verify(bytes.NewReader(data), pub)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != o.Version || m.Profile != "test-board" {
		t.Errorf("manifest %+v", m)
	}
	var seen []string
	if _, err := Apply(t.TempDir(), writeBundle(t, data), pub, okCheck(&seen), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	// No temp directories beside out.
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 1 {
		t.Errorf("beside the release: %v", ents)
	}
	if err := Stage(out, o); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("stage over an existing dir: %v", err)
	}
}

func TestStageRefuses(t *testing.T) {
	base := stageInputs(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		edit func(o *StageOptions)
		want string
	}{
		{"binary for another arch", func(o *StageOptions) {
			other := map[string]string{"amd64": "arm64", "arm64": "amd64", "arm": "amd64"}[runtime.GOARCH]
			p := filepath.Join(dir, "other.json")
			os.WriteFile(p, []byte(strings.Replace(testProfile(other), `"goarm": 7,`, "", 1)), 0o644)
			o.Profile = p
		}, "the profile's arch"},
		{"not an ELF", func(o *StageOptions) { o.Binary = o.Health }, "not an ELF file"},
		{"damaged model", func(o *StageOptions) {
			m := filepath.Join(dir, "damaged")
			writeModel(t, m, "x")
			os.WriteFile(filepath.Join(m, "vocab.txt"), []byte("changed"), 0o644)
			o.Model = m
		}, "model: bundle:"},
		{"backend missing", func(o *StageOptions) { o.Backends = []string{"tflite"} }, "wants backend \"native\""},
		{"too few health slices", func(o *StageOptions) { o.HealthSlices = 1000 }, "want 1000 health slices"},
		{"bad version", func(o *StageOptions) { o.Version = "../x" }, "version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := base
			c.edit(&o)
			out := filepath.Join(t.TempDir(), "release")
			err := Stage(out, o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if c.name == "binary for another arch" && !errors.Is(err, ErrArch) {
				t.Errorf("not ErrArch: %v", err)
			}
			if _, err := os.Lstat(out); err == nil {
				t.Error("a refused stage left the release directory")
			}
		})
	}
}
