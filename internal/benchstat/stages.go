package benchstat

import (
	"encoding/json"
	"time"
)

// Stages collects per-iteration durations of named stages, e.g. an end-to-end
// slice: decode, tokenize, text, vision, post. Stages are kept in the order
// first declared or first seen. Not safe for concurrent use.
//
//	st := benchstat.NewStages("decode", "tokenize", "text", "vision", "post")
//	for range n {
//		lap := st.Begin()
//		decode()
//		lap.Done("decode") // time since Begin or the previous Done
//		...
//		lap.Done("post")
//		lap.End() // records the iteration's wall time as TotalStage
//	}
//	sums := st.Summaries()
//
// Durations measured elsewhere (e.g. a Timing struct returned by the code
// under test) are recorded with Add.
type Stages struct {
	names   []string
	index   map[string]int
	samples [][]time.Duration
	now     func() time.Time
}

// TotalStage is the name under which Lap.End records an iteration's time.
const TotalStage = "total"

// NewStages declares stages in the order they are to be reported.
func NewStages(names ...string) *Stages {
	s := &Stages{index: map[string]int{}, now: time.Now}
	for _, n := range names {
		s.stage(n)
	}
	return s
}

// init makes the zero Stages usable.
func (s *Stages) init() {
	if s.index == nil {
		s.index = map[string]int{}
	}
	if s.now == nil {
		s.now = time.Now
	}
}

func (s *Stages) stage(name string) int {
	s.init()
	k, ok := s.index[name]
	if !ok {
		k = len(s.names)
		s.index[name] = k
		s.names = append(s.names, name)
		s.samples = append(s.samples, nil)
	}
	return k
}

// Add records one duration of a stage (declaring it if new).
func (s *Stages) Add(name string, d time.Duration) {
	k := s.stage(name)
	s.samples[k] = append(s.samples[k], d)
}

// Lap times one iteration.
type Lap struct {
	s           *Stages
	start, last time.Time
}

// Begin starts timing an iteration.
func (s *Stages) Begin() *Lap {
	s.init()
	t := s.now()
	return &Lap{s: s, start: t, last: t}
}

// Done records the time since Begin or the previous Done as one sample of
// the named stage.
func (l *Lap) Done(name string) {
	t := l.s.now()
	l.s.Add(name, t.Sub(l.last))
	l.last = t
}

// End records the time since Begin as one sample of TotalStage.
func (l *Lap) End() {
	l.s.Add(TotalStage, l.s.now().Sub(l.start))
}

// StageSummary is one stage's distribution.
type StageSummary struct {
	Name string `json:"name"`
	// Summary's JSON fields are inlined: n, min_ms, mean_ms, p50_ms, ...
	Summary
}

// MarshalJSON writes {"name", "n", "min_ms", ...}.
func (s StageSummary) MarshalJSON() ([]byte, error) {
	b, err := s.Summary.MarshalJSON()
	if err != nil {
		return nil, err
	}
	name, err := json.Marshal(s.Name)
	if err != nil {
		return nil, err
	}
	// b is {"n":...}: splice the name in front.
	out := append([]byte(`{"name":`), name...)
	out = append(out, ',')
	return append(out, b[1:]...), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *StageSummary) UnmarshalJSON(data []byte) error {
	var n struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(data, &n); err != nil {
		return err
	}
	if err := s.Summary.UnmarshalJSON(data); err != nil {
		return err
	}
	s.Name = n.Name
	return nil
}

// Summaries returns every stage's summary in declaration order; declared
// stages without samples have N == 0.
func (s *Stages) Summaries() []StageSummary {
	out := make([]StageSummary, len(s.names))
	for i, n := range s.names {
		out[i] = StageSummary{Name: n, Summary: Summarize(s.samples[i])}
	}
	return out
}

// Table renders the summaries, times in ms.
func (s *Stages) Table(title string) *Table {
	sums := s.Summaries()
	labels := make([]string, len(sums))
	ss := make([]Summary, len(sums))
	for i, x := range sums {
		labels[i], ss[i] = x.Name, x.Summary
	}
	return SummaryTable(title, "stage", labels, ss)
}
