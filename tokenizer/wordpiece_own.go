//go:build 386 || arm || mips || mipsle

package tokenizer

// On 32-bit targets, where github.com/sugarme/tokenizer does not compile,
// the WordPiece model and decoder are this package's own (wordpiece.go),
// which give the same tokens, offsets and text as the library's.
func newWordPiecer(vocab map[string]int, unk, prefix string, maxChars int) wordPiecer {
	return newWordPiece(vocab, unk, prefix, maxChars)
}
