package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const miniVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ntumor\n"

func TestLoadVocabTxt(t *testing.T) {
	cases := map[string]string{
		"plain":     miniVocab,
		"no-eol":    strings.TrimSuffix(miniVocab, "\n"),
		"crlf":      strings.ReplaceAll(miniVocab, "\n", "\r\n"),
		"trailing":  strings.ReplaceAll(miniVocab, "\n", " \t\n"),
		"bom":       "\ufeff" + miniVocab,
		"dup-later": miniVocab + "tumor\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			tk, err := Load(writeTemp(t, "vocab.txt", content))
			if err != nil {
				t.Fatal(err)
			}
			id, ok := tk.TokenID("tumor")
			wantID := int32(5)
			if name == "dup-later" {
				wantID = 6 // HuggingFace keeps a repeated token's last id
			}
			if !ok || id != wantID {
				t.Errorf("tumor id %d %v", id, ok)
			}
			if ids := tk.SpecialIDs(); ids != (SpecialIDs{0, 1, 2, 3, 4}) {
				t.Errorf("specials %+v", ids)
			}
			enc, _ := tk.Encode("Tumor", 4)
			if !slices.Equal(enc.IDs, []int32{2, wantID, 3, 0}) {
				t.Errorf("ids %v", enc.IDs)
			}
		})
	}
}

