package update

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	pub, priv := testKey(1)
	dir := release(t, "v1.0.0", "0.9")
	data := sign(t, dir, priv)
	m, err := Verify(bytes.NewReader(data), pub)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "v1.0.0" || m.Profile != "test-board" || m.Arch != runtime.GOARCH || !m.Created.Equal(created) {
		t.Fatalf("manifest %+v", m)
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
		if f.Exec != (f.Path == BinaryName) {
			t.Errorf("%s: exec %v", f.Path, f.Exec)
		}
	}
	want := []string{"VERSION", "lsms", "model/health/manifest.jsonl", "model/lsms_text.tflite", "model/lsms_vision.tflite", "model/manifest.json", "model/vocab.txt", "profile.json"}
	if !slices.Equal(paths, want) {
		t.Fatalf("files %v, want %v", paths, want)
	}
	// The manifest and its signature come first; the bytes are the same
	// when signed again.
	es := readTar(t, data)
	if es[0].hdr.Name != ManifestName || es[1].hdr.Name != SigName {
		t.Fatalf("first entries %s, %s", es[0].hdr.Name, es[1].hdr.Name)
	}
	if !bytes.Equal(sign(t, dir, priv), data) {
		t.Error("signing the same directory twice gave different bundles")
	}
	// Version from the option must agree with VERSION.
	if _, err := Sign(&bytes.Buffer{}, dir, priv, SignOptions{Version: "v2", Created: created}); !errors.Is(err, ErrManifest) {
		t.Errorf("Sign with a version VERSION contradicts: %v", err)
	}
}

// One byte changed in the model or the binary: refused, naming the file,
// and Apply leaves the root as it was.
func TestTamperedFileRefused(t *testing.T) {
	pub, priv := testKey(1)
	root := t.TempDir()
	var seen []string
	if _, err := Apply(root, writeBundle(t, sign(t, release(t, "v1", "0.9"), priv)), pub, okCheck(&seen), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	good := sign(t, release(t, "v2", "0.9"), priv)
	before := tree(t, root)
	for _, name := range []string{"model/lsms_vision.tflite", "lsms", "profile.json", "model/health/manifest.jsonl"} {
		bad := flipByte(t, good, name)
		_, err := Verify(bytes.NewReader(bad), pub)
		if !errors.Is(err, ErrHash) || !strings.Contains(err.Error(), name+": SHA-256") || !strings.Contains(err.Error(), "changed after signing") {
			t.Errorf("%s changed: Verify: %v", name, err)
		}
		b := writeBundle(t, bad)
		_, err = Apply(root, b, pub, okCheck(&seen), ApplyOptions{})
		if !errors.Is(err, ErrHash) || !strings.Contains(err.Error(), "refused "+b) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s changed: Apply: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
		if after := tree(t, root); after != before {
			t.Errorf("%s changed: Apply changed the root:\n%s\nwas\n%s", name, after, before)
		}
	}
	if !slices.Equal(seen, []string{"v1"}) {
		t.Errorf("health checks ran on %v", seen)
	}
}

func TestBadSignatureRefused(t *testing.T) {
	pub, priv := testKey(1)
	other, _ := testKey(2)
	data := sign(t, release(t, "v1", "0.9"), priv)
	if _, err := Verify(bytes.NewReader(data), other); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("other key: %v", err)
	}
	// manifest.json edited (version bumped) under the old signature.
	es := readTar(t, data)
	es[0].data = bytes.Replace(es[0].data, []byte(`"version": "v1"`), []byte(`"version": "v9"`), 1)
	if _, err := Verify(bytes.NewReader(writeTar(t, es)), pub); !errors.Is(err, ErrSignature) {
		t.Errorf("edited manifest: %v", err)
	}
	// A signature that is not one.
	es = readTar(t, data)
	es[1].data = []byte("not base64!\n")
	if _, err := Verify(bytes.NewReader(writeTar(t, es)), pub); !errors.Is(err, ErrSignature) {
		t.Errorf("garbage signature: %v", err)
	}
	root := t.TempDir()
	_, err := Apply(root, writeBundle(t, data), other, func(string) error { t.Fatal("health check ran"); return nil }, ApplyOptions{})
	if !errors.Is(err, ErrSignature) {
		t.Errorf("Apply with the wrong key: %v", err)
	}
	if got := releases(t, root); len(got) != 0 {
		t.Errorf("releases after a refused bundle: %v", got)
	}
}

