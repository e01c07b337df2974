package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// maxFileSize bounds what Load reads; BERT vocabularies are well under 10 MB.
const maxFileSize = 256 << 20

// maxID bounds token ids so that they fit an int32.
const maxID = math.MaxInt32 - 1

// Load reads a HuggingFace vocab.txt or tokenizer.json. A path ending in
// ".json" is read as tokenizer.json, any other file as vocab.txt; a
// directory is searched for tokenizer.json, then vocab.txt.
func Load(path string, opts ...Option) (*Tokenizer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load: %w", err)
	}
	if fi.IsDir() {
		for _, name := range []string{"tokenizer.json", "vocab.txt"} {
			p := filepath.Join(path, name)
			if _, err := os.Stat(p); err == nil {
				return Load(p, opts...)
			}
		}
		return nil, fmt.Errorf("tokenizer: load: %s holds neither tokenizer.json nor vocab.txt: %w", path, os.ErrNotExist)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, vocabErr(path, 0, ErrVocab, "file is larger than %d bytes", maxFileSize)
	}
	var s *spec
	if strings.EqualFold(filepath.Ext(path), ".json") {
		s, err = parseTokenizerJSON(path, data)
	} else {
		s, err = parseVocabTxt(path, data)
	}
	if err != nil {
		return nil, err
	}
	return s.build(opts)
}

// FromVocab makes a tokenizer from tokens in id order (id = index), the
// in-memory form of a vocab.txt. As in HuggingFace, a token listed twice
// keeps its last id.
func FromVocab(tokens []string, opts ...Option) (*Tokenizer, error) {
	s := newSpec("vocab")
	if len(tokens) > maxID {
		return nil, vocabErr(s.source, 0, ErrVocab, "%d tokens is too many", len(tokens))
	}
	for i, tok := range tokens {
		if !utf8.ValidString(tok) {
			return nil, vocabErr(s.source, 0, ErrVocab, "token %d (%q) is not valid UTF-8", i, tok)
		}
		s.vocab[tok] = i
		s.byID[i] = tok
	}
	s.size = len(tokens)
	s.literals = bertLiterals
	return s.build(opts)
}

// FromVocabMap makes a tokenizer from a token → id map. Ids must be
// distinct and non-negative; they may have gaps.
func FromVocabMap(vocab map[string]int, opts ...Option) (*Tokenizer, error) {
	s := newSpec("vocab")
	if err := s.setVocabMap(vocab); err != nil {
		return nil, err
	}
	s.literals = bertLiterals
	return s.build(opts)
}

func (s *spec) setVocabMap(vocab map[string]int) error {
	for tok, id := range vocab {
		if id < 0 || id > maxID {
			return vocabErr(s.source, 0, ErrVocab, "token %q has id %d, want 0..%d", tok, id, maxID)
		}
		if !utf8.ValidString(tok) {
			return vocabErr(s.source, 0, ErrVocab, "token %q is not valid UTF-8", tok)
		}
		if other, dup := s.byID[id]; dup {
			a, b := min(other, tok), max(other, tok)
			return vocabErr(s.source, 0, ErrVocab, "tokens %q and %q share id %d", a, b, id)
		}
		s.vocab[tok] = id
		s.byID[id] = tok
		s.size = max(s.size, id+1)
	}
	return nil
}

// parseVocabTxt reads a vocab.txt: one token a line, id = line number
// (from 0), trailing whitespace and a final newline ignored, a token listed
// twice keeping its last id (HuggingFace's reading).
func parseVocabTxt(source string, data []byte) (*spec, error) {
	s := newSpec(source)
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(data) == 0 {
		return nil, vocabErr(source, 0, ErrVocab, "empty vocabulary")
	}
	if bytes.IndexByte(data[:min(len(data), 512)], 0) >= 0 {
		return nil, vocabErr(source, 0, ErrVocab, "binary data, not a vocab.txt")
	}
	if bytes.HasSuffix(data, []byte("\n")) {
		data = data[:len(data)-1]
	}
	line := 0
	for len(data) > 0 || line == 0 {
		var tok []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			tok, data = data[:i], data[i+1:]
		} else {
			tok, data = data, nil
		}
		if !utf8.Valid(tok) {
			return nil, vocabErr(source, line+1, ErrVocab, "token is not valid UTF-8")
		}
		if line >= maxID {
			return nil, vocabErr(source, line+1, ErrVocab, "too many tokens")
		}
		t := strings.TrimRightFunc(string(tok), isRustWhitespace)
		s.vocab[t] = line
		s.byID[line] = t
		line++
	}
	s.size = line
	s.literals = bertLiterals
	return s, nil
}

// isRustWhitespace is what Rust's str::trim_end removes.
func isRustWhitespace(r rune) bool { return isWhitespace(r) }

// hfFile is the part of a HuggingFace tokenizer.json that we read.
type hfFile struct {
	AddedTokens  []hfAddedToken  `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Model        json.RawMessage `json:"model"`
}

type hfAddedToken struct {
	ID         *int64 `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
}

