package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// wordPiecer is the WordPiece model and decoder a Tokenizer uses. On 64-bit
// targets it is github.com/sugarme/tokenizer's (wordpiece_lib.go); on
// 32-bit ones, where that library does not compile, it is this file's
// wordPiece (wordpiece_own.go). The two agree exactly (wordpiece_twin_test.go).
type wordPiecer interface {
	// tokenize splits one word into WordPiece tokens whose a, b are rune
	// offsets into the word. It fails only when the word needs the unknown
	// token and the vocabulary lacks it.
	tokenize(word string) ([]piece, error)
	// decode joins tokens into text: continuation pieces lose their prefix
	// and are glued on, other tokens get a space before them, and spaces
	// before punctuation and English contractions are removed.
	decode(tokens []string) string
}

// wordPiece is a greedy longest-match-first WordPiece model and decoder
// that behaves as sugarme/tokenizer v0.3.0's wordpiece.WordPiece together
// with decoder.NewWordPieceDecoder(prefix, true), so that every build of
// this package tokenises and decodes alike:
//
//   - a word of more than maxChars characters is a single unknown token
//     spanning the whole word;
//   - otherwise, from the word's start, the longest vocabulary entry that
//     matches is taken (after the first piece, the entry must be the
//     prefix followed by the characters), and the search goes on after it;
//   - if at some position no entry matches, the whole word is a single
//     unknown token;
//   - offsets count characters (runes) of the word; an invalid UTF-8 byte
//     counts as one character and is matched as U+FFFD.
type wordPiece struct {
	vocab    map[string]int
	unk      string
	prefix   string
	maxChars int
	maxLen   int // bytes of the longest vocabulary entry; longer candidates cannot match
}

func newWordPiece(vocab map[string]int, unk, prefix string, maxChars int) *wordPiece {
	w := &wordPiece{vocab: vocab, unk: unk, prefix: prefix, maxChars: maxChars}
	for tok := range vocab {
		w.maxLen = max(w.maxLen, len(tok))
	}
	return w
}

func (w *wordPiece) tokenize(word string) ([]piece, error) {
	if !utf8.ValidString(word) {
		// Each invalid byte becomes one U+FFFD character.
		word = string([]rune(word))
	}
	n := utf8.RuneCountInString(word)
	if n > w.maxChars {
		return w.unknown(n)
	}
	// at[i] is the byte offset of rune i; at[n] == len(word).
	at := make([]int, 0, n+1)
	for i := range word {
		at = append(at, i)
	}
	at = append(at, len(word))

	var out []piece
	var key []byte
	for start := 0; start < n; {
		matched := false
		for end := n; end > start; end-- {
			chars := word[at[start]:at[end]]
			var (
				tok string
				id  int
				ok  bool
			)
			if start == 0 {
				if len(chars) > w.maxLen {
					continue
				}
				tok = chars
				id, ok = w.vocab[tok]
			} else {
				if len(w.prefix)+len(chars) > w.maxLen {
					continue
				}
				key = append(append(key[:0], w.prefix...), chars...)
				if id, ok = w.vocab[string(key)]; ok {
					tok = string(key)
				}
			}
			if ok {
				out = append(out, piece{id: int32(id), a: int32(start), b: int32(end), tok: tok})
				start = end
				matched = true
				break
			}
		}
		if !matched {
			return w.unknown(n)
		}
	}
	return out, nil
}

// unknown is the result for a word of n characters that cannot be split.
func (w *wordPiece) unknown(n int) ([]piece, error) {
	id, ok := w.vocab[w.unk]
	if !ok {
		return nil, fmt.Errorf("wordpiece: unknown token %q is not in the vocabulary", w.unk)
	}
	return []piece{{id: int32(id), a: 0, b: int32(n), tok: w.unk}}, nil
}

// cleanups are applied in order, each to every occurrence, to each token
// (with its leading space) as it is decoded. Every pattern starts with a
// space.
var cleanups = [...]struct{ from, to string }{
	{" .", "."},
	{" ?", "?"},
	{" !", "!"},
	{" ,", ","},
	{" ' ", "'"},
	{" n't", "n't"},
	{" 'm", "'m"},
	{" do not", " don't"},
	{" 's", "'s"},
	{" 've", "'ve"},
	{" 're", "'re"},
}

func (w *wordPiece) decode(tokens []string) string {
	var b strings.Builder
	for i, tok := range tokens {
		if i > 0 {
			if rest, ok := strings.CutPrefix(tok, w.prefix); ok {
				tok = rest
			} else {
				tok = " " + tok
			}
		}
		b.WriteString(cleanup(tok))
	}
	return b.String()
}

// cleanup removes the spaces decode put before punctuation and
// contractions; the first token is cleaned too.
func cleanup(s string) string {
	if strings.IndexByte(s, ' ') < 0 {
		return s // no pattern can match
	}
	for _, c := range cleanups {
		s = strings.ReplaceAll(s, c.from, c.to)
	}
	return s
}
