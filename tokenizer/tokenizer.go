package tokenizer

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// The special tokens, looked up by name in every vocabulary.
const (
	PadToken  = "[PAD]"
	UnkToken  = "[UNK]"
	ClsToken  = "[CLS]"
	SepToken  = "[SEP]"
	MaskToken = "[MASK]"
)

// DefaultMaxInputChars is BERT's limit on the characters of one word;
// longer words become [UNK].
const DefaultMaxInputChars = 100

// Encoding is one text encoded to a fixed length T. All slices have length T.
type Encoding struct {
	IDs       []int32
	Mask      []int32  // 1 for a real token ([CLS] and [SEP] included), 0 for padding
	Tokens    []string // the token for each id
	Offsets   [][2]int // byte offsets [start, end) into the input; [0, 0] for [CLS], [SEP] and [PAD]
	Truncated bool     // tokens were dropped to fit T
}

// Len is the number of real tokens (the 1s of Mask).
func (e Encoding) Len() int {
	n := 0
	for _, m := range e.Mask {
		n += int(m)
	}
	return n
}

// SpecialIDs are the ids of the special tokens in a vocabulary. Mask is -1
// when the vocabulary has no [MASK].
type SpecialIDs struct {
	Pad, Unk, Cls, Sep, Mask int32
}

// Tokenizer is a BERT WordPiece tokenizer. It is safe for concurrent use.
type Tokenizer struct {
	source   string
	wp       wordPiecer // WordPiece model and decoder (wordpiece.go)
	norm     normalizer
	vocab    map[string]int
	byID     map[int]string
	size     int
	unk      string
	prefix   string
	maxChars int
	ids      SpecialIDs
	literals []string  // tokens matched verbatim in the input, longest first
	first    [256]bool // first bytes of literals
	pool     sync.Pool // *words
	cache    *wordCache
}

// Option changes how a tokenizer normalises text.
type Option func(*options)

type options struct {
	lowercase *bool
	strip     *bool
	maxChars  *int
}

// WithLowercase turns lowercasing on or off (default: on, or what a
// tokenizer.json says). Without WithStripAccents, accent stripping follows it,
// as in HuggingFace.
func WithLowercase(on bool) Option { return func(o *options) { o.lowercase = &on } }

// WithStripAccents turns accent stripping on or off (default: same as
// lowercasing).
func WithStripAccents(on bool) Option { return func(o *options) { o.strip = &on } }

// WithMaxInputChars sets the longest word, in characters, that WordPiece
// splits; longer words become [UNK]. It must be at least 1.
func WithMaxInputChars(n int) Option { return func(o *options) { o.maxChars = &n } }

// spec is a parsed vocabulary and its settings, before options.
type spec struct {
	source    string
	vocab     map[string]int
	byID      map[int]string
	size      int
	unk       string
	prefix    string
	maxChars  int
	lowercase bool
	strip     *bool
	chinese   bool
	literals  []string
}

func newSpec(source string) *spec {
	return &spec{
		source:    source,
		vocab:     map[string]int{},
		byID:      map[int]string{},
		unk:       UnkToken,
		prefix:    "##",
		maxChars:  DefaultMaxInputChars,
		lowercase: true,
		chinese:   true,
	}
}

// bertLiterals are the special tokens HuggingFace registers for a BERT
// vocab.txt; when present they are matched verbatim in the input.
var bertLiterals = []string{PadToken, UnkToken, ClsToken, SepToken, MaskToken}

