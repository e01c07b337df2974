package dataset

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
)

// ErrXLSX marks a workbook this reader cannot use.
var ErrXLSX = errors.New("unreadable xlsx")

// maxXLSXPart bounds the decompressed size of one workbook part.
const maxXLSXPart = 256 << 20

// ReadXLSX returns the cells of the first worksheet of an .xlsx workbook
// as rows of strings (shared, inline and formula strings; numbers as
// written). Missing cells are empty strings; trailing empty rows are kept
// out. Only sharedStrings and the worksheet are read: styles, dates and
// formulas are not interpreted.
func ReadXLSX(filename string) ([][]string, error) {
	zr, err := zip.OpenReader(filename)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", filename, ErrXLSX, err)
	}
	defer zr.Close()
	rows, err := readXLSX(&zr.Reader)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	return rows, nil
}

// ReadXLSXFrom is ReadXLSX on an open file of the given size.
func ReadXLSXFrom(r io.ReaderAt, size int64) ([][]string, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrXLSX, err)
	}
	return readXLSX(zr)
}

func readXLSX(zr *zip.Reader) ([][]string, error) {
	files := map[string]*zip.File{}
	var sheets []string
	for _, f := range zr.File {
		name := strings.TrimPrefix(f.Name, "/")
		files[name] = f
		if path.Dir(name) == "xl/worksheets" && strings.HasSuffix(name, ".xml") {
			sheets = append(sheets, name)
		}
	}
	sheet := "xl/worksheets/sheet1.xml"
	if files[sheet] == nil {
		if len(sheets) == 0 {
			return nil, fmt.Errorf("%w: no worksheet", ErrXLSX)
		}
		sort.Strings(sheets)
		sheet = sheets[0]
	}
	var shared []string
	if f := files["xl/sharedStrings.xml"]; f != nil {
		var err error
		if shared, err = parseSharedStrings(f); err != nil {
			return nil, err
		}
	}
	return parseSheet(files[sheet], shared)
}

func openPart(f *zip.File) (io.ReadCloser, *xml.Decoder, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrXLSX, f.Name, err)
	}
	return rc, xml.NewDecoder(io.LimitReader(rc, maxXLSXPart)), nil
}

// parseSharedStrings reads <si> items; each is the concatenation of its
// <t> texts outside phonetic runs (<rPh>).
func parseSharedStrings(f *zip.File) ([]string, error) {
	rc, dec, err := openPart(f)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var out []string
	var cur strings.Builder
	inSI, inT, inPh := false, false, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: sharedStrings: %v", ErrXLSX, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				inSI = true
				cur.Reset()
			case "rPh":
				inPh++
			case "t":
				inT = inSI && inPh == 0
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				out = append(out, cur.String())
				inSI = false
			case "rPh":
				inPh--
			case "t":
				inT = false
			}
		case xml.CharData:
			if inT {
				cur.Write(t)
			}
		}
	}
	return out, nil
}

// parseSheet reads <row>/<c> cells of a worksheet.
func parseSheet(f *zip.File, shared []string) ([][]string, error) {
	rc, dec, err := openPart(f)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var rows [][]string
	var row []string
	rowIdx := -1
	var cellType, cellRef string
	var val strings.Builder
	inCell, inV, inT, inIS := false, false, false, false
	nextCol := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrXLSX, f.Name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				rowIdx++
				if r := attr(t, "r"); r != "" {
					n, err := strconv.Atoi(r)
					if err != nil || n < 1 || n > 1<<20 {
						return nil, fmt.Errorf("%w: bad row number %q", ErrXLSX, r)
					}
					rowIdx = n - 1
				}
				row = nil
				nextCol = 0
			case "c":
				inCell = true
				cellType, cellRef = attr(t, "t"), attr(t, "r")
				val.Reset()
			case "v":
				inV = inCell
			case "is":
				inIS = inCell
			case "t":
				inT = inIS
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "c":
				col := nextCol
				if cellRef != "" {
					c, err := columnIndex(cellRef)
					if err != nil {
						return nil, err
					}
					col = c
				}
				s := val.String()
				switch cellType {
				case "s":
					i, err := strconv.Atoi(strings.TrimSpace(s))
					if err != nil || i < 0 || i >= len(shared) {
						return nil, fmt.Errorf("%w: cell %s: shared string %q out of range", ErrXLSX, cellRef, s)
					}
					s = shared[i]
				case "b":
					if strings.TrimSpace(s) == "1" {
						s = "TRUE"
					} else {
						s = "FALSE"
					}
				}
				for len(row) <= col {
					row = append(row, "")
				}
				row[col] = s
				nextCol = col + 1
				inCell = false
			case "v":
				inV = false
			case "is":
				inIS = false
			case "t":
				inT = false
			case "row":
				for len(rows) <= rowIdx {
					rows = append(rows, nil)
				}
				rows[rowIdx] = row
			}
		case xml.CharData:
			if inV || inT {
				val.Write(t)
			}
		}
	}
	for len(rows) > 0 && len(rows[len(rows)-1]) == 0 {
		rows = rows[:len(rows)-1]
	}
	return rows, nil
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// columnIndex turns a cell reference like "AB12" into a 0-based column.
func columnIndex(ref string) (int, error) {
	col := 0
	n := 0
	for _, r := range ref {
		if r >= 'A' && r <= 'Z' {
			col = col*26 + int(r-'A'+1)
			n++
		} else if r >= 'a' && r <= 'z' {
			col = col*26 + int(r-'a'+1)
			n++
		} else {
			break
		}
		if col > 1<<14 {
			break
		}
	}
	if n == 0 || col > 1<<14 {
		return 0, fmt.Errorf("%w: bad cell reference %q", ErrXLSX, ref)
	}
	return col - 1, nil
}
