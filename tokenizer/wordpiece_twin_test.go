//go:build !(386 || arm || mips || mipsle)

package tokenizer

// Differential tests of this package's WordPiece model and decoder
// (wordpiece.go, used on 32-bit targets) against sugarme/tokenizer's
// (wordpiece_lib.go, used on 64-bit targets): pieces, ids, offsets, errors
// and decoded text must be identical. They run where the library compiles.

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// twin is one WordPiece configuration, built both ways.
type twin struct {
	name   string
	prefix string
	lib    *libWordPiece
	own    *wordPiece
}

func newTwin(name string, vocab map[string]int, unk, prefix string, maxChars int) twin {
	return twin{
		name:   name,
		prefix: prefix,
		lib:    newLibWordPiece(vocab, unk, prefix, maxChars),
		own:    newWordPiece(vocab, unk, prefix, maxChars),
	}
}

// twinVocabs are the vocabularies the twins are built on: the golden one,
// the hand-checked ones, one with another prefix and one without [UNK].
func twinVocabs(t testing.TB) map[string]map[string]int {
	t.Helper()
	golden := loadTestTokenizer(t).vocab
	at := map[string]int{}
	noUnk := map[string]int{}
	for tok, id := range golden {
		if rest, ok := strings.CutPrefix(tok, "##"); ok {
			tok = "@@" + rest
		}
		at[tok] = id
		if tok != UnkToken {
			noUnk[tok] = id
		}
	}
	return map[string]map[string]int{
		"golden": golden,
		"rule":   wpVocabMap(ruleVocab),
		"defect": wpVocabMap(defectVocab),
		"wp":     wpVocabMap(wpVocab),
		"at":     at,
		"no-unk": noUnk,
	}
}

// twinConfigs are the configurations compared: each vocabulary with its
// prefix and the 100-character rule, plus smaller limits and other
// prefixes.
func twinConfigs(t testing.TB) []twin {
	t.Helper()
	v := twinVocabs(t)
	return []twin{
		newTwin("golden", v["golden"], UnkToken, "##", DefaultMaxInputChars),
		newTwin("golden-max5", v["golden"], UnkToken, "##", 5),
		newTwin("golden-max1", v["golden"], UnkToken, "##", 1),
		newTwin("golden-noprefix", v["golden"], UnkToken, "", DefaultMaxInputChars),
		newTwin("golden-unk-is-mask", v["golden"], MaskToken, "##", DefaultMaxInputChars),
		newTwin("rule", v["rule"], UnkToken, "##", DefaultMaxInputChars),
		newTwin("defect", v["defect"], UnkToken, "##", DefaultMaxInputChars),
		newTwin("wp", v["wp"], UnkToken, "##", 10),
		newTwin("wp-noprefix", v["wp"], UnkToken, "", DefaultMaxInputChars),
		newTwin("wp-prefix#", v["wp"], UnkToken, "#", DefaultMaxInputChars),
		newTwin("at", v["at"], UnkToken, "@@", DefaultMaxInputChars),
		newTwin("no-unk", v["no-unk"], UnkToken, "##", 20),
	}
}

// checkModel compares the two models on one word. The library's raw
// output is compared, not only what wordpiece_lib.go makes of it.
func (tw twin) checkModel(t testing.TB, word string) {
	t.Helper()
	want, werr := tw.lib.model.Tokenize(word)
	got, gerr := tw.own.tokenize(word)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%s: %q: library error %v, ours %v", tw.name, word, werr, gerr)
	}
	same := len(want) == len(got)
	for i := 0; same && i < len(got); i++ {
		w, g := want[i], got[i]
		same = w.Id == int(g.id) && w.Value == g.tok && slices.Equal(w.Offsets, []int{int(g.a), int(g.b)})
	}
	if !same {
		t.Fatalf("%s: %q:\nlibrary %v\n   ours %v", tw.name, word, want, got)
	}
	// And through the interface.
	lp, _ := tw.lib.tokenize(word)
	if !slices.Equal(lp, got) {
		t.Fatalf("%s: %q: libWordPiece %v, ours %v", tw.name, word, lp, got)
	}
}

