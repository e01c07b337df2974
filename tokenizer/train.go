package tokenizer

import (
	"fmt"
	"sort"
	"strings"
)

// TrainSpecials are the special tokens TrainVocab puts first, in this
// order: [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4. (Google's BERT
// vocabularies order them differently; the tokenizer looks them up by name.)
var TrainSpecials = []string{PadToken, UnkToken, ClsToken, SepToken, MaskToken}

// TrainVocab builds a WordPiece vocabulary of at most size tokens from a
// corpus of texts, normalised and pre-tokenised as Encode does (lowercase,
// accents stripped, CJK and punctuation split). The result is, in order:
//
//  1. TrainSpecials;
//  2. every character of the corpus, then every character with "##";
//  3. merged pieces, best first, until size is reached or no pair of
//     adjacent pieces occurs at least minFreq times.
//
// Every word starts as its characters, all but the first with "##"; the
// most frequent adjacent pair of pieces (counted over the corpus, ties to
// the smaller joined piece) is merged into a new piece, as HuggingFace's
// WordPiece trainer does (it is BPE with the "##" prefix). Frequent words
// and subwords thus enter the vocabulary first. Words longer than
// DefaultMaxInputChars characters are skipped (they become [UNK]).
//
// It fails with ErrTrain when size cannot hold steps 1 and 2. The result is
// deterministic.
func TrainVocab(corpus []string, size int, minFreq int) ([]string, error) {
	if minFreq < 1 {
		minFreq = 1
	}
	nz := normalizer{lowercase: true, stripAccents: true, chinese: true}
	counts := map[string]int{}
	w := &words{start: -1}
	for _, text := range corpus {
		w.reset()
		nz.split(text, 0, len(text), w)
		for _, wd := range w.words {
			if wd[1]-wd[0] > DefaultMaxInputChars {
				continue
			}
			counts[string(w.runes[wd[0]:wd[1]])]++
		}
	}

	// Alphabet.
	charSet := map[rune]bool{}
	for word := range counts {
		for _, r := range word {
			charSet[r] = true
		}
	}
	chars := make([]rune, 0, len(charSet))
	for r := range charSet {
		chars = append(chars, r)
	}
	sort.Slice(chars, func(i, j int) bool { return chars[i] < chars[j] })

	const prefix = "##"
	vocab := append([]string(nil), TrainSpecials...)
	for _, r := range chars {
		vocab = append(vocab, string(r))
	}
	for _, r := range chars {
		vocab = append(vocab, prefix+string(r))
	}
	if size < len(vocab) {
		return nil, fmt.Errorf("%w: size %d is below the %d special and character tokens the corpus needs",
			ErrTrain, size, len(vocab))
	}

	// Symbols: pieces by id; words as symbol sequences.
	m := newMerger(prefix)
	for _, tok := range vocab[len(TrainSpecials):] {
		m.intern(tok)
	}
	type wordSeq struct {
		syms []int
		freq int
	}
	uniq := make([]string, 0, len(counts))
	for word := range counts {
		uniq = append(uniq, word)
	}
	sort.Strings(uniq)
	for _, word := range uniq {
		var syms []int
		for i, r := range []rune(word) {
			if i == 0 {
				syms = append(syms, m.intern(string(r)))
			} else {
				syms = append(syms, m.intern(prefix+string(r)))
			}
		}
		m.addWord(syms, counts[word])
	}

	inVocab := map[string]bool{}
	for _, tok := range vocab {
		inVocab[tok] = true
	}
	for len(vocab) < size {
		p, ok := m.best(minFreq)
		if !ok {
			break
		}
		tok := m.merge(p)
		if !inVocab[tok] {
			inVocab[tok] = true
			vocab = append(vocab, tok)
		}
	}
	return vocab, nil
}

type pair struct{ a, b int }

// merger holds the words of a corpus as symbol sequences with incremental
// pair and symbol counts.
type merger struct {
	prefix    string
	syms      []string
	ids       map[string]int
	words     [][]int
	freq      []int
	symCount  []int
	pairCount map[pair]int
	where     map[pair]map[int]bool // pair → words that (may) hold it
}

func newMerger(prefix string) *merger {
	return &merger{prefix: prefix, ids: map[string]int{}, pairCount: map[pair]int{}, where: map[pair]map[int]bool{}}
}

func (m *merger) intern(s string) int {
	if id, ok := m.ids[s]; ok {
		return id
	}
	m.ids[s] = len(m.syms)
	m.syms = append(m.syms, s)
	m.symCount = append(m.symCount, 0)
	return len(m.syms) - 1
}

func (m *merger) addWord(syms []int, freq int) {
	m.words = append(m.words, syms)
	m.freq = append(m.freq, freq)
	m.count(len(m.words)-1, +1)
}

// count adds (sign +1) or removes (-1) word wi's contribution.
func (m *merger) count(wi, sign int) {
	syms, f := m.words[wi], m.freq[wi]*sign
	for i, s := range syms {
		m.symCount[s] += f
		if i+1 < len(syms) {
			p := pair{s, syms[i+1]}
			m.pairCount[p] += f
			if m.pairCount[p] == 0 {
				delete(m.pairCount, p)
			}
			if sign > 0 {
				set := m.where[p]
				if set == nil {
					set = map[int]bool{}
					m.where[p] = set
				}
				set[wi] = true
			}
		}
	}
}

// best picks the pair to merge next: the most frequent, ties going to the
// smaller joined token (then the smaller symbol ids, for determinism when
// two pairs join to the same string).
func (m *merger) best(minFreq int) (pair, bool) {
	var (
		bp    pair
		bc    int
		btok  string
		found bool
	)
	for p, c := range m.pairCount {
		if c < minFreq || (found && c < bc) {
			continue
		}
		tok := m.joined(p)
		if !found || c > bc || tok < btok || (tok == btok && (p.a < bp.a || (p.a == bp.a && p.b < bp.b))) {
			bp, bc, btok, found = p, c, tok, true
		}
	}
	return bp, found
}

func (m *merger) joined(p pair) string {
	return m.syms[p.a] + strings.TrimPrefix(m.syms[p.b], m.prefix)
}

// merge replaces every occurrence of p by its joined symbol and returns
// the joined token.
func (m *merger) merge(p pair) string {
	tok := m.joined(p)
	id := m.intern(tok)
	set := m.where[p]
	delete(m.where, p)
	affected := make([]int, 0, len(set))
	for wi := range set {
		affected = append(affected, wi)
	}
	sort.Ints(affected)
	for _, wi := range affected {
		syms := m.words[wi]
		has := false
		for i := 0; i+1 < len(syms); i++ {
			if syms[i] == p.a && syms[i+1] == p.b {
				has = true
				break
			}
		}
		if !has {
			continue
		}
		m.count(wi, -1)
		out := syms[:0:0]
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == p.a && syms[i+1] == p.b {
				out = append(out, id)
				i++
			} else {
				out = append(out, syms[i])
			}
		}
		m.words[wi] = out
		m.count(wi, +1)
	}
	return tok
}