func TestLoadVocabTxtErrors(t *testing.T) {
	cases := []struct {
		name, content string
		want          error
		line          int
	}{
		{"empty", "", ErrVocab, 0},
		{"bom-only", "\ufeff", ErrVocab, 0},
		{"binary", "\x00\x01\x02", ErrVocab, 0},
		{"bad-utf8", "[PAD]\n[UNK]\n\xff\n", ErrVocab, 3},
		{"no-unk", "[PAD]\n[CLS]\n[SEP]\n", ErrMissingToken, 0},
		{"no-pad", "[UNK]\n[CLS]\n[SEP]\n", ErrMissingToken, 0},
		{"no-cls", "[PAD]\n[UNK]\n[SEP]\n", ErrMissingToken, 0},
		{"no-sep", "[PAD]\n[UNK]\n[CLS]\n", ErrMissingToken, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(writeTemp(t, "vocab.txt", c.content))
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			var ve *VocabError
			if c.line > 0 && (!errors.As(err, &ve) || ve.Line != c.line) {
				t.Errorf("err %v, want line %d", err, c.line)
			}
			var me *MissingTokenError
			if c.want == ErrMissingToken && !errors.As(err, &me) {
				t.Errorf("err %T, want *MissingTokenError", err)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty dir: %v", err)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(miniVocab), 0o644)
	tk, err := Load(dir)
	if err != nil || tk.VocabSize() != 6 {
		t.Fatalf("vocab.txt dir: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join("testdata", "tokenizer.json"))
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644)
	tk, err = Load(dir)
	if err != nil || tk.VocabSize() != 32 {
		t.Fatalf("tokenizer.json preferred: %v size %d", err, tk.VocabSize())
	}
}

func TestTokenizerJSONFixture(t *testing.T) {
	tk, err := Load(filepath.Join("testdata", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := tk.Encode("A vascular tumor in the VI segment of the liver, 7.5mm 肝 [MASK]", 20)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ClsToken, "a", "vascular", "tumor", "in", "the", "vi", "segment", "of", "the", "liver", ",",
		"7", ".", "5", "##mm", "肝", MaskToken, SepToken, PadToken}
	if !slices.Equal(enc.Tokens, want) {
		t.Errorf("tokens %q\nwant   %q", enc.Tokens, want)
	}
}

func hfJSON(model, normalizer, extra string) string {
	if normalizer == "" {
		normalizer = "null"
	}
	return `{"version":"1.0",` + extra + `"normalizer":` + normalizer + `,"pre_tokenizer":{"type":"BertPreTokenizer"},"model":` + model + `}`
}

const okModel = `{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,` +
	`"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"Tumor":4,"tumor":5}}`

func TestLoadTokenizerJSON(t *testing.T) {
	// Cased model: lowercase false (strip_accents follows it).
	tk, err := Load(writeTemp(t, "t.json", hfJSON(okModel, `{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":false}`, "")))
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Tokenize("Tumor tumor Tümor"); !slices.Equal(got, []string{"Tumor", "tumor", UnkToken}) {
		t.Errorf("cased: %q", got)
	}
	// Options override the file.
	tk, err = Load(writeTemp(t, "t.json", hfJSON(okModel, `{"type":"BertNormalizer","lowercase":false}`, "")), WithLowercase(true))
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Tokenize("Tümor"); !slices.Equal(got, []string{"tumor"}) {
		t.Errorf("override: %q", got)
	}
	// Untyped (old) model section, gaps in ids, null normalizer.
	tk, err = Load(writeTemp(t, "t.json", hfJSON(`{"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"tumor":9}}`, "", "")))
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != 10 {
		t.Errorf("size %d", tk.VocabSize())
	}
	if _, err := tk.Vocab(); !errors.Is(err, ErrVocab) {
		t.Errorf("Vocab with gaps: %v", err)
	}
	if err := tk.WriteVocab(filepath.Join(t.TempDir(), "v.txt")); !errors.Is(err, ErrVocab) {
		t.Errorf("WriteVocab with gaps: %v", err)
	}
}

func TestLoadTokenizerJSONErrors(t *testing.T) {
	added := func(flags string) string {
		return `"added_tokens":[{"id":0,"content":"[PAD]",` + flags + `}],`
	}
	cases := []struct {
		name, content string
		want          error
	}{
		{"not-json", "vocab", ErrVocab},
		{"array", "[]", ErrVocab},
		{"no-model", `{"version":"1.0"}`, ErrVocab},
		{"model-not-object", hfJSON(`[1]`, "", ""), ErrVocab},
		{"bpe", hfJSON(`{"type":"BPE","vocab":{"a":0},"merges":[]}`, "", ""), ErrUnsupported},
		{"bpe-untyped", hfJSON(`{"vocab":{"a":0},"merges":["a b"]}`, "", ""), ErrUnsupported},
		{"empty-vocab", hfJSON(`{"type":"WordPiece","vocab":{}}`, "", ""), ErrVocab},
		{"negative-id", hfJSON(`{"type":"WordPiece","vocab":{"[PAD]":-1}}`, "", ""), ErrVocab},
		{"null-id", hfJSON(`{"type":"WordPiece","vocab":{"[PAD]":null}}`, "", ""), ErrVocab},
		{"float-id", hfJSON(`{"type":"WordPiece","vocab":{"[PAD]":1.5}}`, "", ""), ErrVocab},
		{"huge-id", hfJSON(`{"type":"WordPiece","vocab":{"[PAD]":99999999999}}`, "", ""), ErrVocab},
		{"shared-id", hfJSON(`{"type":"WordPiece","vocab":{"[PAD]":0,"[UNK]":0}}`, "", ""), ErrVocab},
		{"no-unk", hfJSON(`{"type":"WordPiece","vocab":{"[PAD]":0,"[CLS]":1,"[SEP]":2}}`, "", ""), ErrMissingToken},
		{"custom-unk-missing", hfJSON(`{"type":"WordPiece","unk_token":"<unk>","vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3}}`, "", ""), ErrMissingToken},
		{"empty-prefix", hfJSON(`{"type":"WordPiece","continuing_subword_prefix":"","vocab":{"[PAD]":0}}`, "", ""), ErrUnsupported},
		{"zero-max-chars", hfJSON(`{"type":"WordPiece","max_input_chars_per_word":0,"vocab":{"[PAD]":0}}`, "", ""), ErrUnsupported},
		{"other-normalizer", hfJSON(okModel, `{"type":"NFKC"}`, ""), ErrUnsupported},
		{"no-clean-text", hfJSON(okModel, `{"type":"BertNormalizer","clean_text":false}`, ""), ErrUnsupported},
		{"bad-normalizer", hfJSON(okModel, `{"type":3}`, ""), ErrVocab},
		{"other-pretokenizer", strings.Replace(hfJSON(okModel, "", ""), "BertPreTokenizer", "Whitespace", 1), ErrUnsupported},
		{"lstrip-added", hfJSON(okModel, "", added(`"lstrip":true`)), ErrUnsupported},
		{"normalized-added", hfJSON(okModel, "", added(`"normalized":true`)), ErrUnsupported},
		{"empty-added", hfJSON(okModel, "", `"added_tokens":[{"id":0,"content":""}],`), ErrVocab},
		{"added-wrong-id", hfJSON(okModel, "", `"added_tokens":[{"id":3,"content":"[PAD]"}],`), ErrUnsupported},
		{"added-not-in-vocab", hfJSON(okModel, "", `"added_tokens":[{"content":"<x>"}],`), ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(writeTemp(t, "tokenizer.json", c.content))
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if err.Error() == "" || !strings.HasPrefix(err.Error(), "tokenizer: ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

func TestFromVocabErrors(t *testing.T) {
	if _, err := FromVocab([]string{PadToken, UnkToken, ClsToken, "\xff"}); !errors.Is(err, ErrVocab) {
		t.Errorf("bad utf8: %v", err)
	}
	if _, err := FromVocab(nil); !errors.Is(err, ErrMissingToken) {
		t.Errorf("nil: %v", err)
	}
	if _, err := FromVocabMap(map[string]int{PadToken: 0, UnkToken: 0}); !errors.Is(err, ErrVocab) {
		t.Errorf("shared id: %v", err)
	}
	if _, err := FromVocabMap(map[string]int{PadToken: -3}); !errors.Is(err, ErrVocab) {
		t.Errorf("negative: %v", err)
	}
	tk, err := FromVocabMap(map[string]int{PadToken: 0, UnkToken: 100, ClsToken: 101, SepToken: 102, MaskToken: 103, "tumor": 7})
	if err != nil {
		t.Fatal(err)
	}
	if ids := tk.SpecialIDs(); ids != (SpecialIDs{0, 100, 101, 102, 103}) || tk.VocabSize() != 104 {
		t.Errorf("google ids %+v size %d", ids, tk.VocabSize())
	}
}

func TestWriteVocab(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vocab.txt")
	v := []string{PadToken, UnkToken, ClsToken, SepToken, MaskToken, "tumor", "##mm", "肝"}
	if err := WriteVocab(p, v); err != nil {
		t.Fatal(err)
	}
	if err := WriteVocab(p, v); err != nil { // overwrite
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if string(data) != strings.Join(v, "\n")+"\n" {
		t.Errorf("file %q", data)
	}
	tk, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tk.Vocab()
	if !slices.Equal(got, v) {
		t.Errorf("round trip %q", got)
	}
	p2 := filepath.Join(dir, "copy.txt")
	if err := tk.WriteVocab(p2); err != nil {
		t.Fatal(err)
	}
	if d2, _ := os.ReadFile(p2); string(d2) != string(data) {
		t.Errorf("WriteVocab method wrote %q", d2)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}

	for name, bad := range map[string][]string{
		"empty-list": nil,
		"empty":      {PadToken, ""},
		"newline":    {"a\nb"},
		"cr":         {"a\rb"},
		"trailing":   {"a "},
		"dup":        {"a", "a"},
		"utf8":       {"\xff"},
	} {
		if err := WriteVocab(filepath.Join(dir, "bad.txt"), bad); !errors.Is(err, ErrVocab) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := WriteVocab(filepath.Join(dir, "missing", "v.txt"), v); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left behind after errors: %v", entries)
	}
}