// resign re-signs a bundle whose manifest was edited.
func resign(t *testing.T, es []entry, edit func(m *Manifest)) []entry {
	t.Helper()
	_, priv := testKey(1)
	var m Manifest
	if err := json.Unmarshal(es[0].data, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	mb, _ := json.Marshal(&m)
	es[0].data = mb
	es[1].data = []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(priv, mb)) + "\n")
	return es
}

func TestLayoutRefused(t *testing.T) {
	pub, priv := testKey(1)
	good := sign(t, release(t, "v1", "0.9"), priv)
	reg := func(name, data string) entry {
		return entry{&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}, []byte(data)}
	}
	cases := []struct {
		name string
		es   func() []entry
		err  error
		msg  string
	}{
		{"extra file", func() []entry { return append(readTar(t, good), reg("model/extra.bin", "x")) }, ErrLayout, "model/extra.bin is in the bundle but not in the manifest"},
		{"missing file", func() []entry {
			es := readTar(t, good)
			return slices.DeleteFunc(es, func(e entry) bool { return e.hdr.Name == "model/vocab.txt" })
		}, ErrLayout, "not in the bundle: model/vocab.txt"},
		{"duplicate", func() []entry {
			es := readTar(t, good)
			return append(es, es[len(es)-1])
		}, ErrLayout, "twice"},
		{"traversal", func() []entry { return append(readTar(t, good), reg("../../etc/cron.d/x", "x")) }, ErrPath, `climbs out`},
		{"traversal inside", func() []entry { return append(readTar(t, good), reg("model/../../x", "x")) }, ErrPath, `"model/../../x"`},
		{"absolute", func() []entry { return append(readTar(t, good), reg("/etc/passwd", "x")) }, ErrPath, "absolute"},
		{"symlink", func() []entry {
			return append(readTar(t, good), entry{&tar.Header{Typeflag: tar.TypeSymlink, Name: "model/link", Linkname: "/etc/passwd"}, nil})
		}, ErrLayout, "model/link is a symbolic link"},
		{"hard link", func() []entry {
			return append(readTar(t, good), entry{&tar.Header{Typeflag: tar.TypeLink, Name: "model/hl", Linkname: "lsms"}, nil})
		}, ErrLayout, "hard link"},
		{"manifest not first", func() []entry {
			es := readTar(t, good)
			es[0], es[2] = es[2], es[0]
			return es
		}, ErrLayout, "come first"},
		{"manifest lists a traversal", func() []entry {
			return resign(t, readTar(t, good), func(m *Manifest) { m.Files[0].Path = "../VERSION" })
		}, ErrPath, "climbs out"},
		{"manifest without binary", func() []entry {
			return resign(t, readTar(t, good), func(m *Manifest) {
				m.Files = slices.DeleteFunc(m.Files, func(f File) bool { return f.Path == BinaryName })
			})
		}, ErrLayout, "lists no lsms"},
		{"size differs", func() []entry {
			es := readTar(t, good)
			for i := range es {
				if es[i].hdr.Name == "model/vocab.txt" {
					es[i].data = append(es[i].data, 'x')
				}
			}
			return es
		}, ErrHash, "model/vocab.txt has"},
		{"empty", func() []entry { return nil }, ErrLayout, "ends before manifest.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify(bytes.NewReader(writeTar(t, c.es())), pub)
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want %v with %q", err, c.err, c.msg)
			}
		})
	}
	// Not a tar at all, and a truncated one.
	if _, err := Verify(strings.NewReader(strings.Repeat("x", 2000)), pub); !errors.Is(err, ErrLayout) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := Verify(bytes.NewReader(good[:len(good)/2]), pub); !errors.Is(err, ErrLayout) {
		t.Errorf("truncated: %v", err)
	}
}