// checkDecode compares the two decoders on one token sequence.
func (tw twin) checkDecode(t testing.TB, toks []string) {
	t.Helper()
	want := strings.Join(tw.lib.dec.DecodeChain(toks), "")
	if got := tw.own.decode(toks); got != want {
		t.Fatalf("%s: decode %q:\nlibrary %q\n   ours %q", tw.name, toks, want, got)
	}
	if got := tw.lib.decode(toks); got != want {
		t.Fatalf("%s: libWordPiece.decode %q = %q, want %q", tw.name, toks, got, want)
	}
}

// twinTexts are the package's test corpora: the golden inputs, the
// training corpus, the oracle's edge cases, seeded random text and the
// special cases of the fuzz seeds.
func twinTexts() []string {
	texts := append([]string(nil), goldenInputs()...)
	texts = append(texts, trainCorpus...)
	texts = append(texts, oracleEdgeCases()...)
	texts = append(texts, twinSpecialWords()...)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		texts = append(texts, randomText(rng))
	}
	return texts
}

// twinSpecialWords are words at the edges of WordPiece: the 100-character
// rule, prefix-only and prefix-like tokens, unknown characters, CJK,
// invalid UTF-8, and cleanup patterns for the decoder.
func twinSpecialWords() []string {
	return []string{
		strings.Repeat("a", 99), strings.Repeat("a", 100), strings.Repeat("a", 101),
		"a" + strings.Repeat("b", 99), strings.Repeat("tumor", 20), strings.Repeat("tumor", 20) + "s",
		strings.Repeat("肝", 100), strings.Repeat("肝", 101), strings.Repeat("é", 100) + "e",
		strings.Repeat("x", 150), strings.Repeat("a", 60) + "🙂" + strings.Repeat("a", 39),
		"#", "##", "###", "####", "#####", "##a", "a##", "##tumor", "tum##or", "## ##", "@@", "@@a", "#@@a",
		"肝脏右叶见一囊肿", "肝脏", "中文", "日本語のテキスト", "간종양", "肝tumor", "tumor肝",
		"xyz", "q", "🙂", "tumor🙂", "\u0378", "\U0010ffff", "ab\u0301cd",
		"\xff", "a\xffb", "\xe4\xb8", "\xff\xfe\xc3", "[UNK]", "[MASK]", "[unk]",
		"it's", "don't", "do not", "i'm", "we've", "they're", "a . b , c ? d ! e", "a ' b", "' ' '",
		"", " ", "  ",
	}
}