type hfModel struct {
	Type     string            `json:"type"`
	Vocab    map[string]*int64 `json:"vocab"`
	Merges   json.RawMessage   `json:"merges"`
	Unk      *string           `json:"unk_token"`
	Prefix   *string           `json:"continuing_subword_prefix"`
	MaxChars *int64            `json:"max_input_chars_per_word"`
}

type hfNormalizer struct {
	Type               string `json:"type"`
	CleanText          *bool  `json:"clean_text"`
	HandleChineseChars *bool  `json:"handle_chinese_chars"`
	StripAccents       *bool  `json:"strip_accents"`
	Lowercase          *bool  `json:"lowercase"`
}

type hfTyped struct {
	Type string `json:"type"`
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// parseTokenizerJSON reads the WordPiece model, BertNormalizer and
// added-token sections of a HuggingFace tokenizer.json. Truncation, padding
// and post-processing sections are ignored: Encode always adds [CLS] and
// [SEP] and pads to its T.
func parseTokenizerJSON(source string, data []byte) (*spec, error) {
	s := newSpec(source)
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, vocabErr(source, 0, ErrVocab, "not a tokenizer.json: %v", err)
	}
	if isNull(f.Model) {
		return nil, vocabErr(source, 0, ErrVocab, "no \"model\" section")
	}
	var m hfModel
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, vocabErr(source, 0, ErrVocab, "bad \"model\" section: %v", err)
	}
	if m.Type == "" && !isNull(m.Merges) {
		m.Type = "BPE"
	}
	if m.Type != "" && m.Type != "WordPiece" {
		return nil, vocabErr(source, 0, ErrUnsupported, "model type is %q, want \"WordPiece\"", m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, vocabErr(source, 0, ErrVocab, "model has no vocab")
	}
	vocab := make(map[string]int, len(m.Vocab))
	for tok, id := range m.Vocab {
		if id == nil || *id < 0 || *id > maxID {
			return nil, vocabErr(source, 0, ErrVocab, "token %q has a bad id", tok)
		}
		vocab[tok] = int(*id)
	}
	if err := s.setVocabMap(vocab); err != nil {
		return nil, err
	}
	if m.Unk != nil {
		s.unk = *m.Unk
	}
	if m.Prefix != nil {
		if *m.Prefix == "" {
			return nil, vocabErr(source, 0, ErrUnsupported, "empty continuing_subword_prefix")
		}
		s.prefix = *m.Prefix
	}
	if m.MaxChars != nil {
		if *m.MaxChars < 1 || *m.MaxChars > math.MaxInt32 {
			return nil, vocabErr(source, 0, ErrUnsupported, "max_input_chars_per_word is %d", *m.MaxChars)
		}
		s.maxChars = int(*m.MaxChars)
	}

	if !isNull(f.Normalizer) {
		var n hfNormalizer
		if err := json.Unmarshal(f.Normalizer, &n); err != nil {
			return nil, vocabErr(source, 0, ErrVocab, "bad \"normalizer\" section: %v", err)
		}
		if n.Type != "BertNormalizer" {
			return nil, vocabErr(source, 0, ErrUnsupported, "normalizer is %q, want \"BertNormalizer\"", n.Type)
		}
		if n.CleanText != nil && !*n.CleanText {
			return nil, vocabErr(source, 0, ErrUnsupported, "BertNormalizer with clean_text false")
		}
		if n.Lowercase != nil {
			s.lowercase = *n.Lowercase
		}
		s.strip = n.StripAccents
		if n.HandleChineseChars != nil {
			s.chinese = *n.HandleChineseChars
		}
	}
	if !isNull(f.PreTokenizer) {
		var p hfTyped
		if err := json.Unmarshal(f.PreTokenizer, &p); err != nil {
			return nil, vocabErr(source, 0, ErrVocab, "bad \"pre_tokenizer\" section: %v", err)
		}
		if p.Type != "BertPreTokenizer" {
			return nil, vocabErr(source, 0, ErrUnsupported, "pre_tokenizer is %q, want \"BertPreTokenizer\"", p.Type)
		}
	}
	for _, at := range f.AddedTokens {
		if at.Content == "" {
			return nil, vocabErr(source, 0, ErrVocab, "added token with empty content")
		}
		if at.SingleWord || at.Lstrip || at.Rstrip || at.Normalized {
			return nil, vocabErr(source, 0, ErrUnsupported,
				"added token %q uses single_word, lstrip, rstrip or normalized; only plain verbatim tokens are supported", at.Content)
		}
		id, ok := s.vocab[at.Content]
		if at.ID != nil && (!ok || int64(id) != *at.ID) {
			return nil, vocabErr(source, 0, ErrUnsupported,
				"added token %q has id %d but the model vocab does not give it that id", at.Content, *at.ID)
		}
		if !ok {
			return nil, vocabErr(source, 0, ErrUnsupported, "added token %q is not in the model vocab", at.Content)
		}
		s.literals = append(s.literals, at.Content)
	}
	if f.AddedTokens == nil {
		s.literals = bertLiterals
	}
	return s, nil
}
