package benchstat

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// fakeClock advances by the given steps, one per call.
func fakeClock(steps ...time.Duration) func() time.Time {
	t := time.Unix(0, 0)
	i := 0
	return func() time.Time {
		if i < len(steps) {
			t = t.Add(steps[i])
		}
		i++
		return t
	}
}

func goldenTables() string {
	us := time.Microsecond
	p := NewProfile([]Op{
		{Index: 0, Type: "QUANTIZE", Name: "x_q", Total: 40 * us, Count: 10},
		{Index: 1, Type: "CONV_2D", Name: "conv", Total: 2500 * us, Count: 10},
		{Index: 2, Type: "MEAN", Name: "pool", Total: 300 * us, Count: 10},
		{Index: 3, Type: "FULLY_CONNECTED", Name: "logits", Total: 100 * us, Count: 10},
		{Index: 4, Type: "CONV_2D", Name: "conv2", Total: 1000 * us, Count: 10},
		{Index: 5, Type: "SOFTMAX", Name: "probs", Total: 60 * us, Count: 10},
	})
	var b strings.Builder
	for _, t := range []*Table{p.RunOrderTable(), p.TopTable(3), p.ByTypeTable()} {
		b.WriteString(t.String())
		b.WriteByte('\n')
	}
	ms := time.Millisecond
	a := Summarize([]time.Duration{10 * ms, 12 * ms, 11 * ms, 30 * ms})
	bb := Summarize([]time.Duration{5 * ms, 6 * ms, 5500 * us, 7 * ms})
	b.WriteString(SummaryTable("latency (ms):", "side", []string{"A", "B"}, []Summary{a, bb}).String())
	b.WriteByte('\n')
	st := NewStages("decode", "tokenize", "vision")
	// Two iterations: Begin, Done×3, End = 5 clock reads each.
	st.now = fakeClock(0, 2*ms, 100*us, 8*ms, 0, 0, 3*ms, 100*us, 9*ms, 500*us)
	for range 2 {
		l := st.Begin()
		l.Done("decode")
		l.Done("tokenize")
		l.Done("vision")
		l.End()
	}
	b.WriteString(st.Table("end to end per slice (ms):").String())
	b.WriteByte('\n')
	var csvb bytes.Buffer
	if err := p.RunOrderTable().WriteCSV(&csvb); err != nil {
		panic(err)
	}
	b.WriteString(csvb.String())
	return b.String()
}

func TestTablesGolden(t *testing.T) {
	got := goldenTables()
	path := filepath.Join("testdata", "tables.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("tables differ from %s (go test -update rewrites it):\n%s", path, got)
	}
}

func TestTableRaggedRowsAndUnicode(t *testing.T) {
	tb := &Table{Header: []string{"a", "bb"}, Align: []Align{Left, Right}}
	tb.AddRow("µs", "1")
	tb.Rows = append(tb.Rows, []string{"x", "2", "extra"})
	want := "a   bb\n-------------\nµs   1\nx    2  extra\n"
	if got := tb.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestProfileInvariants(t *testing.T) {
	p := NewProfile([]Op{{Index: 1, Type: "B", Total: 30, Count: 1}, {Index: 0, Type: "A", Total: 10, Count: 1}, {Index: 2, Type: "A", Total: 60, Count: 1}})
	if p.RunOrder[0].Index != 0 || p.RunOrder[2].Index != 2 {
		t.Errorf("run order %+v", p.RunOrder)
	}
	if last := p.RunOrder[2].CdfPct; last < 99.999 || last > 100.001 {
		t.Errorf("cdf ends at %g", last)
	}
	if p.ByType[0].Type != "A" || p.ByType[0].Nodes != 2 || p.ByType[0].Pct < 69.99 || p.ByType[0].Pct > 70.01 {
		t.Errorf("by type %+v", p.ByType)
	}
	if top := p.Top(1); len(top) != 1 || top[0].Index != 2 {
		t.Errorf("top 1 %+v", top)
	}
	if len(p.Top(0)) != 3 || len(p.Top(10)) != 3 {
		t.Error("Top(k ≤ 0 or ≥ n) must list every operator")
	}
	if z := NewProfile([]Op{{Type: "A"}}); z.RunOrder[0].Pct != 0 || z.TotalMS != 0 {
		t.Errorf("zero profile %+v", z)
	}
}