// twinWords are the words of a text as the tokenizer would give them to
// WordPiece (normalised four ways), its whitespace-separated fields, and
// the text itself when whole is set; each once.
func twinWords(text string, whole bool) []string {
	out := strings.Fields(text)
	if whole {
		out = append(out, text)
	}
	w := &words{start: -1}
	for _, n := range []normalizer{
		{lowercase: true, stripAccents: true, chinese: true},
		{lowercase: false, stripAccents: false, chinese: true},
		{lowercase: true, stripAccents: false, chinese: false},
		{lowercase: false, stripAccents: true, chinese: false},
	} {
		w.reset()
		n.split(text, 0, len(text), w)
		for _, wd := range w.words {
			out = append(out, string(w.runes[wd[0]:wd[1]]))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// twinTokenSeqs are token sequences to decode, made from a text.
func twinTokenSeqs(tk *Tokenizer, text string) [][]string {
	seqs := [][]string{
		strings.Fields(text),
		strings.Split(text, " "),
		strings.Split(text, ""),
		tk.Tokenize(text),
	}
	if len(text) > 0 {
		seqs = append(seqs, []string{text}, []string{"x", text}, []string{"##" + text, text})
	}
	return seqs
}

func TestWordPieceTwinModel(t *testing.T) {
	seen := map[string]bool{}
	var words []string
	for _, text := range twinTexts() {
		// Whole texts only when short: the library's model takes time
		// cubic in the length of a word it can split.
		for _, w := range twinWords(text, utf8.RuneCountInString(text) <= 32) {
			if !seen[w] {
				seen[w] = true
				words = append(words, w)
			}
		}
	}
	configs := twinConfigs(t)
	for _, tw := range configs {
		for _, w := range words {
			tw.checkModel(t, w)
		}
	}
	t.Logf("%d words agree in each of %d configurations", len(words), len(configs))
}

func TestWordPieceTwinDecode(t *testing.T) {
	tk := loadTestTokenizer(t)
	fixed := [][]string{
		nil, {}, {""}, {"", ""}, {"##"}, {"a", "##"}, {"a", "##", "##b"}, {"a", "####b"}, {"##a", "##b"},
		{"it", "'", "s"}, {"it", "'s"}, {"do", "n't"}, {"x", "do not"}, {"do not"}, {"a .", "b"},
		{"a", "' b"}, {"a", "' ' b"}, {"a", " .x"}, {"i", "'m", "we", "'ve", "they", "'re"},
		{"a", ".", ",", "?", "!", "'"}, {"[UNK]", "[MASK]", "##a"}, {"a", "@@b", "#c", "b"},
	}
	// The decoder depends only on the prefix.
	var configs []twin
	for _, tw := range twinConfigs(t) {
		if !slices.ContainsFunc(configs, func(c twin) bool { return c.prefix == tw.prefix }) {
			configs = append(configs, tw)
		}
	}
	n := 0
	for _, tw := range configs {
		for _, toks := range fixed {
			tw.checkDecode(t, toks)
			n++
		}
		for _, text := range twinTexts() {
			for _, toks := range twinTokenSeqs(tk, text) {
				tw.checkDecode(t, toks)
				n++
			}
		}
	}
	// Random sequences of vocabulary tokens, cleanup tokens and prefixes.
	vocab, _ := tk.Vocab()
	extra := []string{".", ",", "?", "!", "'", "n't", "'m", "'s", "'ve", "'re", "do not", " ", "##", "@@", "#", ""}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		toks := make([]string, rng.IntN(12))
		for i := range toks {
			if rng.IntN(3) == 0 {
				toks[i] = extra[rng.IntN(len(extra))]
			} else {
				toks[i] = vocab[rng.IntN(len(vocab))]
			}
		}
		for _, tw := range configs {
			tw.checkDecode(t, toks)
			n++
		}
	}
	t.Logf("%d token sequences decode alike", n)
}

// twinTokenizers returns tokenizers and twins of them that use this
// package's WordPiece instead of the library's.
func twinTokenizers(t testing.TB) (libs, owns []*Tokenizer) {
	t.Helper()
	builds := []func() *Tokenizer{
		func() *Tokenizer { return loadTestTokenizer(t) },
		func() *Tokenizer { return ruleTokenizer(t, WithLowercase(false)) },
		func() *Tokenizer { return ruleTokenizer(t, WithMaxInputChars(5)) },
		func() *Tokenizer {
			tk, err := FromVocab(wpVocab)
			if err != nil {
				t.Fatal(err)
			}
			return tk
		},
	}
	for _, b := range builds {
		lib, own := b(), b()
		if _, ok := lib.wp.(*libWordPiece); !ok {
			t.Fatalf("64-bit tokenizer uses %T, want the library's", lib.wp)
		}
		own.wp = newWordPiece(own.vocab, own.unk, own.prefix, own.maxChars)
		libs, owns = append(libs, lib), append(owns, own)
	}
	return libs, owns
}

// checkTokenizerTwin compares Encode, Tokenize and Decode of two twin
// tokenizers on one text.
func checkTokenizerTwin(t testing.TB, lib, own *Tokenizer, text string, T int) {
	t.Helper()
	a, aerr := lib.Encode(text, T)
	b, berr := own.Encode(text, T)
	if (aerr != nil) != (berr != nil) {
		t.Fatalf("%q T=%d: errors %v, %v", text, T, aerr, berr)
	}
	if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.Tokens, b.Tokens) || !slices.Equal(a.Offsets, b.Offsets) ||
		!slices.Equal(a.Mask, b.Mask) || a.Truncated != b.Truncated {
		t.Fatalf("%q T=%d:\nlibrary %q %v\n   ours %q %v", text, T, a.Tokens, a.Offsets, b.Tokens, b.Offsets)
	}
	if x, y := lib.Decode(a.IDs), own.Decode(b.IDs); x != y {
		t.Fatalf("%q: Decode: library %q, ours %q", text, x, y)
	}
	if x, y := lib.Tokenize(text), own.Tokenize(text); !slices.Equal(x, y) {
		t.Fatalf("%q: Tokenize: library %q, ours %q", text, x, y)
	}
}

func TestWordPieceTwinTokenizer(t *testing.T) {
	libs, owns := twinTokenizers(t)
	texts := twinTexts()
	for i := range libs {
		for j, text := range texts {
			checkTokenizerTwin(t, libs[i], owns[i], text, []int{64, 512, 8}[j%3])
		}
		// Decoding arbitrary ids, out-of-vocabulary ones included.
		rng := rand.New(rand.NewPCG(7, uint64(i)))
		for range 500 {
			ids := make([]int32, rng.IntN(20))
			for k := range ids {
				ids[k] = int32(rng.IntN(libs[i].VocabSize()+3)) - 1
			}
			if x, y := libs[i].Decode(ids), owns[i].Decode(ids); x != y {
				t.Fatalf("Decode(%v): library %q, ours %q", ids, x, y)
			}
		}
	}
}

// FuzzWordPieceTwin checks that this package's WordPiece model and decoder
// agree with the library's on any bytes, in every twin configuration, with
// any limit on the characters of a word.
func FuzzWordPieceTwin(f *testing.F) {
	for _, s := range twinSpecialWords() {
		f.Add([]byte(s), uint8(DefaultMaxInputChars), uint8(0))
	}
	for _, n := range []int{98, 99, 100, 101, 102} {
		f.Add([]byte(strings.Repeat("a", n)), uint8(100), uint8(0))
		f.Add([]byte("tumor "+strings.Repeat("肝", n)), uint8(100), uint8(1))
	}
	f.Add([]byte("tumors"), uint8(5), uint8(2))
	f.Add([]byte("####"), uint8(3), uint8(7))
	f.Add([]byte("a##b ## ###"), uint8(10), uint8(8))
	f.Add([]byte("@@a a@@b"), uint8(10), uint8(10))
	f.Add([]byte("xyz 🙂 q"), uint8(100), uint8(11))
	f.Add([]byte("it 's do n't do not a . b"), uint8(100), uint8(3))
	// The golden inputs and edge cases are checked by the tests above.
	v := twinVocabs(f)
	base := twinConfigs(f)
	libs, owns := twinTokenizers(f)
	f.Fuzz(func(t *testing.T, data []byte, maxChars, cfg uint8) {
		text := string(data)
		// One configuration as it is, and the golden vocabulary with this
		// input's limit (0 included: every word is [UNK]).
		tws := []twin{base[int(cfg)%len(base)]}
		names := []string{"golden", "wp", "at"}
		prefixes := []string{"##", "##", "@@"}
		k := int(cfg) % len(names)
		tws = append(tws, newTwin("fuzz-"+names[k], v[names[k]], UnkToken, prefixes[k], int(maxChars)))
		for _, tw := range tws {
			if utf8.RuneCountInString(text) <= 400 {
				for _, w := range twinWords(text, true) {
					tw.checkModel(t, w)
				}
			}
			for _, toks := range twinTokenSeqs(libs[0], text) {
				tw.checkDecode(t, toks)
			}
		}
		i := int(cfg) % len(libs)
		checkTokenizerTwin(t, libs[i], owns[i], text, 64)
	})
}
