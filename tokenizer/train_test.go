package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestTrainVocab(t *testing.T) {
	v, err := TrainVocab(trainCorpus, 300, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 300 {
		t.Errorf("len %d", len(v))
	}
	if !slices.Equal(v[:5], []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
		t.Errorf("specials %q", v[:5])
	}
	seen := map[string]bool{}
	for _, tok := range v {
		if seen[tok] {
			t.Errorf("duplicate %q", tok)
		}
		seen[tok] = true
	}
	// Every character of the (normalised) corpus, with and without ##.
	tk, err := FromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range trainCorpus {
		for _, tok := range tk.Tokenize(text) {
			if tok == UnkToken {
				t.Errorf("%q has [UNK] under its own vocabulary", text)
			}
		}
		for _, r := range strings.ToLower(text) {
			if r == ' ' || r > 0x2FF && r < 0x370 {
				continue
			}
			s := string(r)
			if strings.ContainsRune("äéïüö", r) {
				continue // stripped to their base letters
			}
			if !seen[s] || !seen["##"+s] {
				t.Errorf("character %q or ##%s missing", s, s)
			}
		}
	}
	// Merged pieces make the corpus shorter than characters would.
	chars, pieces := 0, 0
	for _, text := range trainCorpus {
		chars += len([]rune(strings.ReplaceAll(text, " ", "")))
		pieces += len(tk.Tokenize(text))
	}
	if pieces*2 > chars {
		t.Errorf("%d pieces for %d characters: merges do not help", pieces, chars)
	}
	// Deterministic.
	v2, _ := TrainVocab(trainCorpus, 300, 2)
	if !slices.Equal(v, v2) {
		t.Error("TrainVocab is not deterministic")
	}
}

func TestTrainVocabSmall(t *testing.T) {
	v, err := TrainVocab([]string{"ab ab ab", "Ab"}, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##a", "##b", "ab"}
	if !slices.Equal(v, want) {
		t.Errorf("got %q, want %q", v, want)
	}
	// minFreq stops merges of rare pairs.
	v, _ = TrainVocab([]string{"ab"}, 100, 2)
	if slices.Contains(v, "ab") {
		t.Errorf("minFreq 2 merged a once-seen pair: %q", v)
	}
	// Empty corpus: specials only.
	v, err = TrainVocab(nil, 5, 1)
	if err != nil || len(v) != 5 {
		t.Errorf("empty corpus: %q %v", v, err)
	}
	// Too small for specials and characters.
	if _, err := TrainVocab([]string{"abc"}, 10, 1); !errors.Is(err, ErrTrain) {
		t.Errorf("size 10: %v", err)
	}
	if _, err := TrainVocab(nil, 0, 1); !errors.Is(err, ErrTrain) {
		t.Errorf("size 0: %v", err)
	}
	// Words over 100 characters are skipped, their characters too.
	v, _ = TrainVocab([]string{strings.Repeat("q", 101)}, 100, 1)
	if slices.Contains(v, "q") {
		t.Errorf("long word trained: %q", v)
	}
}
