package tokenizer

import (
	"slices"
	"testing"
)

// wpVocab is a small vocabulary for hand-checked WordPiece vectors; it is
// used by wordpiece_twin_test.go as well.
var wpVocab = []string{PadToken, UnkToken, ClsToken, SepToken, MaskToken,
	"a", "b", "ab", "abc", "t", "tum", "tumor", "5", "#", "##", "###", "肝", "中", "\ufffd", ".", ",", "'", "n't", "s",
	"##a", "##b", "##c", "##or", "##s", "##mm", "##脏", "##\ufffd", "##", "####", "##'", "##n't",
}

func wpVocabMap(tokens []string) map[string]int {
	m := map[string]int{}
	for i, tok := range tokens {
		if _, ok := m[tok]; !ok {
			m[tok] = i
		}
	}
	return m
}

type wpWant struct {
	tok  string
	a, b int32
}

func wpGot(ps []piece) []wpWant {
	out := make([]wpWant, len(ps))
	for i, p := range ps {
		out[i] = wpWant{p.tok, p.a, p.b}
	}
	return out
}

// TestWordPieceModel checks this package's WordPiece model on hand-checked
// vectors; it runs on every target.
func TestWordPieceModel(t *testing.T) {
	vocab := wpVocabMap(wpVocab)
	wp := newWordPiece(vocab, UnkToken, "##", 10)
	unk := func(n int32) []wpWant { return []wpWant{{UnkToken, 0, n}} }
	tenAs := []wpWant{{"a", 0, 1}}
	for i := int32(1); i < 10; i++ {
		tenAs = append(tenAs, wpWant{"##a", i, i + 1})
	}
	cases := []struct {
		word string
		want []wpWant
	}{
		{"tumor", []wpWant{{"tumor", 0, 5}}},
		{"tumors", []wpWant{{"tumor", 0, 5}, {"##s", 5, 6}}},
		{"tumabc", []wpWant{{"tum", 0, 3}, {"##a", 3, 4}, {"##b", 4, 5}, {"##c", 5, 6}}},
		{"abcab", []wpWant{{"abc", 0, 3}, {"##a", 3, 4}, {"##b", 4, 5}}}, // longest first, no backtracking
		{"5mm", []wpWant{{"5", 0, 1}, {"##mm", 1, 3}}},
		{"abx", unk(3)}, // "x" cannot be spelt: the whole word is [UNK]
		{"xab", unk(3)},
		{"肝脏", []wpWant{{"肝", 0, 1}, {"##脏", 1, 2}}}, // offsets count runes
		{"脏", unk(1)},
		{"##", []wpWant{{"##", 0, 2}}}, // a word that is the prefix
		{"###", []wpWant{{"###", 0, 3}}},
		{"#####", []wpWant{{"####", 0, 4}, {"###", 4, 5}}}, // then "##" + "#"
		{"#a", []wpWant{{"#", 0, 1}, {"##a", 1, 2}}},
		{"a\xffb", []wpWant{{"a", 0, 1}, {"##\ufffd", 1, 2}, {"##b", 2, 3}}}, // invalid byte = U+FFFD
		{"\xff\xfe", []wpWant{{"\ufffd", 0, 1}, {"##\ufffd", 1, 2}}},
		{"n't", []wpWant{{"n't", 0, 3}}},
		{"aaaaaaaaaa", tenAs},    // 10 chars: split
		{"aaaaaaaaaaa", unk(11)}, // 11 chars: over the limit
		{"肝肝肝肝肝肝肝肝肝肝肝", unk(11)}, // the limit counts runes, not bytes
		{"", nil},
	}
	for _, c := range cases {
		got, err := wp.tokenize(c.word)
		if err != nil {
			t.Errorf("%q: %v", c.word, err)
			continue
		}
		if !slices.Equal(wpGot(got), c.want) {
			t.Errorf("%q → %v, want %v", c.word, wpGot(got), c.want)
		}
		for _, p := range got {
			if id, ok := vocab[p.tok]; !ok || int32(id) != p.id {
				t.Errorf("%q: piece %q has id %d, vocabulary says %d", c.word, p.tok, p.id, id)
			}
		}
	}

	// Another prefix, and none.
	at := newWordPiece(map[string]int{UnkToken: 0, "a": 1, "@@b": 2, "b": 3}, UnkToken, "@@", 100)
	if got, _ := at.tokenize("ab"); !slices.Equal(wpGot(got), []wpWant{{"a", 0, 1}, {"@@b", 1, 2}}) {
		t.Errorf("prefix @@: %v", wpGot(got))
	}
	none := newWordPiece(map[string]int{UnkToken: 0, "a": 1, "b": 3}, UnkToken, "", 100)
	if got, _ := none.tokenize("ab"); !slices.Equal(wpGot(got), []wpWant{{"a", 0, 1}, {"b", 1, 2}}) {
		t.Errorf("no prefix: %v", wpGot(got))
	}

	// No unknown token: an error only when it is needed.
	nounk := newWordPiece(map[string]int{"a": 0}, UnkToken, "##", 3)
	if _, err := nounk.tokenize("b"); err == nil {
		t.Error("unknown word without [UNK]: no error")
	}
	if _, err := nounk.tokenize("aaaa"); err == nil {
		t.Error("long word without [UNK]: no error")
	}
	if got, err := nounk.tokenize("a"); err != nil || len(got) != 1 {
		t.Errorf("known word without [UNK]: %v %v", got, err)
	}
}

// TestWordPieceDecode checks this package's WordPiece decoder on
// hand-checked vectors; it runs on every target.
func TestWordPieceDecode(t *testing.T) {
	wp := newWordPiece(nil, UnkToken, "##", 100)
	cases := []struct {
		toks []string
		want string
	}{
		{nil, ""},
		{[]string{"tum", "##or"}, "tumor"},
		{[]string{"a", "tum", "##or", "."}, "a tumor."},
		{[]string{"##or", "x"}, "##or x"}, // the first token keeps its prefix
		{[]string{"x", "####"}, "x##"},    // only one prefix is removed
		{[]string{"a", ",", "b", "?", "!", "."}, "a, b?!."},
		{[]string{"it", "'", "s"}, "it ' s"}, // cleanup works within a token
		{[]string{"it", "'s", "we", "'ve", "i", "'m", "they", "'re", "do", "n't"}, "it's we've i'm they're don't"},
		{[]string{"x", "do not"}, "x don't"},
		{[]string{"do not"}, "do not"}, // no space before the first token
		{[]string{"a .", "b"}, "a. b"}, // but the first token is cleaned
		{[]string{"a", "' b"}, "a'b"},
		{[]string{"a", "' ' b"}, "a'' b"},
		{[]string{"[UNK]", "[MASK]", "##a"}, "[UNK] [MASK]a"},
		{[]string{"a", " .x"}, "a .x"},
	}
	for _, c := range cases {
		if got := wp.decode(c.toks); got != c.want {
			t.Errorf("%q → %q, want %q", c.toks, got, c.want)
		}
	}
	if got := newWordPiece(nil, UnkToken, "", 100).decode([]string{"a", "b", "##c"}); got != "ab##c" {
		t.Errorf("no prefix: %q", got)
	}
	if got := newWordPiece(nil, UnkToken, "@@", 100).decode([]string{"a", "@@b", "##c"}); got != "ab ##c" {
		t.Errorf("prefix @@: %q", got)
	}
}