func TestApply(t *testing.T) {
	pub, priv := testKey(1)
	root := t.TempDir()
	var seen []string
	apply := func(v string) *Result {
		t.Helper()
		res, err := Apply(root, writeBundle(t, sign(t, release(t, v, "0.9"), priv)), pub, okCheck(&seen), ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := current(t, root); got != filepath.Join(ReleasesDir, v) {
			t.Fatalf("current -> %s after %s", got, v)
		}
		return res
	}
	if res := apply("v1"); res.Version != "v1" || res.Previous != "" || len(res.Pruned) != 0 {
		t.Errorf("first install: %+v", res)
	}
	if res := apply("v2"); res.Previous != "v1" || len(res.Pruned) != 0 {
		t.Errorf("v2: %+v", res)
	}
	if got := releases(t, root); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("releases %v", got)
	}
	if res := apply("v3"); res.Previous != "v2" || !slices.Equal(res.Pruned, []string{"v1"}) {
		t.Errorf("v3: %+v", res)
	}
	if got := releases(t, root); !slices.Equal(got, []string{"v2", "v3"}) {
		t.Errorf("releases %v", got)
	}
	if !slices.Equal(seen, []string{"v1", "v2", "v3"}) {
		t.Errorf("health checks on %v", seen)
	}
	// The release is the signed directory: files, contents, exec bit.
	rel := filepath.Join(root, CurrentLink)
	fi, err := os.Stat(filepath.Join(rel, BinaryName))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("binary: %v %v", fi, err)
	}
	// Readable by the service user: not the 0700 of a temp directory.
	if fi, err := os.Stat(filepath.Join(root, ReleasesDir, "v3")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("release directory: %v %v", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(rel, "model", "lsms_vision.tflite")); err != nil || string(b) != "vision graph v3" {
		t.Errorf("model: %q %v", b, err)
	}
	for _, n := range []string{PendingName, ".current.new"} {
		if _, err := os.Lstat(filepath.Join(root, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", n, err)
		}
	}

	// The current version again, the kept previous one, and another arch
	// are refused before anything is unpacked.
	_, err = Apply(root, writeBundle(t, sign(t, release(t, "v3", "0.9"), priv)), pub, okCheck(&seen), ApplyOptions{})
	if !errors.Is(err, ErrInstalled) || !strings.Contains(err.Error(), "already the current release") {
		t.Errorf("v3 again: %v", err)
	}
	_, err = Apply(root, writeBundle(t, sign(t, release(t, "v2", "0.9"), priv)), pub, okCheck(&seen), ApplyOptions{})
	if !errors.Is(err, ErrInstalled) {
		t.Errorf("v2 again: %v", err)
	}
	_, err = Apply(root, writeBundle(t, sign(t, release(t, "v4", "0.9"), priv)), pub, okCheck(&seen), ApplyOptions{Arch: "riscv64"})
	if !errors.Is(err, ErrArch) || !strings.Contains(err.Error(), "this device runs riscv64") {
		t.Errorf("other arch: %v", err)
	}
	if got := releases(t, root); !slices.Equal(got, []string{"v2", "v3"}) {
		t.Errorf("releases %v", got)
	}
}

// A release that fails its health check is rolled back: current points
// to the previous release again and the failed release is removed.
func TestHealthFailureRollsBack(t *testing.T) {
	pub, priv := testKey(1)
	root := t.TempDir()
	var seen []string
	if _, err := Apply(root, writeBundle(t, sign(t, release(t, "v1", "0.9"), priv)), pub, okCheck(&seen), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	before := tree(t, root)
	boom := errors.New("mean Dice 0.12 below the floor")
	var during string
	_, err := Apply(root, writeBundle(t, sign(t, release(t, "v2", "0.9"), priv)), pub, func(dir string) error {
		during = current(t, root) // the new release is current while checked
		return boom
	}, ApplyOptions{})
	var he *HealthError
	if !errors.As(err, &he) || !errors.Is(err, ErrHealth) || !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if he.Version != "v2" || he.Previous != "v1" || he.RollbackErr != nil {
		t.Errorf("HealthError %+v", he)
	}
	if during != filepath.Join(ReleasesDir, "v2") {
		t.Errorf("current during the check: %s", during)
	}
	if !strings.Contains(err.Error(), "rolled back to v1, releases/v2 removed") {
		t.Errorf("message: %v", err)
	}
	if after := tree(t, root); after != before {
		t.Errorf("root after rollback:\n%s\nwant\n%s", after, before)
	}
	// The same version can be applied again once fixed.
	if _, err := Apply(root, writeBundle(t, sign(t, release(t, "v2", "0.9"), priv)), pub, okCheck(&seen), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}

	// A first install that fails leaves no current link.
	root = t.TempDir()
	_, err = Apply(root, writeBundle(t, sign(t, release(t, "v1", "0.9"), priv)), pub, func(string) error { return boom }, ApplyOptions{})
	if !errors.Is(err, ErrHealth) || !strings.Contains(err.Error(), "no previous release") {
		t.Fatalf("first install: %v", err)
	}
	if c := current(t, root); c != "" || len(releases(t, root)) != 0 {
		t.Errorf("after a failed first install: current %q, releases %v", c, releases(t, root))
	}
}

// The exec health check on a stand-in binary (a shell script): passes,
// fails on a low Dice, fails on an exit status — and is rolled back.
func TestExecCheck(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs /bin/sh")
	}
	pub, priv := testKey(1)
	root := t.TempDir()
	check := ExecCheck{MinDice: 0.5, Timeout: time.Minute}.Check
	if _, err := Apply(root, writeBundle(t, sign(t, release(t, "v1", "0.9"), priv)), pub, check, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dice, msg string }{
		{"0.2", "mean Dice 0.2000 over 1 slices is below the floor 0.5000"},
		{"fail", "exit status 3: lsms segment: model bundle is damaged"},
		{"null", "no mean_dice"},
	} {
		_, err := Apply(root, writeBundle(t, sign(t, release(t, "v2", c.dice), priv)), pub, check, ApplyOptions{})
		if !errors.Is(err, ErrHealth) || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "rolled back to v1") {
			t.Errorf("dice %s: %v", c.dice, err)
		}
		if got := current(t, root); got != filepath.Join(ReleasesDir, "v1") {
			t.Errorf("dice %s: current -> %s", c.dice, got)
		}
	}
	if _, err := Apply(root, writeBundle(t, sign(t, release(t, "v2", "0.75"), priv)), pub, check, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := current(t, root); got != filepath.Join(ReleasesDir, "v2") {
		t.Errorf("current -> %s", got)
	}
}

func TestRecover(t *testing.T) {
	pub, priv := testKey(1)
	root := t.TempDir()
	var seen []string
	for _, v := range []string{"v1", "v2"} {
		if _, err := Apply(root, writeBundle(t, sign(t, release(t, v, "0.9"), priv)), pub, okCheck(&seen), ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := Recover(root); r != nil || err != nil {
		t.Fatalf("nothing to recover: %v %v", r, err)
	}
	// As if the power went during v2's health check.
	if err := os.WriteFile(filepath.Join(root, PendingName), []byte(`{"version":"v2","previous":"v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Apply rolls it back first, then installs v3 over v1.
	res, err := Apply(root, writeBundle(t, sign(t, release(t, "v3", "0.9"), priv)), pub, okCheck(&seen), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Recovered == nil || *res.Recovered != (Recovery{Version: "v2", Previous: "v1"}) || res.Previous != "v1" {
		t.Errorf("result %+v, recovered %+v", res, res.Recovered)
	}
	if got := releases(t, root); !slices.Equal(got, []string{"v1", "v3"}) {
		t.Errorf("releases %v", got)
	}
	// Recover on its own.
	if err := os.WriteFile(filepath.Join(root, PendingName), []byte(`{"version":"v3","previous":"v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := Recover(root); err != nil || r == nil || r.Version != "v3" {
		t.Fatalf("Recover: %+v %v", r, err)
	}
	if got := current(t, root); got != filepath.Join(ReleasesDir, "v1") {
		t.Errorf("current -> %s", got)
	}
	// A damaged pending file is reported, not guessed at.
	os.WriteFile(filepath.Join(root, PendingName), []byte(`{"version":"../x"}`), 0o644)
	if _, err := Recover(root); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged pending: %v", err)
	}
}

func TestApplyRefusesOddRoots(t *testing.T) {
	pub, priv := testKey(1)
	b := writeBundle(t, sign(t, release(t, "v1", "0.9"), priv))
	var seen []string
	// current is a real directory, not a link.
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, CurrentLink), 0o755)
	if _, err := Apply(root, b, pub, okCheck(&seen), ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "not a symbolic link") {
		t.Errorf("current directory: %v", err)
	}
	// current points outside the releases.
	root = t.TempDir()
	os.Symlink("/etc", filepath.Join(root, CurrentLink))
	if _, err := Apply(root, b, pub, okCheck(&seen), ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "not to a release") {
		t.Errorf("current -> /etc: %v", err)
	}
	// Another update holds the lock.
	root = t.TempDir()
	unlock, err := lock(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(root, b, pub, okCheck(&seen), ApplyOptions{}); !errors.Is(err, ErrBusy) {
		t.Errorf("locked: %v", err)
	}
	unlock()
	// A crash left an unpacking directory: cleaned up.
	os.MkdirAll(filepath.Join(root, ReleasesDir, incomingPrefix+"123", "model"), 0o755)
	if _, err := Apply(root, b, pub, okCheck(&seen), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := releases(t, root); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("releases %v", got)
	}
	if len(seen) != 1 {
		t.Errorf("health checks %v", seen)
	}
}

func TestSignRefuses(t *testing.T) {
	_, priv := testKey(1)
	var buf bytes.Buffer
	dir := release(t, "v1", "0.9")
	os.Chmod(filepath.Join(dir, BinaryName), 0o644)
	if _, err := Sign(&buf, dir, priv, SignOptions{Created: created}); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "not executable") {
		t.Errorf("non-exec binary: %v", err)
	}
	dir = release(t, "v1", "0.9")
	os.Symlink("/etc/passwd", filepath.Join(dir, "model", "link"))
	if _, err := Sign(&buf, dir, priv, SignOptions{Created: created}); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "regular files only") {
		t.Errorf("symlink: %v", err)
	}
	dir = release(t, "v1", "0.9")
	os.RemoveAll(filepath.Join(dir, "model"))
	if _, err := Sign(&buf, dir, priv, SignOptions{Created: created}); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "model/manifest.json") {
		t.Errorf("no model: %v", err)
	}
	dir = release(t, "bad version", "0.9")
	if _, err := Sign(&buf, dir, priv, SignOptions{Created: created}); !errors.Is(err, ErrManifest) {
		t.Errorf("bad version: %v", err)
	}
	dir = release(t, "v1", "0.9")
	os.WriteFile(filepath.Join(dir, ProfileName), []byte(`{"name": "x"}`), 0o644)
	if _, err := Sign(&buf, dir, priv, SignOptions{Created: created}); err == nil || !strings.Contains(err.Error(), "profile.json") {
		t.Errorf("bad profile: %v", err)
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	privFile, pubFile, err := WriteKeyPair(dir, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(privFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", fi.Mode())
	}
	priv, err := ReadPrivateKey(privFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ReadPublicKey(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	data := sign(t, release(t, "v1", "0.9"), priv)
	if _, err := Verify(bytes.NewReader(data), pub); err != nil {
		t.Fatal(err)
	}
	if _, _, err := WriteKeyPair(dir, rand.Reader); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "not overwriting") {
		t.Errorf("overwrite: %v", err)
	}
	if _, err := ReadPublicKey(privFile); !errors.Is(err, ErrKey) {
		t.Errorf("private as public: %v", err)
	}
	if _, err := ReadPrivateKey(pubFile); !errors.Is(err, ErrKey) {
		t.Errorf("public as private: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "junk"), []byte("junk"), 0o644)
	if _, err := ReadPublicKey(filepath.Join(dir, "junk")); !errors.Is(err, ErrKey) {
		t.Errorf("junk: %v", err)
	}
}

func TestSignFileAtomic(t *testing.T) {
	pub, priv := testKey(1)
	out := filepath.Join(t.TempDir(), "b.tar")
	if _, err := SignFile(out, release(t, "v1", "0.9"), priv, SignOptions{Created: created}); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyFile(out, pub); err != nil {
		t.Fatal(err)
	}
	// A failed signing leaves no file and no temp file.
	out2 := filepath.Join(filepath.Dir(out), "c.tar")
	dir := release(t, "v1", "0.9")
	os.Remove(filepath.Join(dir, ProfileName))
	if _, err := SignFile(out2, dir, priv, SignOptions{Created: created}); err == nil {
		t.Fatal("signed a directory without a profile")
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}

func FuzzVerify(f *testing.F) {
	pub, priv := testKey(1)
	dir := release(f, "v1", "0.9")
	good := sign(f, dir, priv)
	f.Add(good)
	f.Add(flipByte(f, good, "lsms"))
	f.Add(good[:1024])
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Verify(bytes.NewReader(data), pub)
		if err != nil {
			for _, want := range []error{ErrSignature, ErrLayout, ErrHash, ErrPath, ErrManifest} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		if m == nil || checkVersion(m.Version) != nil {
			t.Fatalf("accepted %+v", m)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	_, priv := testKey(1)
	es := readTar(f, sign(f, release(f, "v1", "0.9"), priv))
	f.Add(es[0].data)
	f.Add([]byte(`{"format":"lsms-update/1","version":"v","profile":"p","arch":"arm64","files":[{"path":"lsms","sha256":"` + strings.Repeat("0", 64) + `","size":1,"exec":true},{"path":"profile.json","sha256":"` + strings.Repeat("0", 64) + `","size":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			if !errors.Is(err, ErrManifest) && !errors.Is(err, ErrPath) && !errors.Is(err, ErrLayout) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		for _, fl := range m.Files {
			if checkPath(fl.Path) != nil || slices.Contains(strings.Split(fl.Path, "/"), "..") || strings.HasPrefix(fl.Path, "/") {
				t.Fatalf("accepted path %q", fl.Path)
			}
		}
	})
}
