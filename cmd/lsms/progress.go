package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a one-line progress bar on w (stderr). On a terminal it
// redraws in place; otherwise it prints a line every 10 %.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	start time.Time
	tty   bool
	last  int // last printed percentage (non-tty)
	quiet bool
}

func newProgress(w io.Writer, label string, quiet bool) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, label: label, start: time.Now(), tty: tty, last: -1, quiet: quiet}
}

// Update reports done of total.
func (p *progress) Update(done, total int) {
	if p == nil || p.quiet || total <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pct := 100 * done / total
	el := time.Since(p.start)
	eta := ""
	if done > 0 && done < total {
		eta = fmt.Sprintf(" eta %s", (el * time.Duration(total-done) / time.Duration(done)).Round(time.Second))
	}
	if p.tty {
		const width = 30
		n := width * done / total
		fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %3d%% %s%s ", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, pct, el.Round(time.Second), eta)
		if done >= total {
			fmt.Fprintln(p.w)
		}
		return
	}
	if pct/10 != p.last/10 || done == total && p.last != 100 {
		p.last = pct
		fmt.Fprintf(p.w, "%s %d/%d (%d%%) %s%s\n", p.label, done, total, pct, el.Round(time.Second), eta)
	}
}

// newStageBar returns an update function that draws one progress bar per
// named stage (a new bar starts when the stage name changes).
func newStageBar(w io.Writer, quiet bool) func(stage string, done, total int) {
	var mu sync.Mutex
	var cur string
	var p *progress
	return func(stage string, done, total int) {
		mu.Lock()
		if stage != cur || p == nil {
			cur, p = stage, newProgress(w, stage, quiet)
		}
		q := p
		mu.Unlock()
		q.Update(done, total)
	}
}
