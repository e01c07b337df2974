package benchstat

import (
	"fmt"
	"slices"
	"time"
)

// Op is one operator's accumulated time.
type Op struct {
	// Index is the operator's position in run order.
	Index int
	// Type is the operator type, e.g. "CONV_2D".
	Type string
	// Name identifies the node, e.g. its first output tensor (optional).
	Name string
	// Total is the time summed over Count invocations.
	Total time.Duration
	Count int
}

// OpRow is one operator in a profile listing.
type OpRow struct {
	Index int    `json:"index"`
	Type  string `json:"op"`
	Name  string `json:"name,omitempty"`
	// AvgMS is the mean time per invocation.
	AvgMS float64 `json:"avg_ms"`
	// Pct is AvgMS as a percentage of the profile's TotalMS; CdfPct the
	// cumulative percentage in the order of the listing.
	Pct    float64 `json:"pct"`
	CdfPct float64 `json:"cdf_pct"`
}

// TypeRow is the time of all operators of one type.
type TypeRow struct {
	Type string `json:"op"`
	// Nodes is how many operators have this type.
	Nodes  int     `json:"nodes"`
	AvgMS  float64 `json:"avg_ms"`
	Pct    float64 `json:"pct"`
	CdfPct float64 `json:"cdf_pct"`
}

// Profile is a per-operator profile in three listings.
type Profile struct {
	// Invocations is the largest Count among the operators.
	Invocations int `json:"invocations"`
	// TotalMS is the sum of the operators' mean times.
	TotalMS float64 `json:"total_ms"`
	// RunOrder lists every operator in run order (cumulative % in run order).
	RunOrder []OpRow `json:"run_order"`
	// ByTime lists every operator by decreasing time (ties by index).
	ByTime []OpRow `json:"-"`
	// ByType sums the operators per type, by decreasing time (ties by name).
	ByType []TypeRow `json:"by_type"`
}

// NewProfile builds the listings. Operators with Count 0 have mean 0.
func NewProfile(ops []Op) Profile {
	var p Profile
	rows := make([]OpRow, len(ops))
	for i, o := range ops {
		avg := 0.0
		if o.Count > 0 {
			avg = MS(o.Total) / float64(o.Count)
		}
		rows[i] = OpRow{Index: o.Index, Type: o.Type, Name: o.Name, AvgMS: avg}
		p.TotalMS += avg
		p.Invocations = max(p.Invocations, o.Count)
	}
	pct := func(ms float64) float64 {
		if p.TotalMS <= 0 {
			return 0
		}
		return 100 * ms / p.TotalMS
	}
	cdf := func(rs []OpRow) []OpRow {
		out := slices.Clone(rs)
		c := 0.0
		for i := range out {
			out[i].Pct = pct(out[i].AvgMS)
			c += out[i].AvgMS
			out[i].CdfPct = pct(c)
		}
		return out
	}
	slices.SortStableFunc(rows, func(a, b OpRow) int { return a.Index - b.Index })
	p.RunOrder = cdf(rows)
	byTime := slices.Clone(rows)
	slices.SortStableFunc(byTime, func(a, b OpRow) int {
		switch {
		case a.AvgMS > b.AvgMS:
			return -1
		case a.AvgMS < b.AvgMS:
			return 1
		}
		return a.Index - b.Index
	})
	p.ByTime = cdf(byTime)

	idx := map[string]int{}
	for _, r := range rows {
		k, ok := idx[r.Type]
		if !ok {
			k = len(p.ByType)
			idx[r.Type] = k
			p.ByType = append(p.ByType, TypeRow{Type: r.Type})
		}
		p.ByType[k].Nodes++
		p.ByType[k].AvgMS += r.AvgMS
	}
	slices.SortStableFunc(p.ByType, func(a, b TypeRow) int {
		switch {
		case a.AvgMS > b.AvgMS:
			return -1
		case a.AvgMS < b.AvgMS:
			return 1
		case a.Type < b.Type:
			return -1
		case a.Type > b.Type:
			return 1
		}
		return 0
	})
	c := 0.0
	for i := range p.ByType {
		p.ByType[i].Pct = pct(p.ByType[i].AvgMS)
		c += p.ByType[i].AvgMS
		p.ByType[i].CdfPct = pct(c)
	}
	return p
}

// Top returns the k most expensive operators (all if k ≤ 0 or k ≥ len).
func (p Profile) Top(k int) []OpRow {
	if k <= 0 || k >= len(p.ByTime) {
		return p.ByTime
	}
	return p.ByTime[:k]
}

func opTable(title string, rows []OpRow) *Table {
	t := &Table{Title: title, Header: []string{"#", "op", "avg ms", "%", "cdf %", "name"},
		Align: []Align{Right, Left, Right, Right, Right, Left}}
	for _, r := range rows {
		t.AddRow(fmt.Sprint(r.Index), r.Type, FormatMS(r.AvgMS), FormatPct(r.Pct), FormatPct(r.CdfPct), r.Name)
	}
	return t
}

// RunOrderTable lists every operator in run order.
func (p Profile) RunOrderTable() *Table {
	return opTable(fmt.Sprintf("operators in run order (mean of %d invocations):", p.Invocations), p.RunOrder)
}

// TopTable lists the k most expensive operators.
func (p Profile) TopTable(k int) *Table {
	rows := p.Top(k)
	return opTable(fmt.Sprintf("top %d operators by time:", len(rows)), rows)
}

// ByTypeTable sums the time per operator type.
func (p Profile) ByTypeTable() *Table {
	t := &Table{Title: "time by operator type:", Header: []string{"op", "nodes", "avg ms", "%", "cdf %"},
		Align: []Align{Left, Right, Right, Right, Right}}
	for _, r := range p.ByType {
		t.AddRow(r.Type, fmt.Sprint(r.Nodes), FormatMS(r.AvgMS), FormatPct(r.Pct), FormatPct(r.CdfPct))
	}
	return t
}
