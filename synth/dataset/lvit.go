package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Errors of the LViT reader.
var (
	ErrNoTable   = errors.New("no text table")
	ErrNoColumn  = errors.New("missing column")
	ErrNoImage   = errors.New("image not found")
	ErrNoMask    = errors.New("mask not found")
	ErrNoSplits  = errors.New("no Train_Folder, Val_Folder or Test_Folder")
	ErrEmptyCell = errors.New("empty cell")
)

// LViT split names, as in the folder names <Split>_Folder.
var LViTSplits = []string{"Train", "Val", "Test"}

// LViTSample is one row of an LViT text table with its files resolved.
type LViTSample struct {
	Split string // Train, Val or Test
	Image string // path of the image in img/
	Mask  string // path of the mask in labelcol/
	Text  string
}

// RowError reports a bad table row.
type RowError struct {
	File string
	Row  int // 1-based table row (CSV: record, blank lines skipped; xlsx: sheet row); header = 1
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("%s: row %d: %v", e.File, e.Row, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// ReadLViT reads every <Split>_Folder under root (missing ones are
// skipped; none at all is ErrNoSplits). Samples keep the table order.
func ReadLViT(root string) (map[string][]LViTSample, error) {
	out := map[string][]LViTSample{}
	for _, split := range LViTSplits {
		dir := filepath.Join(root, split+"_Folder")
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		s, err := ReadLViTFolder(dir, split)
		if err != nil {
			return nil, err
		}
		out[split] = s
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", root, ErrNoSplits)
	}
	return out, nil
}

// ReadLViTFolder reads one split folder: its table (<split>_text.csv,
// <split>_text.xlsx, or the only .csv/.xlsx there), img/ and labelcol/.
func ReadLViTFolder(dir, split string) ([]LViTSample, error) {
	table, err := findTable(dir, split)
	if err != nil {
		return nil, err
	}
	rows, err := ReadTable(table)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, &RowError{File: table, Row: 1, Err: fmt.Errorf("%w: Image, Description (empty table)", ErrNoColumn)}
	}
	imgCol, txtCol := -1, -1
	for i, h := range rows[0] {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "image":
			imgCol = i
		case "description":
			txtCol = i
		}
	}
	if imgCol < 0 || txtCol < 0 {
		return nil, &RowError{File: table, Row: 1, Err: fmt.Errorf("%w: need Image and Description, have %q", ErrNoColumn, rows[0])}
	}
	imgDir, maskDir := filepath.Join(dir, "img"), filepath.Join(dir, "labelcol")
	stems, err := stemIndex(imgDir)
	if err != nil {
		return nil, err
	}
	var out []LViTSample
	for i, row := range rows[1:] {
		rowNo := i + 2
		cell := func(c int) string {
			if c < len(row) {
				return strings.TrimSpace(row[c])
			}
			return ""
		}
		name, text := cell(imgCol), cell(txtCol)
		if name == "" && text == "" {
			continue // blank row
		}
		if name == "" {
			return nil, &RowError{File: table, Row: rowNo, Err: fmt.Errorf("%w: Image", ErrEmptyCell)}
		}
		if filepath.Base(name) != name {
			return nil, &RowError{File: table, Row: rowNo, Err: fmt.Errorf("Image %q is not a plain file name", name)}
		}
		mask := filepath.Join(maskDir, name)
		if _, err := os.Stat(mask); err != nil {
			return nil, &RowError{File: table, Row: rowNo, Err: fmt.Errorf("%w: %s", ErrNoMask, mask)}
		}
		img, ok := resolveImage(imgDir, name, stems)
		if !ok {
			return nil, &RowError{File: table, Row: rowNo, Err: fmt.Errorf("%w for mask %s in %s", ErrNoImage, name, imgDir)}
		}
		out = append(out, LViTSample{Split: split, Image: img, Mask: mask, Text: text})
	}
	return out, nil
}

// resolveImage finds the image for a mask name: same name, the name
// without "mask_", or the same stem with another extension.
func resolveImage(imgDir, name string, stems map[string]string) (string, bool) {
	cands := []string{name}
	if s, ok := strings.CutPrefix(name, "mask_"); ok {
		cands = append(cands, s)
	}
	for _, c := range cands {
		p := filepath.Join(imgDir, c)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	for _, c := range cands {
		if f, ok := stems[strings.TrimSuffix(c, filepath.Ext(c))]; ok {
			return filepath.Join(imgDir, f), true
		}
	}
	return "", false
}

func stemIndex(dir string) (map[string]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		n := e.Name()
		stem := strings.TrimSuffix(n, filepath.Ext(n))
		if _, dup := m[stem]; !dup {
			m[stem] = n
		}
	}
	return m, nil
}

func findTable(dir, split string) (string, error) {
	for _, ext := range []string{".csv", ".xlsx"} {
		p := filepath.Join(dir, split+"_text"+ext)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var found []string
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".csv" || ext == ".xlsx") {
			found = append(found, e.Name())
		}
	}
	sort.Strings(found)
	if len(found) != 1 {
		return "", fmt.Errorf("%s: %w (want %s_text.csv or .xlsx; found %q)", dir, ErrNoTable, split, found)
	}
	return filepath.Join(dir, found[0]), nil
}

// ReadTable reads a .csv (RFC 4180, UTF-8, optional BOM) or .xlsx table
// as rows of strings.
func ReadTable(path string) ([][]string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx":
		return ReadXLSX(path)
	case ".csv":
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rows, err := readCSV(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return rows, nil
	}
	return nil, fmt.Errorf("%s: %w: extension must be .csv or .xlsx", path, ErrNoTable)
}

func readCSV(r io.Reader) ([][]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) > 0 && len(rows[0]) > 0 {
		rows[0][0] = strings.TrimPrefix(rows[0][0], "\ufeff")
	}
	return rows, nil
}
