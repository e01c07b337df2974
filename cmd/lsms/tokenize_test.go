package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenizeCommand(t *testing.T) {
	vocab := filepath.Join("..", "..", "tokenizer", "testdata", "vocab.txt")
	var out, errb bytes.Buffer
	if code := run([]string{"tokenize", "--vocab", vocab, "--len", "8", "--json", "Tümor in segment VI"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rec struct {
		IDs    []int32  `json:"ids"`
		Mask   []int32  `json:"mask"`
		Tokens []string `json:"tokens"`
	}
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.IDs) != 8 || rec.Tokens[0] != "[CLS]" || rec.Tokens[1] != "tumor" || rec.Mask[7] != 0 {
		t.Fatalf("unexpected encoding %+v", rec)
	}

	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte("the larger cyst\nthe smaller cyst\nthe cyst in segment vi\n"), 0o644)
	vout := filepath.Join(dir, "vocab.txt")
	out.Reset()
	if code := run([]string{"tokenize", "--train-vocab", corpus, "--size", "60", "--min-freq", "1", "--out", vout}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	data, err := os.ReadFile(vout)
	if err != nil || !strings.HasPrefix(string(data), "[PAD]\n") {
		t.Fatalf("vocab %q, %v", data, err)
	}
	if code := run([]string{"tokenize", "x"}, &out, &errb); code != 2 {
		t.Fatalf("missing --vocab: exit %d", code)
	}
}

func TestTokenizeManifest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	var out, errb bytes.Buffer
	if code := run([]string{"synth", "--out", dir, "--cases", "1", "--seed", "2", "--quiet"}, &out, &errb); code != 0 {
		t.Fatalf("synth exit %d: %s", code, errb.String())
	}
	toks := filepath.Join(dir, "tokens.jsonl")
	vocab := filepath.Join(dir, "vocab.txt")
	if code := run([]string{"tokenize", "--manifest", filepath.Join(dir, "manifest.jsonl"), "--size", "300", "--min-freq", "1", "--vocab-out", vocab, "--len", "40", "--out", toks}, &out, &errb); code != 0 {
		t.Fatalf("tokenize exit %d: %s", code, errb.String())
	}
	data, err := os.ReadFile(toks)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var first struct {
		Record int     `json:"record"`
		Level  string  `json:"level"`
		IDs    []int32 `json:"ids"`
		Mask   []int32 `json:"attention_mask"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Record != 0 || first.Level == "" || len(first.IDs) != 40 || first.IDs[0] != 2 || first.Mask[0] != 1 {
		t.Fatalf("first line %+v", first)
	}
	if !strings.Contains(string(data), `"level":"none","ids":[2,3,0`) {
		t.Error("no empty-expression (none) lines")
	}
	meta, err := os.ReadFile(filepath.Join(dir, "tokens.json"))
	if err != nil || !strings.Contains(string(meta), `"format": "lsms-token-ids/v1"`) {
		t.Fatalf("tokens.json %s %v", meta, err)
	}
}
