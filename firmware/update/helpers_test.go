package update

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lsms-edge/lsms/model/bundle"
)

var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testKey is deterministic: key n from seed byte n.
func testKey(n byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

// testProfile is a valid profile for this machine's arch.
func testProfile(arch string) string {
	goarm := ""
	if arch == "arm" {
		goarm = `"goarm": 7,`
	}
	return fmt.Sprintf(`{"name": "test-board", "description": "test", "arch": %q, %s "backend": "native",
"delegate": {"kind": "none"}, "fallback_to_native": false, "threads": 2, "model": "model",
"dicom": {"listen": ":11112", "ae_title": "LSMS"}}`, arch, goarm)
}

// writeModel writes a model bundle that bundle.Load accepts (the graphs
// are placeholders: nothing here runs them).
func writeModel(t testing.TB, dir, tag string) {
	t.Helper()
	_, err := bundle.Write(dir, bundle.Manifest{
		Name: "test-" + tag, Precision: "float32", Model: []byte(`{}`), InputSize: 16,
		Preprocess: bundle.Preprocess{HUWindow: [2]float64{-160, 240}},
		Tokenizer:  bundle.Tokenizer{Vocab: "vocab.txt", T: 8, Lowercase: true},
		Threshold:  0.5,
	}, []bundle.Content{
		{Role: bundle.RoleText, Path: "lsms_text.tflite", Data: []byte("text graph " + tag)},
		{Role: bundle.RoleVision, Path: "lsms_vision.tflite", Data: []byte("vision graph " + tag)},
		{Role: bundle.RoleVocab, Path: "vocab.txt", Data: []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fakeBinary is a shell script standing in for lsms in the exec health
// check: `version --json` lists the native backend; `segment` checks its
// health manifest exists and prints a report with mean Dice dice, or
// fails with exit code 3 when dice is "fail".
func fakeBinary(dice string) string {
	seg := fmt.Sprintf(`echo '{"slices": [{"name": "s"}], "mean_dice": %s}'`, dice)
	if dice == "fail" {
		seg = `echo "lsms segment: model bundle is damaged" >&2; exit 3`
	}
	return `#!/bin/sh
case "$1" in
version) echo '{"version": "test", "backends": ["native"]}' ;;
segment)
  [ "$2" = --model ] && [ "$4" = --manifest ] || { echo "bad args: $*" >&2; exit 2; }
  [ -f "$5" ] || { echo "no health manifest $5" >&2; exit 2; }
  ` + seg + ` ;;
*) echo "unknown command $1" >&2; exit 2 ;;
esac
`
}

// release writes a release directory for version into a new temp dir.
func release(t testing.TB, version, dice string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(BinaryName, fakeBinary(dice), 0o755)
	write(ProfileName, testProfile(runtime.GOARCH), 0o644)
	write(VersionName, version+"\n", 0o644)
	writeModel(t, filepath.Join(dir, "model"), version)
	write("model/health/manifest.jsonl", "{}\n", 0o644)
	return dir
}

// sign signs dir with key and returns the bundle's bytes.
func sign(t testing.TB, dir string, key ed25519.PrivateKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Sign(&buf, dir, key, SignOptions{Created: created}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeBundle writes bundle bytes to a file.
func writeBundle(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bundle.tar")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type entry struct {
	hdr  *tar.Header
	data []byte
}

func readTar(t testing.TB, data []byte) []entry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var es []entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return es
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, entry{h, b})
	}
}

func writeTar(t testing.TB, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := *e.hdr
		h.Size = int64(len(e.data))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// flipByte returns the bundle with one byte of file name changed.
func flipByte(t testing.TB, data []byte, name string) []byte {
	t.Helper()
	es := readTar(t, data)
	for i := range es {
		if es[i].hdr.Name == name {
			es[i].data = bytes.Clone(es[i].data)
			es[i].data[len(es[i].data)/2] ^= 0x01
			return writeTar(t, es)
		}
	}
	t.Fatalf("no %s in the bundle", name)
	return nil
}

// tree lists root's entries (relative path → "dir", "link→target" or
// file contents' length) to compare states.
func tree(t testing.TB, root string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			fmt.Fprintf(&b, "%s -> %s\n", rel, l)
		case fi.IsDir():
			fmt.Fprintf(&b, "%s/\n", rel)
		default:
			fmt.Fprintf(&b, "%s %d\n", rel, fi.Size())
		}
		return nil
	})
	return b.String()
}

// current returns what root/current points to.
func current(t testing.TB, root string) string {
	t.Helper()
	l, err := os.Readlink(filepath.Join(root, CurrentLink))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func releases(t testing.TB, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, ReleasesDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// ok is a health check that passes and records what it checked.
func okCheck(seen *[]string) HealthCheck {
	return func(dir string) error {
		*seen = append(*seen, filepath.Base(dir))
		return nil
	}
}
