package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lsms-edge/lsms/model/bundle"
)

// updateRelease writes a release directory whose "binary" is a shell
// script answering `version --json` and `segment ... --json` with a mean
// Dice of dice: the exec health check runs it.
func updateRelease(t *testing.T, version, dice string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("lsms", fmt.Sprintf(`#!/bin/sh
case "$1" in
version) echo '{"version": "%s", "backends": ["native"]}' ;;
segment) [ -f "$5" ] || { echo "no health manifest $5" >&2; exit 2; }; echo '{"slices": [{}], "mean_dice": %s}' ;;
*) exit 2 ;;
esac
`, version, dice), 0o755)
	write("VERSION", version+"\n", 0o644)
	goarm := ""
	if runtime.GOARCH == "arm" {
		goarm = `"goarm": 7, `
	}
	write("profile.json", `{"name": "test-board", "arch": "`+runtime.GOARCH+`", `+goarm+`"backend": "native", "delegate": {"kind": "none"},
"threads": 1, "model": "model", "dicom": {"listen": ":11112", "ae_title": "LSMS"}}`, 0o644)
	write("model/health/manifest.jsonl", "{}\n", 0o644)
	_, err := bundle.Write(filepath.Join(dir, "model"), bundle.Manifest{
		Name: "t", Precision: "float32", Model: []byte(`{}`), InputSize: 16,
		Preprocess: bundle.Preprocess{HUWindow: [2]float64{-160, 240}},
		Tokenizer:  bundle.Tokenizer{Vocab: "vocab.txt", T: 8}, Threshold: 0.5,
	}, []bundle.Content{
		{Role: bundle.RoleText, Path: "lsms_text.tflite", Data: []byte("text " + version)},
		{Role: bundle.RoleVision, Path: "lsms_vision.tflite", Data: []byte("vision " + version)},
		{Role: bundle.RoleVocab, Path: "vocab.txt", Data: []byte("[PAD]\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// flipTarByte rewrites a bundle with one byte of file name changed.
func flipTarByte(t *testing.T, src, dst, name string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var buf bytes.Buffer
	tr, tw := tar.NewReader(in), tar.NewWriter(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if h.Name == name {
			b[len(b)/2] ^= 1
		}
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Close()
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateCommand(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the stand-in binary is a shell script")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	tmp := t.TempDir()
	lsms := func(want int, args ...string) (string, string) {
		t.Helper()
		var o, e bytes.Buffer
		if code := run(append([]string{"update"}, args...), &o, &e); code != want {
			t.Fatalf("lsms update %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, o.String(), e.String())
		}
		return o.String(), e.String()
	}
	keys := filepath.Join(tmp, "keys")
	lsms(0, "keygen", "--out", keys)
	_, e := lsms(1, "keygen", "--out", keys)
	if !strings.Contains(e, "not overwriting") {
		t.Errorf("keygen twice: %s", e)
	}
	key, pub := filepath.Join(keys, "lsms-update.key"), filepath.Join(keys, "lsms-update.pub")
	root := filepath.Join(tmp, "opt")
	bundleOf := func(version, dice string) string {
		b := filepath.Join(tmp, version+"-"+dice+".tar")
		o, _ := lsms(0, "sign", "--key", key, "-o", b, updateRelease(t, version, dice))
		if !strings.Contains(o, "signed "+b+": version "+version) {
			t.Errorf("sign: %s", o)
		}
		return b
	}

	v1 := bundleOf("v1", "0.9")
	o, _ := lsms(0, "verify", "--pub", pub, v1)
	if !strings.Contains(o, "good signature; version v1, profile test-board") || !strings.Contains(o, "created 2026-01-01T00:00:00Z") {
		t.Errorf("verify: %s", o)
	}
	o, _ = lsms(0, "apply", "--pub", pub, "--root", root, "--min-dice", "0.5", v1)
	if !strings.Contains(o, "v1 is current") {
		t.Errorf("apply v1: %s", o)
	}

	// One byte changed in the model, then in the binary: refused, naming it.
	v2 := bundleOf("v2", "0.9")
	for _, name := range []string{"model/lsms_vision.tflite", "lsms"} {
		bad := filepath.Join(tmp, "bad.tar")
		flipTarByte(t, v2, bad, name)
		_, e := lsms(1, "apply", "--pub", pub, "--root", root, "--min-dice", "0.5", bad)
		if !strings.Contains(e, "refused "+bad) || !strings.Contains(e, name+": SHA-256") {
			t.Errorf("%s changed: %s", name, e)
		}
		lsms(1, "verify", "--pub", pub, bad)
	}
	// Signed by another key.
	other := filepath.Join(tmp, "other")
	lsms(0, "keygen", "--out", other)
	_, e = lsms(1, "verify", "--pub", filepath.Join(other, "lsms-update.pub"), v2)
	if !strings.Contains(e, "does not verify") {
		t.Errorf("other key: %s", e)
	}

	// A release below the Dice floor is rolled back.
	_, e = lsms(1, "apply", "--pub", pub, "--root", root, "--min-dice", "0.5", bundleOf("v2", "0.3"))
	if !strings.Contains(e, "mean Dice 0.3000 over 1 slices is below the floor 0.5000") || !strings.Contains(e, "rolled back to v1") {
		t.Errorf("low Dice: %s", e)
	}
	if l, _ := os.Readlink(filepath.Join(root, "current")); l != filepath.Join("releases", "v1") {
		t.Errorf("current -> %s", l)
	}
	// The good v2 goes in; v1 is kept.
	o, _ = lsms(0, "apply", "--pub", pub, "--root", root, "--min-dice", "0.5", v2)
	if !strings.Contains(o, "v2 is current") || !strings.Contains(o, "previous v1 kept") {
		t.Errorf("apply v2: %s", o)
	}
	o, _ = lsms(0, "health", "--min-dice", "0.5", filepath.Join(root, "current"))
	if !strings.Contains(o, "healthy") {
		t.Errorf("health: %s", o)
	}
	_, e = lsms(1, "health", "--min-dice", "0.95", filepath.Join(root, "current"))
	if !strings.Contains(e, "below the floor 0.9500") {
		t.Errorf("health 0.95: %s", e)
	}
	o, _ = lsms(0, "recover", "--root", root)
	if !strings.Contains(o, "no interrupted update") {
		t.Errorf("recover: %s", o)
	}

	// Usage errors.
	lsms(2, "apply", "--pub", pub, "--root", root, v2) // no --min-dice
	lsms(2, "sign", "--key", key)
	lsms(2, "frobnicate")
	lsms(2)
	o, _ = lsms(0, "apply", "--help")
	if !strings.Contains(o, "--min-dice") {
		t.Errorf("apply --help: %s", o)
	}
}

func TestUpdateStageCommand(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("needs a profile arch for this machine")
	}
	exe, err := os.Executable() // an ELF of this machine
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	rel := updateRelease(t, "v1", "0.9")
	os.RemoveAll(filepath.Join(rel, "model", "health"))
	out := filepath.Join(tmp, "release")
	var o, e bytes.Buffer
	args := []string{"update", "stage", "--binary", exe, "--model", filepath.Join(rel, "model"), "--profile", filepath.Join(rel, "profile.json"),
		"--health", "../../samples/manifest.jsonl", "--version", "v1.0-3-gdeadbee", "--out", out}
	if code := run(args, &o, &e); code != 0 {
		t.Fatalf("stage: exit %d: %s", code, e.String())
	}
	env, _ := os.ReadFile(filepath.Join(out, "lsms.env"))
	if !strings.Contains(string(env), `LSMS_ARGS="--model model --backend native --threads 1 --listen :11112 --aet LSMS"`) {
		t.Errorf("lsms.env: %s", env)
	}
	// A shipped profile by name, for another arch than the binary: refused.
	o.Reset()
	e.Reset()
	args[7] = map[string]string{"amd64": "rpi5-cpu", "arm64": "x86-64-dev"}[runtime.GOARCH]
	args[len(args)-1] = filepath.Join(tmp, "release2")
	if code := run(args, &o, &e); code != 1 || !strings.Contains(e.String(), "the profile's arch") {
		t.Errorf("stage for another arch: exit %d: %s", code, e.String())
	}
}
