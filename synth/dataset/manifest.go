package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Errors returned by the manifest reader.
var (
	// ErrInvalidRecord marks a manifest line that parses as JSON but breaks
	// a rule of the format (missing field, target not among the lesions...).
	ErrInvalidRecord = errors.New("invalid record")
	// ErrUnknownFormat marks a dataset.json of another format.
	ErrUnknownFormat = errors.New("unknown dataset format")
)

// LineError reports a bad manifest line.
type LineError struct {
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("manifest line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// MaxLineBytes bounds one manifest line.
const MaxLineBytes = 4 << 20

// ReadManifest parses JSONL records. Blank lines are skipped; unknown
// fields are rejected so that typos surface. Errors are *LineError.
func ReadManifest(r io.Reader) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLineBytes)
	var recs []Record
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec Record
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, &LineError{Line: line, Err: err}
		}
		if dec.More() {
			return nil, &LineError{Line: line, Err: errors.New("trailing data after the JSON object")}
		}
		if err := rec.Validate(); err != nil {
			return nil, &LineError{Line: line, Err: err}
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, &LineError{Line: line + 1, Err: err}
	}
	return recs, nil
}

// Validate checks the rules a record must follow.
func (r *Record) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidRecord, fmt.Sprintf(format, a...))
	}
	switch {
	case r.Case == "":
		return bad("empty case")
	case r.Image == "" || r.Mask == "":
		return bad("empty image or mask path")
	case filepath.IsAbs(r.Image) || filepath.IsAbs(r.Mask) ||
		strings.Contains(r.Image, "..") || strings.Contains(r.Mask, ".."):
		return bad("image and mask paths must be relative and inside the dataset")
	case r.Rows <= 0 || r.Columns <= 0:
		return bad("rows and columns must be positive")
	case r.PixelSpacing[0] <= 0 || r.PixelSpacing[1] <= 0:
		return bad("pixel spacing must be positive")
	case r.SliceIndex < 0 || r.SliceIndex >= r.SliceCount:
		return bad("slice index %d outside 0..%d", r.SliceIndex, r.SliceCount-1)
	case len(r.Expressions) == 0:
		return bad("no expressions")
	}
	found := false
	for _, l := range r.Lesions {
		if l.ID == r.TargetID {
			found = true
		}
	}
	if !found || r.Target.ID != r.TargetID {
		return bad("target %d is not among the slice's lesions", r.TargetID)
	}
	for i, e := range r.Expressions {
		if e.Text == "" {
			return bad("expression %d has no text", i)
		}
	}
	return nil
}

// MarshalRecord encodes one record as a manifest line (with its newline).
func MarshalRecord(r *Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteManifest writes records as JSONL.
func WriteManifest(w io.Writer, recs []Record) error {
	for i := range recs {
		b, err := MarshalRecord(&recs[i])
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// Dataset is an opened synthetic dataset.
type Dataset struct {
	Root    string
	Info    Info
	Records []Record
}

// Open reads dataset.json and manifest.jsonl from root.
func Open(root string) (*Dataset, error) {
	d := &Dataset{Root: root}
	b, err := os.ReadFile(filepath.Join(root, "dataset.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &d.Info); err != nil {
		return nil, fmt.Errorf("dataset.json: %w", err)
	}
	if d.Info.Format != Format {
		return nil, fmt.Errorf("dataset.json: %w %q (want %q)", ErrUnknownFormat, d.Info.Format, Format)
	}
	f, err := os.Open(filepath.Join(root, "manifest.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d.Records, err = ReadManifest(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return d, nil
}

// Split returns the records of one split (train, val or test).
func (d *Dataset) Split(name string) []Record {
	var out []Record
	for _, r := range d.Records {
		if r.Split == name {
			out = append(out, r)
		}
	}
	return out
}

// Image reads a record's slice as HU.
func (d *Dataset) Image(r *Record) (*HUImage, error) {
	off := r.HUOffset
	if off == 0 {
		off = d.Info.HUOffset
	}
	return ReadHU(filepath.Join(d.Root, filepath.FromSlash(r.Image)), off)
}

// Mask reads a record's target mask.
func (d *Dataset) Mask(r *Record) (*Mask, error) {
	return ReadMask(filepath.Join(d.Root, filepath.FromSlash(r.Mask)))
}
