// Package tokenizer is a BERT WordPiece tokenizer: it turns text into the
// fixed-length ids and attention mask that a BERT-style encoder takes.
//
// It loads a HuggingFace vocab.txt (one token a line, id = line number) or
// the WordPiece sections of a HuggingFace tokenizer.json, and gives the
// same ids, mask and offsets as HuggingFace's BertTokenizerFast with
// padding="max_length", truncation=True, max_length=T:
//
//   - clean text: NUL, U+FFFD (and so every invalid UTF-8 byte) and
//     control/format/private-use characters are dropped; every Unicode
//     space separates words;
//   - every CJK ideograph is a word of its own;
//   - accent stripping (NFD, then drop non-spacing marks: "Café" → "cafe")
//     and lowercasing, both on by default (WithLowercase, WithStripAccents);
//   - each punctuation character is a word of its own ("7.5mm" → "7" "."
//     "5mm"; "ill-defined" → "ill" "-" "defined");
//   - greedy longest-match WordPiece with "##" continuation pieces
//     ("5mm" → "5" "##mm"); a word over 100 characters, or one the
//     vocabulary cannot spell, becomes [UNK];
//   - special tokens written verbatim in the input ("[MASK]") stay whole;
//   - [CLS] … [SEP], truncated and padded with [PAD] to T, with a mask of
//     1s then 0s and byte offsets into the input ([0 0] for specials).
//
// Special tokens are looked up by name ([PAD], [UNK], [CLS], [SEP],
// [MASK]); no id is hard-coded, so Google's vocabularies ([UNK]=100 …) and
// ours ([PAD]=0 … [MASK]=4, see TrainVocab) both work.
//
// TrainVocab builds a vocabulary from a corpus with this package's own
// trainer, and WriteVocab saves one atomically.
//
// # Use of github.com/sugarme/tokenizer
//
// On 64-bit targets the WordPiece model (vocabulary lookup, greedy longest
// match, the 100-character rule) and the decoder come from
// sugarme/tokenizer v0.3.0 (wordpiece_lib.go). The library does not compile
// on 32-bit targets (386, arm, mips, mipsle: its root package passes a
// 2 GiB constant as an int), so there this package uses its own WordPiece
// model and decoder (wordpiece.go, selected by wordpiece_own.go), written
// to behave exactly as the library's: same pieces, ids and offsets, the
// whole word as [UNK] when it is too long or cannot be spelt, and the same
// decoder cleanup. wordpiece_twin_test.go checks the two agree on the test
// corpora and under FuzzWordPieceTwin; it and defects_test.go run only
// where the library compiles, while wordpiece_test.go and the golden tests
// run on every target.
//
// The library's normaliser, pre-tokeniser, offsets, padding, truncation,
// file loaders and trainer are not used: measured on v0.3.0
// (defects_test.go), its normaliser drops accents without decomposing
// ("tümor" → [UNK]), treats only ASCII whitespace as a separator (NBSP,
// U+3000), repeats tokens after a leading zero-width space or soft hyphen,
// panics on "Ⱥ" (and on "İ" without NFD); its offsets shift after CJK
// characters; WithFixed padding does not truncate; DefaultWordpieceDecoder
// panics; its vocab.txt reader panics (and calls log.Fatal on a missing
// file); its trainer prints to stdout; its pretrained presets os.Chdir to
// the build machine's source folder and log.Fatal where it is absent. This
// package does those parts itself and never imports pretrained.
//
// # Golden file
//
// testdata/golden.jsonl holds {text, T, ids, tokens} for 200 expressions,
// tokenised with testdata/vocab.txt at T=64; other implementations (the
// Python side) are checked against it. Regenerate it with
//
//	go test ./tokenizer -update
//
// and testdata/vocab.txt (TrainVocab on a corpus in corpus_test.go, plus
// hand-added words) with -update-vocab -update. TestHFOracle checks the
// golden ids, and thousands of edge-case and random texts in four
// case/accent settings, against HuggingFace tokenizers itself when
// TOKENIZER_HF_ORACLE names a node_modules folder holding the npm package
// "tokenizers" (its Rust core through Node); it is skipped otherwise.
package tokenizer
