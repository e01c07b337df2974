package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var (
	update      = flag.Bool("update", false, "rewrite testdata/golden.jsonl")
	updateVocab = flag.Bool("update-vocab", false, "rewrite testdata/vocab.txt and testdata/tokenizer.json from TrainVocab")
)

const (
	vocabPath  = "testdata/vocab.txt"
	goldenPath = "testdata/golden.jsonl"
	goldenT    = 64
	trainSize  = 400
	trainMin   = 2
)

// testVocab is what testdata/vocab.txt must hold.
func testVocab(t testing.TB) []string {
	t.Helper()
	v, err := TrainVocab(trainCorpus, trainSize, trainMin)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range handAdded {
		if !slices.Contains(v, w) {
			v = append(v, w)
		}
	}
	return v
}

func loadTestTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tk, err := Load(vocabPath)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestTestdataVocab checks testdata/vocab.txt is TrainVocab's output plus
// handAdded: a golden test of the trainer.
func TestTestdataVocab(t *testing.T) {
	want := testVocab(t)
	if *updateVocab {
		if err := WriteVocab(vocabPath, want); err != nil {
			t.Fatal(err)
		}
	}
	tk := loadTestTokenizer(t)
	got, err := tk.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("%s line %d = %q, TrainVocab gives %q (run go test ./tokenizer -update-vocab -update)", vocabPath, i+1, got[i], want[i])
			}
		}
		t.Fatalf("%s has %d tokens, TrainVocab gives %d (run go test ./tokenizer -update-vocab -update)", vocabPath, len(got), len(want))
	}
}

type goldenRecord struct {
	Text   string   `json:"text"`
	T      int      `json:"T"`
	IDs    []int32  `json:"ids"`
	Tokens []string `json:"tokens"`
}

func TestGolden(t *testing.T) {
	tk := loadTestTokenizer(t)
	inputs := goldenInputs()
	if len(inputs) < 200 {
		t.Fatalf("only %d golden inputs", len(inputs))
	}
	var recs []goldenRecord
	for _, text := range inputs {
		enc, err := tk.Encode(text, goldenT)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, goldenRecord{Text: text, T: goldenT, IDs: enc.IDs, Tokens: enc.Tokens[:enc.Len()]})
	}
	if *update {
		var buf bytes.Buffer
		for _, r := range recs {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(b)
			buf.WriteByte('\n')
		}
		if err := writeFileAtomic(goldenPath, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test ./tokenizer -update)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	i := 0
	for ; sc.Scan(); i++ {
		var want goldenRecord
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
			t.Fatalf("%s:%d: %v", goldenPath, i+1, err)
		}
		if i >= len(recs) {
			t.Fatalf("%s has more records than goldenInputs (run -update)", goldenPath)
		}
		got := recs[i]
		if got.Text != want.Text || got.T != want.T {
			t.Fatalf("%s:%d: text %q T %d, goldenInputs has %q T %d (run -update)", goldenPath, i+1, want.Text, want.T, got.Text, got.T)
		}
		if !slices.Equal(got.IDs, want.IDs) {
			t.Errorf("%s:%d: %q\n got ids %v\nwant ids %v\n got tokens %q\nwant tokens %q",
				goldenPath, i+1, got.Text, got.IDs, want.IDs, got.Tokens, want.Tokens)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(recs) {
		t.Fatalf("%s has %d records, goldenInputs %d (run -update)", goldenPath, i, len(recs))
	}
}

// TestTestdataTokenizerJSON checks the hand-written HF-format fixture loads
// and agrees with an equivalent vocab.txt tokenizer.
func TestTestdataTokenizerJSON(t *testing.T) {
	tj, err := Load(filepath.Join("testdata", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := tj.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	tv, err := FromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"A vascular tumor, 7.5mm.", "Tümor VI", "肝 tumor", "[MASK] cyst", ""} {
		a, _ := tj.Encode(text, 16)
		b, _ := tv.Encode(text, 16)
		if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.Offsets, b.Offsets) {
			t.Errorf("%q: tokenizer.json %v %v, vocab %v %v", text, a.Tokens, a.Offsets, b.Tokens, b.Offsets)
		}
	}
}
