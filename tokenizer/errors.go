package tokenizer

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns matches one of them
// with errors.Is.
var (
	// ErrLength: the fixed length T is below 2 (room for [CLS] and [SEP])
	// or above MaxLength.
	ErrLength = errors.New("tokenizer: invalid sequence length")
	// ErrVocab: a vocabulary (file, slice or map) is malformed.
	ErrVocab = errors.New("tokenizer: invalid vocabulary")
	// ErrMissingToken: a required special token is not in the vocabulary.
	ErrMissingToken = errors.New("tokenizer: required token missing from vocabulary")
	// ErrUnsupported: a tokenizer.json describes something other than a
	// BERT WordPiece tokenizer.
	ErrUnsupported = errors.New("tokenizer: unsupported tokenizer configuration")
	// ErrTrain: TrainVocab was given arguments it cannot honour.
	ErrTrain = errors.New("tokenizer: cannot train vocabulary")
)

// MaxLength is the largest fixed length T that Encode accepts.
const MaxLength = 1 << 20

// VocabError reports a malformed vocabulary with where it was found.
// It unwraps to ErrVocab or ErrUnsupported.
type VocabError struct {
	Source string // file path, or "vocab" for in-memory vocabularies
	Line   int    // 1-based line for vocab.txt, 0 when not line based
	Msg    string
	Err    error
}

func (e *VocabError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%v: %s:%d: %s", e.Err, e.Source, e.Line, e.Msg)
	}
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Source, e.Msg)
}

func (e *VocabError) Unwrap() error { return e.Err }

// MissingTokenError names the special token a vocabulary lacks.
// It unwraps to ErrMissingToken.
type MissingTokenError struct {
	Source string
	Token  string
}

func (e *MissingTokenError) Error() string {
	return fmt.Sprintf("%v: %s has no %q", ErrMissingToken, e.Source, e.Token)
}

func (e *MissingTokenError) Unwrap() error { return ErrMissingToken }

func vocabErr(src string, line int, sentinel error, format string, args ...any) error {
	return &VocabError{Source: src, Line: line, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}