func (s *spec) build(opts []Option) (*Tokenizer, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.lowercase != nil {
		s.lowercase = *o.lowercase
		if o.strip == nil {
			s.strip = nil
		}
	}
	if o.strip != nil {
		s.strip = o.strip
	}
	if o.maxChars != nil {
		s.maxChars = *o.maxChars
	}
	if s.maxChars < 1 {
		return nil, fmt.Errorf("%w: max input chars per word is %d, want at least 1", ErrUnsupported, s.maxChars)
	}
	strip := s.lowercase
	if s.strip != nil {
		strip = *s.strip
	}
	t := &Tokenizer{
		source:   s.source,
		norm:     normalizer{lowercase: s.lowercase, stripAccents: strip, chinese: s.chinese},
		vocab:    s.vocab,
		byID:     s.byID,
		size:     s.size,
		unk:      s.unk,
		prefix:   s.prefix,
		maxChars: s.maxChars,
	}
	lookup := func(tok string) (int32, error) {
		id, ok := s.vocab[tok]
		if !ok {
			return -1, &MissingTokenError{Source: s.source, Token: tok}
		}
		return int32(id), nil
	}
	var err error
	if t.ids.Unk, err = lookup(s.unk); err != nil {
		return nil, err
	}
	if t.ids.Pad, err = lookup(PadToken); err != nil {
		return nil, err
	}
	if t.ids.Cls, err = lookup(ClsToken); err != nil {
		return nil, err
	}
	if t.ids.Sep, err = lookup(SepToken); err != nil {
		return nil, err
	}
	t.ids.Mask, _ = lookup(MaskToken)

	seen := map[string]bool{}
	for _, lit := range s.literals {
		if lit == "" || seen[lit] {
			continue
		}
		if _, ok := s.vocab[lit]; !ok {
			continue
		}
		seen[lit] = true
		t.literals = append(t.literals, lit)
		t.first[lit[0]] = true
	}
	sort.Slice(t.literals, func(i, j int) bool {
		if len(t.literals[i]) != len(t.literals[j]) {
			return len(t.literals[i]) > len(t.literals[j])
		}
		return t.literals[i] < t.literals[j]
	})

	t.wp = newWordPiecer(s.vocab, s.unk, s.prefix, s.maxChars)
	t.pool.New = func() any { return &words{start: -1} }
	t.cache = &wordCache{m: map[string][]piece{}}
	return t, nil
}

// VocabSize is the number of ids: one more than the largest id.
func (t *Tokenizer) VocabSize() int { return t.size }

// SpecialIDs returns the ids of [PAD], [UNK], [CLS], [SEP] and [MASK].
func (t *Tokenizer) SpecialIDs() SpecialIDs { return t.ids }

// TokenID returns the id of a token.
func (t *Tokenizer) TokenID(token string) (int32, bool) {
	id, ok := t.vocab[token]
	return int32(id), ok
}

// Token returns the token with an id.
func (t *Tokenizer) Token(id int32) (string, bool) {
	tok, ok := t.byID[int(id)]
	return tok, ok
}

// Encode tokenises text to exactly T ids: [CLS], the WordPiece tokens
// (truncated to T-2), [SEP], then [PAD] up to T. Any byte string is valid
// input; invalid UTF-8 bytes are dropped like U+FFFD. The only error is
// ErrLength, for T < 2 or T > MaxLength.
func (t *Tokenizer) Encode(text string, T int) (Encoding, error) {
	if T < 2 || T > MaxLength {
		return Encoding{}, fmt.Errorf("%w: T=%d, want 2..%d", ErrLength, T, MaxLength)
	}
	enc := Encoding{
		IDs:     make([]int32, T),
		Mask:    make([]int32, T),
		Tokens:  make([]string, T),
		Offsets: make([][2]int, T),
	}
	enc.IDs[0], enc.Tokens[0], enc.Mask[0] = t.ids.Cls, ClsToken, 1
	n := 1
	limit := T - 1 // index where [SEP] goes at the latest
	add := func(id int, tok string, start, end int) bool {
		if n == limit {
			enc.Truncated = true
			return false
		}
		enc.IDs[n], enc.Tokens[n], enc.Mask[n] = int32(id), tok, 1
		enc.Offsets[n] = [2]int{start, end}
		n++
		return true
	}
	t.tokens(text, add)
	enc.IDs[n], enc.Tokens[n], enc.Mask[n] = t.ids.Sep, SepToken, 1
	for i := n + 1; i < T; i++ {
		enc.IDs[i], enc.Tokens[i] = t.ids.Pad, PadToken
	}
	return enc, nil
}

// Tokenize returns the WordPiece tokens of text, without special tokens,
// padding or truncation.
func (t *Tokenizer) Tokenize(text string) []string {
	var out []string
	t.tokens(text, func(_ int, tok string, _, _ int) bool {
		out = append(out, tok)
		return true
	})
	return out
}

// tokens calls add for each token of text in order until add returns false.
func (t *Tokenizer) tokens(text string, add func(id int, tok string, start, end int) bool) {
	w := t.pool.Get().(*words)
	defer t.pool.Put(w)
	from := 0
	for from <= len(text) {
		// Next verbatim special token at or after from.
		litAt, litLen := len(text), 0
		if len(t.literals) > 0 {
			for i := from; i < len(text); i++ {
				if !t.first[text[i]] {
					continue
				}
				for _, lit := range t.literals { // longest first
					if strings.HasPrefix(text[i:], lit) {
						litAt, litLen = i, len(lit)
						break
					}
				}
				if litLen > 0 {
					break
				}
			}
		}
		if !t.segment(text, from, litAt, w, add) {
			return
		}
		if litLen == 0 {
			return
		}
		lit := text[litAt : litAt+litLen]
		if !add(t.vocab[lit], lit, litAt, litAt+litLen) {
			return
		}
		from = litAt + litLen
	}
}

