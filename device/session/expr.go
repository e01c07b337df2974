package session

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxExpressionRunes bounds an expression (it is stored in the SEG's
// Segment Description, an ST of at most 1024 characters).
const MaxExpressionRunes = 1024

// ErrExpression: an expression or an expression map is unusable.
var ErrExpression = errors.New("session: bad expression")

// CleanExpression returns e with every run of white space and control
// characters (and backslashes, the DICOM value separator) turned into one
// space and the ends trimmed. Empty, non-UTF-8 or over-long results are
// ErrExpression.
func CleanExpression(e string) (string, error) {
	if !utf8.ValidString(e) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrExpression)
	}
	var b strings.Builder
	space := false
	for _, r := range e {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\' || r == utf8.RuneError {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	out := b.String()
	if out == "" {
		return "", fmt.Errorf("%w: empty", ErrExpression)
	}
	if n := utf8.RuneCountInString(out); n > MaxExpressionRunes {
		return "", fmt.Errorf("%w: %d characters, at most %d", ErrExpression, n, MaxExpressionRunes)
	}
	return out, nil
}

// ParseExpressionMap reads per-series expression overrides, one per line:
//
//	SERIES_INSTANCE_UID = expression
//
// Blank lines and lines starting with # are skipped. A UID must be digits
// and dots (at most 64); a UID given twice, a line without "=", or an
// unusable expression is an ErrExpression error naming the line.
func ParseExpressionMap(data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		uid, expr, ok := strings.Cut(t, "=")
		if !ok {
			return nil, fmt.Errorf("%w: line %d: want SERIES_INSTANCE_UID = expression", ErrExpression, line)
		}
		uid = strings.TrimSpace(uid)
		if uid == "" || len(uid) > 64 || strings.Trim(uid, "0123456789.") != "" {
			return nil, fmt.Errorf("%w: line %d: %q is not a UID (digits and dots, at most 64)", ErrExpression, line, truncRunes(uid, 70))
		}
		if _, dup := out[uid]; dup {
			return nil, fmt.Errorf("%w: line %d: series %s given twice", ErrExpression, line, uid)
		}
		c, err := CleanExpression(expr)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out[uid] = c
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrExpression, line+1, err)
	}
	return out, nil
}
