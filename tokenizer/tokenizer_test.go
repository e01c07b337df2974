package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// ruleVocab is a small BERT-style vocabulary for hand-checked vectors.
var ruleVocab = []string{PadToken, UnkToken, ClsToken, SepToken, MaskToken,
	"a", "c", "d", "e", "f", "i", "l", "m", "n", "o", "r", "s", "t", "u", "v", "x",
	"5", "7", ".", ",", "-", "–", "(", ")", "肝", "脏", "囊", "肿",
	"##a", "##c", "##d", "##e", "##f", "##i", "##l", "##m", "##n", "##o", "##r", "##s", "##t", "##u", "##v", "##x",
	"##mm", "##ined", "the", "tumor", "vascular", "vi", "segment", "of", "liver", "cafe", "ill", "defined",
	"in", "cyst", "##s", "tum", "##or",
}

func ruleTokenizer(t testing.TB, opts ...Option) *Tokenizer {
	t.Helper()
	tk, err := FromVocab(ruleVocab, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// real returns the tokens between [CLS] and [SEP].
func real(t *testing.T, tk *Tokenizer, text string) []string {
	t.Helper()
	enc, err := tk.Encode(text, 256)
	if err != nil {
		t.Fatal(err)
	}
	n := enc.Len()
	if enc.Tokens[0] != ClsToken || enc.Tokens[n-1] != SepToken {
		t.Fatalf("%q: %q", text, enc.Tokens[:n])
	}
	return enc.Tokens[1 : n-1]
}

func TestRules(t *testing.T) {
	tk := ruleTokenizer(t)
	long := strings.Repeat("a", 101)
	cases := []struct {
		name, in string
		want     []string
	}{
		{"lowercase", "TUMOR Tumor", []string{"tumor", "tumor"}},
		{"accents", "Café", []string{"cafe"}},
		{"accents-decomposed", "Cafe\u0301", []string{"cafe"}},
		{"accents-umlaut", "tümor", []string{"tumor"}},
		{"cjk", "肝脏囊肿", []string{"肝", "脏", "囊", "肿"}},
		{"cjk-glued", "肝tumor", []string{"肝", "tumor"}},
		{"punct-7.5mm", "7.5mm", []string{"7", ".", "5", "##mm"}},
		{"punct-comma", "liver, cyst", []string{"liver", ",", "cyst"}},
		{"continuation", "cysts", []string{"cyst", "##s"}},
		{"roman", "VI segment", []string{"vi", "segment"}},
		{"roman-glued", "segment VI.", []string{"segment", "vi", "."}},
		{"hyphen", "ill-defined", []string{"ill", "-", "defined"}},
		{"en-dash", "ill–defined", []string{"ill", "–", "defined"}},
		{"unk-word", "zzz", []string{UnkToken}},
		{"unk-101", long, []string{UnkToken}},
		{"whitespace", " \t tumor\n\r\n", []string{"tumor"}},
		{"invalid-utf8", "\xff\xfetu\xc3mor\x80", []string{"tumor"}},
		{"nul", "tu\x00mor", []string{"tumor"}},
		{"special-literal", "the [MASK] tumor", []string{"the", MaskToken, "tumor"}},
		{"special-lowercase-is-text", "[mask] [MASK", []string{UnkToken, UnkToken, UnkToken, UnkToken, UnkToken}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := real(t, tk, c.in); !slices.Equal(got, c.want) {
				t.Errorf("%q → %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestHundredCharWordIsSplit(t *testing.T) {
	tk := ruleTokenizer(t)
	got := real(t, tk, strings.Repeat("a", 100))
	if len(got) != 100 || got[0] != "a" || got[99] != "##a" {
		t.Fatalf("100 chars → %d tokens %q…", len(got), got[:min(3, len(got))])
	}
	// 101 characters after normalisation: accents do not count.
	if got := real(t, tk, strings.Repeat("a\u0301", 100)); len(got) != 100 {
		t.Fatalf("100 accented chars → %d tokens", len(got))
	}
}

func TestOffsets(t *testing.T) {
	tk := ruleTokenizer(t)
	text := "Tümor 肝, 7.5mm\xffcafe"
	enc, err := tk.Encode(text, 16)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for i := range enc.Len() {
		o := enc.Offsets[i]
		got = append(got, enc.Tokens[i]+"="+text[o[0]:o[1]])
	}
	// "5mm\xffcafe" is one word: the bad byte is dropped, leaving "5mmcafe",
	// which this vocabulary spells 5 ##mm ##c ##a ##f ##e.
	wantS := []string{"[CLS]=", "tumor=Tümor", "肝=肝", ",=,", "7=7", ".=.", "5=5", "##mm=mm", "##c=c", "##a=a", "##f=f", "##e=e", "[SEP]="}
	if !slices.Equal(got, wantS) {
		t.Errorf("got  %q\nwant %q", got, wantS)
	}
}

func TestTruncationKeepsSep(t *testing.T) {
	tk := ruleTokenizer(t)
	for T := 2; T <= 8; T++ {
		enc, err := tk.Encode("the vascular tumor of the liver in segment vi", T)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{ClsToken, "the", "vascular", "tumor", "of", "the", "liver", "in", "segment", "vi", SepToken}
		if T < len(want) {
			want = append(want[:T-1:T-1], SepToken)
		}
		if !slices.Equal(enc.Tokens, want) || !enc.Truncated {
			t.Errorf("T=%d: %q truncated=%v", T, enc.Tokens, enc.Truncated)
		}
		if enc.Len() != T || slices.Contains(enc.Mask, 0) {
			t.Errorf("T=%d: mask %v", T, enc.Mask)
		}
	}
	// Exactly fitting is not truncation.
	enc, _ := tk.Encode("the tumor", 4)
	if enc.Truncated || !slices.Equal(enc.Tokens, []string{ClsToken, "the", "tumor", SepToken}) {
		t.Errorf("fit: %q truncated=%v", enc.Tokens, enc.Truncated)
	}
}

func TestPaddingAndMask(t *testing.T) {
	tk := ruleTokenizer(t)
	ids := tk.SpecialIDs()
	enc, err := tk.Encode("cysts", 6)
	if err != nil {
		t.Fatal(err)
	}
	cyst, _ := tk.TokenID("cyst")
	s, _ := tk.TokenID("##s")
	if want := []int32{ids.Cls, cyst, s, ids.Sep, ids.Pad, ids.Pad}; !slices.Equal(enc.IDs, want) {
		t.Errorf("ids %v, want %v", enc.IDs, want)
	}
	if want := []int32{1, 1, 1, 1, 0, 0}; !slices.Equal(enc.Mask, want) {
		t.Errorf("mask %v, want %v", enc.Mask, want)
	}
	if want := [][2]int{{0, 0}, {0, 4}, {4, 5}, {0, 0}, {0, 0}, {0, 0}}; !slices.Equal(enc.Offsets, want) {
		t.Errorf("offsets %v, want %v", enc.Offsets, want)
	}
	if enc.Tokens[5] != PadToken || enc.Truncated {
		t.Errorf("tokens %q truncated %v", enc.Tokens, enc.Truncated)
	}
}

func TestEmptyInput(t *testing.T) {
	tk := ruleTokenizer(t)
	ids := tk.SpecialIDs()
	for _, in := range []string{"", " ", "\x00\u200b\t", "\xff"} {
		enc, err := tk.Encode(in, 4)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int32{ids.Cls, ids.Sep, ids.Pad, ids.Pad}; !slices.Equal(enc.IDs, want) || !slices.Equal(enc.Mask, []int32{1, 1, 0, 0}) {
			t.Errorf("%q: ids %v mask %v", in, enc.IDs, enc.Mask)
		}
	}
}

func TestBadLength(t *testing.T) {
	tk := ruleTokenizer(t)
	for _, T := range []int{-1, 0, 1, MaxLength + 1} {
		if _, err := tk.Encode("x", T); !errors.Is(err, ErrLength) {
			t.Errorf("Encode T=%d: %v", T, err)
		}
		if _, err := tk.EncodeBatch([]string{"x"}, T); !errors.Is(err, ErrLength) {
			t.Errorf("EncodeBatch T=%d: %v", T, err)
		}
	}
}

func TestEncodeBatch(t *testing.T) {
	tk := loadTestTokenizer(t)
	texts := goldenInputs()
	got, err := tk.EncodeBatch(texts, 32)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		want, _ := tk.Encode(text, 32)
		if !slices.Equal(got[i].IDs, want.IDs) || !slices.Equal(got[i].Offsets, want.Offsets) {
			t.Fatalf("%q: batch %v, single %v", text, got[i].IDs, want.IDs)
		}
	}
	if out, err := tk.EncodeBatch(nil, 8); err != nil || len(out) != 0 {
		t.Fatalf("empty batch: %v %v", out, err)
	}
}

func TestDecode(t *testing.T) {
	tk := ruleTokenizer(t)
	cases := map[string]string{
		"A vascular tumor in the VI segment of the liver, 7.5mm.": "a vascular tumor in the vi segment of the liver, 7. 5mm.",
		"ill-defined cysts": "ill - defined cysts",
		"":                  "",
		"the [MASK]":        "the [MASK]",
	}
	for in, want := range cases {
		enc, _ := tk.Encode(in, 32)
		if got := tk.Decode(enc.IDs); got != want {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", in, got, want)
		}
	}
	if got := tk.Decode([]int32{-1, 1 << 30}); got != "[UNK] [UNK]" {
		t.Errorf("unknown ids: %q", got)
	}
}

func TestOptions(t *testing.T) {
	cased := ruleTokenizer(t, WithLowercase(false))
	if got := real(t, cased, "Tumor tumor"); !slices.Equal(got, []string{UnkToken, "tumor"}) {
		t.Errorf("cased: %q", got)
	}
	if got := real(t, cased, "tümor"); !slices.Equal(got, []string{UnkToken}) {
		t.Errorf("cased keeps accents: %q", got)
	}
	if got := real(t, ruleTokenizer(t, WithLowercase(false), WithStripAccents(true)), "tümor"); !slices.Equal(got, []string{"tumor"}) {
		t.Errorf("cased + strip: %q", got)
	}
	if got := real(t, ruleTokenizer(t, WithStripAccents(false)), "TÜMOR"); !slices.Equal(got, []string{UnkToken}) {
		t.Errorf("lower, no strip: %q", got)
	}
	if got := real(t, ruleTokenizer(t, WithMaxInputChars(3)), "tumor the"); !slices.Equal(got, []string{UnkToken, "the"}) {
		t.Errorf("max chars 3: %q", got)
	}
	if _, err := FromVocab(ruleVocab, WithMaxInputChars(0)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("max chars 0: %v", err)
	}
	if _, err := FromVocab(ruleVocab, nil); err != nil {
		t.Errorf("nil option: %v", err)
	}
}

func TestAccessors(t *testing.T) {
	tk := ruleTokenizer(t)
	if tk.VocabSize() != len(ruleVocab) {
		t.Errorf("VocabSize %d", tk.VocabSize())
	}
	ids := tk.SpecialIDs()
	if ids != (SpecialIDs{Pad: 0, Unk: 1, Cls: 2, Sep: 3, Mask: 4}) {
		t.Errorf("SpecialIDs %+v", ids)
	}
	if tok, ok := tk.Token(ids.Cls); !ok || tok != ClsToken {
		t.Errorf("Token(cls) %q %v", tok, ok)
	}
	if _, ok := tk.Token(-5); ok {
		t.Error("Token(-5) found")
	}
	if _, ok := tk.TokenID("nope"); ok {
		t.Error("TokenID(nope) found")
	}
	if got := tk.Tokenize("the cysts"); !slices.Equal(got, []string{"the", "cyst", "##s"}) {
		t.Errorf("Tokenize %q", got)
	}
	// Google order: ids found by name, not position.
	google := append([]string{PadToken}, ruleVocab[5:]...)
	google = append(google, UnkToken, ClsToken, SepToken)
	g, err := FromVocab(google)
	if err != nil {
		t.Fatal(err)
	}
	if gi := g.SpecialIDs(); gi.Unk != int32(len(google)-3) || gi.Mask != -1 {
		t.Errorf("google-order ids %+v", gi)
	}
}
