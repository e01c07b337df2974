package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer holds the switches of HuggingFace's BertNormalizer. Clean text
// is always on; it is what makes invalid UTF-8 harmless (each bad byte
// decodes to U+FFFD, which clean text drops).
type normalizer struct {
	lowercase    bool
	stripAccents bool
	chinese      bool
}

// words is the output of normalisation plus pre-tokenisation: normalised
// runes, the byte span in the input that each came from, and the words as
// index ranges into runes.
type words struct {
	runes []rune
	spans [][2]int
	words [][2]int
	start int // index into runes where the current word began, -1 if none
	buf   []byte
}

func (w *words) reset() {
	w.runes = w.runes[:0]
	w.spans = w.spans[:0]
	w.words = w.words[:0]
	w.start = -1
}

// flush ends the current word, if any.
func (w *words) flush() {
	if w.start >= 0 && w.start < len(w.runes) {
		w.words = append(w.words, [2]int{w.start, len(w.runes)})
	}
	w.start = -1
}

// emit adds one normalised rune that came from input bytes [s, e), applying
// the BERT pre-tokeniser: whitespace separates, punctuation stands alone.
func (w *words) emit(r rune, s, e int) {
	switch {
	case isWhitespace(r):
		w.flush()
	case isPunct(r):
		w.flush()
		w.runes = append(w.runes, r)
		w.spans = append(w.spans, [2]int{s, e})
		w.words = append(w.words, [2]int{len(w.runes) - 1, len(w.runes)})
	default:
		if w.start < 0 {
			w.start = len(w.runes)
		}
		w.runes = append(w.runes, r)
		w.spans = append(w.spans, [2]int{s, e})
	}
}

// split normalises text[from:to] and appends its words to w. Spans are
// byte offsets into text.
func (n *normalizer) split(text string, from, to int, w *words) {
	for i := from; i < to; {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:to])
		}
		s, e := i, i+size
		i = e
		// Clean text.
		if r == 0 || r == utf8.RuneError || isControl(r) {
			continue
		}
		if isWhitespace(r) {
			w.flush()
			continue
		}
		// CJK ideographs become words of their own (spaces around them).
		if n.chinese && isChinese(r) {
			w.flush()
			n.normRune(r, s, e, w)
			w.flush()
			continue
		}
		n.normRune(r, s, e, w)
	}
	w.flush()
}

// normRune strips accents (NFD, drop Mn) then lowercases one input rune
// and emits the result.
func (n *normalizer) normRune(r rune, s, e int, w *words) {
	if r < utf8.RuneSelf {
		if n.lowercase && 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		w.emit(r, s, e)
		return
	}
	if n.stripAccents && r >= 0xC0 {
		w.buf = utf8.AppendRune(w.buf[:0], r)
		if !norm.NFD.IsNormal(w.buf) {
			dec := norm.NFD.Append(nil, w.buf...)
			for len(dec) > 0 {
				d, size := utf8.DecodeRune(dec)
				dec = dec[size:]
				if unicode.Is(unicode.Mn, d) {
					continue
				}
				n.lowerEmit(d, s, e, w)
			}
			return
		}
	}
	if n.stripAccents && unicode.Is(unicode.Mn, r) {
		return
	}
	n.lowerEmit(r, s, e, w)
}

func (n *normalizer) lowerEmit(r rune, s, e int, w *words) {
	if n.lowercase {
		if r == 'İ' {
			// Full (not simple) lowercase mapping, as Rust's char::to_lowercase
			// and Python's str.lower give: "i" + combining dot above. Reached
			// only without accent stripping (NFD splits İ into I + U+0307).
			w.emit('i', s, e)
			w.emit('\u0307', s, e)
			return
		}
		r = unicode.ToLower(r)
	}
	w.emit(r, s, e)
}

// isWhitespace is Unicode White_Space (Rust's char::is_whitespace).
func isWhitespace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || ('\t' <= r && r <= '\r')
	}
	return unicode.IsSpace(r)
}

// isControl is BERT's control test: Unicode categories Cc, Cf, Co and Cs
// (not unassigned code points, which HuggingFace keeps), except tab,
// newline and carriage return.
func isControl(r rune) bool {
	if r < utf8.RuneSelf {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isPunct is BERT's punctuation: any ASCII non-alphanumeric printable, or
// Unicode category P.
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// isChinese is BERT's "CJK Unified Ideographs" test.
func isChinese(r rune) bool {
	switch {
	case r < 0x3400:
		return false
	case r <= 0x4DBF:
		return true
	case r >= 0x4E00 && r <= 0x9FFF:
		return true
	case r >= 0xF900 && r <= 0xFAFF:
		return true
	case r >= 0x20000 && r <= 0x2A6DF:
		return true
	case r >= 0x2A700 && r <= 0x2B73F:
		return true
	case r >= 0x2B740 && r <= 0x2B81F:
		return true
	case r >= 0x2B920 && r <= 0x2CEAF:
		return true
	case r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}