// segment tokenises text[from:to], which holds no special token.
func (t *Tokenizer) segment(text string, from, to int, w *words, add func(int, string, int, int) bool) bool {
	if from >= to {
		return true
	}
	w.reset()
	t.norm.split(text, from, to, w)
	for _, wd := range w.words {
		spans := w.spans[wd[0]:wd[1]]
		w.buf = w.buf[:0]
		for _, r := range w.runes[wd[0]:wd[1]] {
			w.buf = utf8.AppendRune(w.buf, r)
		}
		for _, p := range t.wordPieces(w.buf, len(spans)) {
			if !add(int(p.id), p.tok, spans[p.a][0], spans[p.b-1][1]) {
				return false
			}
		}
	}
	return true
}

// piece is one WordPiece token of a word: its id and its runes [a, b).
type piece struct {
	id   int32
	a, b int32
	tok  string
}

// wordCacheMax bounds the per-tokenizer cache of word → pieces.
const wordCacheMax = 1 << 16

type wordCache struct {
	mu sync.RWMutex
	m  map[string][]piece
}

// wordPieces splits one normalised word (UTF-8, n runes) with the
// WordPiece model, through a bounded cache.
func (t *Tokenizer) wordPieces(word []byte, n int) []piece {
	if c := t.cache; c != nil {
		c.mu.RLock()
		ps, ok := c.m[string(word)]
		c.mu.RUnlock()
		if ok {
			return ps
		}
	}
	key := string(word)
	ps, err := t.wp.tokenize(key)
	for _, p := range ps {
		// The model gives rune offsets within the word; they are mapped to
		// input bytes by the caller.
		if p.a < 0 || p.a >= p.b || int(p.b) > n {
			err = fmt.Errorf("bad offsets [%d %d]", p.a, p.b)
			break
		}
	}
	if err != nil || len(ps) == 0 {
		// Unreachable: [UNK] is checked at construction and words are
		// never empty. Keep Encode total anyway.
		ps = []piece{{id: t.ids.Unk, a: 0, b: int32(n), tok: t.unk}}
	}
	if c := t.cache; c != nil {
		c.mu.Lock()
		if len(c.m) < wordCacheMax {
			c.m[key] = ps
		}
		c.mu.Unlock()
	}
	return ps
}

// EncodeBatch encodes each text to length T, in parallel.
func (t *Tokenizer) EncodeBatch(texts []string, T int) ([]Encoding, error) {
	if T < 2 || T > MaxLength {
		return nil, fmt.Errorf("%w: T=%d, want 2..%d", ErrLength, T, MaxLength)
	}
	out := make([]Encoding, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], _ = t.Encode(texts[i], T) // T was checked above
			}
		}()
	}
	for i := range texts {
		next <- i
	}
	close(next)
	wg.Wait()
	return out, nil
}

// Decode turns ids back into text: [PAD], [CLS] and [SEP] are dropped,
// "##" pieces are glued to the piece before, and spaces before punctuation
// are cleaned up as HuggingFace's WordPiece decoder does. Ids not in the
// vocabulary decode as [UNK]. Decoding is lossy: case, accents and the
// spacing around punctuation of the original are not recovered.
func (t *Tokenizer) Decode(ids []int32) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == t.ids.Pad || id == t.ids.Cls || id == t.ids.Sep {
			continue
		}
		tok, ok := t.byID[int(id)]
		if !ok {
			tok = t.unk
		}
		toks = append(toks, tok)
	}
	if len(toks) == 0 {
		return ""
	}
	return t.wp.decode(toks)
}

// Vocab returns the vocabulary in id order. It fails with ErrVocab when the
// ids have gaps (possible with a tokenizer.json).
func (t *Tokenizer) Vocab() ([]string, error) {
	out := make([]string, t.size)
	for i := range out {
		tok, ok := t.byID[i]
		if !ok {
			return nil, vocabErr(t.source, 0, ErrVocab, "no token has id %d, so it cannot be written as vocab.txt", i)
		}
		out[i] = tok
	}
	return out, nil
}

// WriteVocab writes the vocabulary as a vocab.txt, atomically.
func (t *Tokenizer) WriteVocab(path string) error {
	v, err := t.Vocab()
	if err != nil {
		return err
	}
	return writeVocab(path, v, true)
}
