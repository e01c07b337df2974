package benchstat

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// Align is a column's alignment in text output.
type Align int

// Alignments.
const (
	Left Align = iota
	Right
)

// Table is a titled table of strings.
type Table struct {
	Title  string
	Header []string
	// Align per column; missing entries are Left.
	Align []Align
	Rows  [][]string
	// Notes are printed under the table, one per line.
	Notes []string
}

// AddRow appends a row; a row shorter than the header is padded with "".
func (t *Table) AddRow(cells ...string) {
	for len(cells) < len(t.Header) {
		cells = append(cells, "")
	}
	t.Rows = append(t.Rows, cells)
}

// WriteText writes the table in aligned columns separated by two spaces:
// the title, the header, a rule, the rows, then the notes. Trailing spaces
// are trimmed.
func (t *Table) WriteText(w io.Writer) error {
	ncol := len(t.Header)
	for _, r := range t.Rows {
		ncol = max(ncol, len(r))
	}
	width := make([]int, ncol)
	measure := func(r []string) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	measure(t.Header)
	for _, r := range t.Rows {
		measure(r)
	}
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(t.Title)
		b.WriteByte('\n')
	}
	line := func(r []string) {
		var l strings.Builder
		for i := 0; i < ncol; i++ {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			if i > 0 {
				l.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i < len(t.Align) && t.Align[i] == Right {
				l.WriteString(pad + c)
			} else {
				l.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	if len(t.Header) > 0 {
		line(t.Header)
		total := 2 * (ncol - 1)
		for _, n := range width {
			total += n
		}
		b.WriteString(strings.Repeat("-", total))
		b.WriteByte('\n')
	}
	for _, r := range t.Rows {
		line(r)
	}
	for _, n := range t.Notes {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String is the text form (WriteText).
func (t *Table) String() string {
	var b strings.Builder
	t.WriteText(&b)
	return b.String()
}

// WriteCSV writes the header and rows as RFC 4180 CSV (no title or notes).
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if len(t.Header) > 0 {
		if err := cw.Write(t.Header); err != nil {
			return err
		}
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return fmt.Errorf("benchstat: csv: %w", err)
	}
	return nil
}

// FormatMS formats milliseconds: three decimals from 1 ms up, four below
// (a resolution of 0.1 µs for sub-millisecond operators).
func FormatMS(ms float64) string {
	if math.Abs(ms) < 1 {
		return fmt.Sprintf("%.4f", ms)
	}
	return fmt.Sprintf("%.3f", ms)
}

// FormatPct formats a percentage with one decimal.
func FormatPct(p float64) string { return fmt.Sprintf("%.1f", p) }

// FormatBytes formats a byte count with a binary unit: "512 B", "40.0 KiB",
// "12.3 MiB", "1.50 GiB".
func FormatBytes(n int64) string {
	switch {
	case n < 0:
		return fmt.Sprintf("%d B", n)
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// SummaryHeader is the header of SummaryRow's cells.
var SummaryHeader = []string{"n", "min", "mean", "p50", "p90", "p99", "max", "stddev"}

// SummaryRow formats a Summary as table cells in milliseconds, in the order
// of SummaryHeader.
func SummaryRow(s Summary) []string {
	return []string{fmt.Sprint(s.N), FormatMS(MS(s.Min)), FormatMS(MS(s.Mean)), FormatMS(MS(s.P50)),
		FormatMS(MS(s.P90)), FormatMS(MS(s.P99)), FormatMS(MS(s.Max)), FormatMS(MS(s.Stddev))}
}

// SummaryTable is a table of labelled summaries; say the unit (ms) in title.
func SummaryTable(title, labelHeader string, labels []string, sums []Summary) *Table {
	t := &Table{Title: title, Header: append([]string{labelHeader}, SummaryHeader...), Align: []Align{Left}}
	for range SummaryHeader {
		t.Align = append(t.Align, Right)
	}
	for i, s := range sums {
		t.AddRow(append([]string{labels[i]}, SummaryRow(s)...)...)
	}
	return t
}
