package firmware

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lsms-edge/lsms/firmware/update"
	"github.com/lsms-edge/lsms/model/bundle"
)

func needSh(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("install.sh targets Linux boards")
	}
	for _, tool := range []string{"sh", "diff", "cmp", "mktemp", "find"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
}

// stage writes a release directory for version: a stand-in binary, the
// profile for this arch, lsms.env, VERSION and a model bundle.
func stage(t *testing.T, version, tag string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("lsms", "#!/bin/sh\necho "+tag+"\n", 0o755)
	write("VERSION", version+"\n", 0o644)
	write("lsms.env", "LSMS_ARGS=--backend native --threads 2\n", 0o644)
	write("profile.json", `{"name": "test-board", "arch": "`+runtime.GOARCH+`", `+map[bool]string{true: `"goarm": 7, `}[runtime.GOARCH == "arm"]+
		`"backend": "native", "delegate": {"kind": "none"}, "threads": 2, "model": "model", "dicom": {"listen": ":11112", "ae_title": "LSMS"}}`, 0o644)
	_, err := bundle.Write(filepath.Join(dir, "model"), bundle.Manifest{
		Name: "t", Precision: "float32", Model: []byte(`{}`), InputSize: 16,
		Preprocess: bundle.Preprocess{HUWindow: [2]float64{-160, 240}},
		Tokenizer:  bundle.Tokenizer{Vocab: "vocab.txt", T: 8}, Threshold: 0.5,
	}, []bundle.Content{
		{Role: bundle.RoleText, Path: "lsms_text.tflite", Data: []byte("t " + tag)},
		{Role: bundle.RoleVision, Path: "lsms_vision.tflite", Data: []byte("v " + tag)},
		{Role: bundle.RoleVocab, Path: "vocab.txt", Data: []byte("[PAD]\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func install(t *testing.T, prefix string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"install.sh", "--prefix", prefix, "--no-systemd", "--no-user"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestInstall(t *testing.T) {
	needSh(t)
	prefix := filepath.Join(t.TempDir(), "root")
	privFile, pubFile, err := update.WriteKeyPair(t.TempDir(), bytes.NewReader(bytes.Repeat([]byte{7}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := update.ReadPrivateKey(privFile)
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	v1 := stage(t, "v1", "one")
	out, err := install(t, prefix, "--pub", pubFile, v1)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	opt := filepath.Join(prefix, "opt", "lsms")
	if l, _ := os.Readlink(filepath.Join(opt, "current")); l != "releases/v1" {
		t.Fatalf("current -> %q\n%s", l, out)
	}
	got, err := exec.Command(filepath.Join(opt, "current", "lsms")).Output()
	if err != nil || string(got) != "one\n" {
		t.Errorf("installed binary: %q %v", got, err)
	}
	unit, _ := os.ReadFile("systemd/lsms.service")
	if b, err := os.ReadFile(filepath.Join(prefix, "etc/systemd/system/lsms.service")); err != nil || !bytes.Equal(b, unit) {
		t.Errorf("unit not installed: %v", err)
	}
	if k, err := update.ReadPublicKey(filepath.Join(prefix, "etc/lsms/update.pub")); err != nil || !k.Equal(pub) {
		t.Errorf("update key: %v", err)
	}
	site := filepath.Join(prefix, "etc/lsms/site.env")
	if b, err := os.ReadFile(site); err != nil || !bytes.Contains(b, []byte("\nLSMS_EXPR=\n")) {
		t.Errorf("site.env: %q %v", b, err)
	}
	// The site's settings survive reinstalls.
	os.WriteFile(site, []byte("LSMS_EXPR=the largest lesion\n"), 0o644)
	defer func() {
		if b, _ := os.ReadFile(site); string(b) != "LSMS_EXPR=the largest lesion\n" {
			t.Errorf("site.env overwritten: %q", b)
		}
	}()
	if fi, err := os.Stat(filepath.Join(prefix, "var/lib/lsms")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("state dir: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(opt, "releases", "v1")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("release dir: %v %v", fi, err)
	}

	// Again: nothing changes.
	before := listTree(t, prefix)
	out, err = install(t, prefix, "--pub", pubFile, v1)
	if err != nil || !strings.Contains(out, "already in") {
		t.Fatalf("second install: %v\n%s", err, out)
	}
	if after := listTree(t, prefix); after != before {
		t.Errorf("second install changed the tree:\n%s\nwas\n%s", after, before)
	}

	// Another release under the same version is refused.
	out, err = install(t, prefix, stage(t, "v1", "other"))
	if err == nil || !strings.Contains(out, "exists with other contents") {
		t.Errorf("same version, other contents: %v\n%s", err, out)
	}

	// v2, v3: the new and the previous release stay.
	for _, v := range []string{"v2", "v3"} {
		if out, err := install(t, prefix, stage(t, v, v)); err != nil {
			t.Fatalf("install %s: %v\n%s", v, err, out)
		}
	}
	if got := dirNames(t, filepath.Join(opt, "releases")); !slices.Equal(got, []string{"v2", "v3"}) {
		t.Errorf("releases %v", got)
	}

	// `lsms update apply` takes over the layout install.sh made.
	v4 := stage(t, "v4", "four")
	bundleFile := filepath.Join(t.TempDir(), "v4.tar")
	if _, err := update.SignFile(bundleFile, v4, priv, update.SignOptions{Created: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	res, err := update.Apply(opt, bundleFile, pub, func(string) error { return nil }, update.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Previous != "v3" || !slices.Equal(res.Pruned, []string{"v2"}) {
		t.Errorf("apply after install: %+v", res)
	}
}

func TestInstallRefuses(t *testing.T) {
	needSh(t)
	prefix := t.TempDir()
	cases := []struct {
		name string
		edit func(dir string)
		want string
	}{
		{"no binary", func(d string) { os.Remove(filepath.Join(d, "lsms")) }, "has no lsms"},
		{"binary not executable", func(d string) { os.Chmod(filepath.Join(d, "lsms"), 0o644) }, "not executable"},
		{"no lsms.env", func(d string) { os.Remove(filepath.Join(d, "lsms.env")) }, "has no lsms.env"},
		{"bad version", func(d string) { os.WriteFile(filepath.Join(d, "VERSION"), []byte("../evil\n"), 0o644) }, "VERSION"},
		{"symlink", func(d string) { os.Symlink("/etc/passwd", filepath.Join(d, "model", "x")) }, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := stage(t, "v1", "x")
			c.edit(d)
			out, err := install(t, prefix, d)
			if err == nil || !strings.Contains(out, c.want) {
				t.Fatalf("got %v\n%s\nwant %q", err, out, c.want)
			}
		})
	}
	if got := dirNames(t, filepath.Join(prefix, "opt", "lsms", "releases")); len(got) != 0 {
		t.Errorf("refused installs left %v", got)
	}
	if out, err := install(t, prefix, "--bogus", "x"); err == nil || !strings.Contains(out, "unknown option --bogus") {
		t.Errorf("bad option: %v %s", err, out)
	}
}

// The unit parses (systemd-analyze verify) once pointed at an installed
// tree; skipped where systemd-analyze is missing.
func TestUnitVerifies(t *testing.T) {
	needSh(t)
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	prefix := t.TempDir()
	if out, err := install(t, prefix, stage(t, "v1", "x")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	unit, err := os.ReadFile("systemd/lsms.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ProtectSystem=strict", "ReadWritePaths=/var/lib/lsms", "Restart=on-failure", "NoNewPrivileges=yes", "User=lsms", "EnvironmentFile=/opt/lsms/current/lsms.env"} {
		if !bytes.Contains(unit, []byte("\n"+want+"\n")) {
			t.Errorf("unit lacks %s", want)
		}
	}
	f := filepath.Join(t.TempDir(), "lsms.service")
	unit = bytes.ReplaceAll(unit, []byte("/opt/lsms"), []byte(filepath.Join(prefix, "opt", "lsms")))
	unit = bytes.ReplaceAll(unit, []byte("/etc/lsms"), []byte(filepath.Join(prefix, "etc", "lsms")))
	os.WriteFile(f, unit, 0o644)
	out, err := exec.Command(sa, "verify", "--man=no", f).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func listTree(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		b.WriteString(rel + " " + fi.Mode().String() + " " + fi.ModTime().String() + "\n")
		return nil
	})
	return b.String()
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
