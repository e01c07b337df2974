package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// WriteVocab writes tokens, in id order, as a HuggingFace vocab.txt at path,
// atomically: a temporary file in the same directory is written, synced and
// renamed over path, so readers see the old file or the new one, never part
// of one. Tokens must be valid UTF-8, distinct, non-empty, without line
// breaks and without trailing whitespace (which vocab.txt readers strip).
func WriteVocab(path string, tokens []string) error {
	return writeVocab(path, tokens, false)
}

func writeVocab(path string, tokens []string, allowDup bool) error {
	if len(tokens) == 0 {
		return vocabErr(path, 0, ErrVocab, "no tokens to write")
	}
	seen := make(map[string]int, len(tokens))
	var b strings.Builder
	for i, tok := range tokens {
		switch {
		case tok == "":
			return vocabErr(path, 0, ErrVocab, "token %d is empty", i)
		case !utf8.ValidString(tok):
			return vocabErr(path, 0, ErrVocab, "token %d (%q) is not valid UTF-8", i, tok)
		case strings.ContainsAny(tok, "\n\r"):
			return vocabErr(path, 0, ErrVocab, "token %d (%q) holds a line break", i, tok)
		case strings.TrimRightFunc(tok, isRustWhitespace) != tok:
			return vocabErr(path, 0, ErrVocab, "token %d (%q) ends in whitespace", i, tok)
		}
		if j, dup := seen[tok]; dup && !allowDup {
			return vocabErr(path, 0, ErrVocab, "token %q is both id %d and id %d", tok, j, i)
		}
		seen[tok] = i
		b.WriteString(tok)
		b.WriteByte('\n')
	}
	return writeFileAtomic(path, []byte(b.String()))
}

// writeFileAtomic writes data to path via a synced temporary file and a
// rename, then syncs the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("tokenizer: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("tokenizer: write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("tokenizer: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("tokenizer: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("tokenizer: write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tokenizer: write %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: makes the rename durable where supported
		d.Close()
	}
	return nil
}
