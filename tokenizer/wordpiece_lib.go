//go:build !(386 || arm || mips || mipsle)

package tokenizer

import (
	"fmt"
	"strings"

	"github.com/sugarme/tokenizer/decoder"
	"github.com/sugarme/tokenizer/model"
	"github.com/sugarme/tokenizer/model/wordpiece"
)

// On 64-bit targets the WordPiece model and decoder are
// github.com/sugarme/tokenizer's. Its root package does not compile on
// 32-bit targets (an int constant of 2 GiB), where wordpiece_own.go is
// used instead.
func newWordPiecer(vocab map[string]int, unk, prefix string, maxChars int) wordPiecer {
	return newLibWordPiece(vocab, unk, prefix, maxChars)
}

// libWordPiece is sugarme/tokenizer's WordPiece model and decoder.
type libWordPiece struct {
	model wordpiece.WordPiece
	dec   *decoder.WordPieceDecoder
}

func newLibWordPiece(vocab map[string]int, unk, prefix string, maxChars int) *libWordPiece {
	mv := model.Vocab(vocab)
	return &libWordPiece{
		model: wordpiece.NewWordPieceBuilder().
			Vocab(&mv).
			UnkToken(unk).
			ContinuingSubwordPrefix(prefix).
			MaxInputCharsPerWord(maxChars).
			Build(),
		// Not decoder.DefaultWordpieceDecoder(): it leaves the embedded base
		// nil and panics on Decode (see defects_test.go).
		dec: decoder.NewWordPieceDecoder(prefix, true),
	}
}

func (l *libWordPiece) tokenize(word string) ([]piece, error) {
	toks, err := l.model.Tokenize(word)
	if err != nil {
		return nil, err
	}
	ps := make([]piece, 0, len(toks))
	for _, p := range toks {
		if len(p.Offsets) != 2 {
			return nil, fmt.Errorf("bad offsets %v", p.Offsets)
		}
		ps = append(ps, piece{id: int32(p.Id), a: int32(p.Offsets[0]), b: int32(p.Offsets[1]), tok: p.Value})
	}
	return ps, nil
}

func (l *libWordPiece) decode(tokens []string) string {
	return strings.Join(l.dec.DecodeChain(tokens), "")
}
