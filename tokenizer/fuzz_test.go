package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range goldenInputs() {
		f.Add([]byte(s), uint16(16))
	}
	for _, s := range oracleEdgeCases() {
		f.Add([]byte(s), uint16(8))
	}
	f.Add([]byte("\xff\xfe\xc3"), uint16(2))
	f.Add([]byte("\xe4\xb8"), uint16(3))
	f.Add([]byte("[MASK\xff]"), uint16(5))
}

// FuzzEncode feeds any bytes (invalid UTF-8 included) and any T and checks
// the invariants of an Encoding.
func FuzzEncode(f *testing.F) {
	fuzzSeeds(f)
	tk := loadTestTokenizer(f)
	cased := ruleTokenizer(f, WithLowercase(false))
	ids := tk.SpecialIDs()
	f.Fuzz(func(t *testing.T, data []byte, tRaw uint16) {
		text := string(data)
		T := int(tRaw % 300)
		for _, k := range []*Tokenizer{tk, cased} {
			enc, err := k.Encode(text, T)
			if T < 2 {
				if !errors.Is(err, ErrLength) {
					t.Fatalf("T=%d: err %v", T, err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			checkEncoding(t, k, text, T, enc)
		}
		// Decode never panics, and only text built from the vocabulary comes out.
		if T >= 2 {
			enc, _ := tk.Encode(text, T)
			if d := tk.Decode(enc.IDs); !utf8.ValidString(d) {
				t.Fatalf("Decode gave invalid UTF-8 %q", d)
			}
		}
		_ = ids
	})
}

func checkEncoding(t *testing.T, k *Tokenizer, text string, T int, enc Encoding) {
	t.Helper()
	ids := k.SpecialIDs()
	if len(enc.IDs) != T || len(enc.Mask) != T || len(enc.Tokens) != T || len(enc.Offsets) != T {
		t.Fatalf("lengths %d %d %d %d, want %d", len(enc.IDs), len(enc.Mask), len(enc.Tokens), len(enc.Offsets), T)
	}
	if enc.IDs[0] != ids.Cls || enc.Mask[0] != 1 {
		t.Fatalf("first id %d", enc.IDs[0])
	}
	n := enc.Len()
	if n < 2 {
		t.Fatalf("only %d real tokens", n)
	}
	if !slices.Equal(enc.Mask[:n], slices.Repeat([]int32{1}, n)) || !slices.Equal(enc.Mask[n:], make([]int32, T-n)) {
		t.Fatalf("mask not 1s then 0s: %v", enc.Mask)
	}
	if enc.IDs[n-1] != ids.Sep {
		t.Fatalf("last real id %d, want [SEP] %d", enc.IDs[n-1], ids.Sep)
	}
	if enc.Truncated && n != T {
		t.Fatalf("truncated but %d of %d used", n, T)
	}
	prevEnd := 0
	for i, id := range enc.IDs {
		if id < 0 || int(id) >= k.VocabSize() {
			t.Fatalf("id %d out of range", id)
		}
		if tok, ok := k.Token(id); !ok || tok != enc.Tokens[i] {
			t.Fatalf("token %d: %q, vocabulary says %q", i, enc.Tokens[i], tok)
		}
		if i >= n {
			if id != ids.Pad {
				t.Fatalf("padding id %d", id)
			}
		}
		o := enc.Offsets[i]
		if o[0] < 0 || o[0] > o[1] || o[1] > len(text) {
			t.Fatalf("offset %v outside input of %d bytes", o, len(text))
		}
		if i == 0 || i >= n-1 {
			if o != [2]int{} {
				t.Fatalf("special token %d offset %v", i, o)
			}
			continue
		}
		if o[0] == o[1] {
			t.Fatalf("empty offset for token %d %q", i, enc.Tokens[i])
		}
		if o[0] < prevEnd && !strings.HasPrefix(enc.Tokens[i], "##") {
			t.Fatalf("offsets go backwards: %v after %d", o, prevEnd)
		}
		prevEnd = o[1]
	}
}

// FuzzParseVocabTxt: any bytes either parse or give ErrVocab / ErrMissingToken.
func FuzzParseVocabTxt(f *testing.F) {
	f.Add([]byte(miniVocab))
	f.Add([]byte("\ufeff[PAD]\r\n[UNK] \n[CLS]\n[SEP]"))
	f.Add([]byte("\xff\n\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseVocabTxt("fuzz", data)
		if err != nil {
			if !errors.Is(err, ErrVocab) {
				t.Fatalf("err %v", err)
			}
			return
		}
		tk, err := s.build(nil)
		if err != nil {
			if !errors.Is(err, ErrMissingToken) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("build err %v", err)
			}
			return
		}
		enc, err := tk.Encode(string(data), 8)
		if err != nil {
			t.Fatal(err)
		}
		checkEncoding(t, tk, string(data), 8, enc)
	})
}

// FuzzParseTokenizerJSON: any bytes either parse or give a sentinel error.
func FuzzParseTokenizerJSON(f *testing.F) {
	f.Add([]byte(hfJSON(okModel, "", "")))
	f.Add([]byte(hfJSON(okModel, `{"type":"BertNormalizer","lowercase":false,"strip_accents":true,"handle_chinese_chars":false}`,
		`"added_tokens":[{"id":0,"content":"[PAD]"}],`)))
	f.Add([]byte(`{"model":{"vocab":{"a":0},"merges":[]}}`))
	f.Add([]byte(`{"model":{"type":"WordPiece","vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3},"max_input_chars_per_word":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseTokenizerJSON("fuzz", data)
		if err != nil {
			if !errors.Is(err, ErrVocab) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("err %v", err)
			}
			return
		}
		tk, err := s.build(nil)
		if err != nil {
			if !errors.Is(err, ErrMissingToken) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("build err %v", err)
			}
			return
		}
		enc, err := tk.Encode(string(data), 8)
		if err != nil {
			t.Fatal(err)
		}
		checkEncoding(t, tk, string(data), 8, enc)
	})
}

// FuzzTrainVocab: any corpus trains without panic into a vocabulary that
// loads and encodes the corpus.
func FuzzTrainVocab(f *testing.F) {
	f.Add([]byte("ab ab ab\nAb"), uint8(40), uint8(1))
	f.Add([]byte(strings.Join(trainCorpus[:5], "\n")), uint8(200), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, size, minFreq uint8) {
		corpus := strings.Split(string(data), "\n")
		v, err := TrainVocab(corpus, int(size), int(minFreq))
		if err != nil {
			if !errors.Is(err, ErrTrain) {
				t.Fatalf("err %v", err)
			}
			return
		}
		if len(v) > int(size) {
			t.Fatalf("%d tokens for size %d", len(v), size)
		}
		tk, err := FromVocab(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range corpus {
			for _, tok := range tk.Tokenize(line) {
				if tok == UnkToken && !strings.Contains(line, UnkToken) {
					// Only words over the length limit (after normalisation,
					// which may lengthen them) may be [UNK].
					long := false
					w := &words{start: -1}
					tk.norm.split(line, 0, len(line), w)
					for _, wd := range w.words {
						long = long || wd[1]-wd[0] > DefaultMaxInputChars
					}
					if !long {
						t.Fatalf("%q has [UNK] under its own vocabulary %q", line, v)
					}
				}
			}
		}
	})
}
