package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/lsms-edge/lsms/device/ring"
)

// recorder is a Sink that records what it gets.
type recorder struct {
	mu    sync.Mutex
	files []string
	data  map[string]string
	err   error
	ch    chan string
}

func newRecorder() *recorder { return &recorder{data: map[string]string{}, ch: make(chan string, 100)} }

func (r *recorder) sink(ctx context.Context, f File) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.files = append(r.files, f.Name)
	r.data[f.Name] = string(f.Data)
	r.ch <- f.Name
	return nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.files...)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func poll(t *testing.T, f *Folder, want int) {
	t.Helper()
	n, err := f.Poll(context.Background())
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	if n != want {
		t.Fatalf("Poll handed over %d files, want %d", n, want)
	}
}

func ls(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestAtomicRename(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder()
	f := &Folder{Dir: dir, Sink: rec.sink, StableTicks: 2}
	write(t, filepath.Join(dir, ".a.dcm.tmp"), "slice a")
	poll(t, f, 0) // temporary names are ignored
	os.Rename(filepath.Join(dir, ".a.dcm.tmp"), filepath.Join(dir, "a.dcm"))
	poll(t, f, 0) // first seen
	poll(t, f, 0) // unchanged for 1 tick
	poll(t, f, 1) // unchanged for 2 ticks: ready
	poll(t, f, 0) // never twice
	if got := rec.got(); !slices.Equal(got, []string{"a.dcm"}) || rec.data["a.dcm"] != "slice a" {
		t.Errorf("sink got %v %q", got, rec.data)
	}
	if got := ls(t, filepath.Join(dir, ProcessedDir)); !slices.Equal(got, []string{"a.dcm"}) {
		t.Errorf(".processed holds %v", got)
	}
	if got := ls(t, dir); !slices.Equal(got, []string{FailedDir, ProcessedDir, ProcessingDir}) {
		t.Errorf("folder holds %v", got)
	}
}

func TestStillBeingWritten(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder()
	f := &Folder{Dir: dir, Sink: rec.sink, StableTicks: 2}
	p := filepath.Join(dir, "b.dcm")
	write(t, p, "first half")
	poll(t, f, 0)
	poll(t, f, 0)
	fh, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(", second half")
	fh.Close()
	poll(t, f, 0) // size changed: start over
	poll(t, f, 0)
	poll(t, f, 1)
	if rec.data["b.dcm"] != "first half, second half" {
		t.Errorf("got %q", rec.data["b.dcm"])
	}
	if st := f.Stats(); st.Polls != 5 || st.Processed != 1 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSidecar(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder()
	f := &Folder{Dir: dir, Sink: rec.sink, RequireSidecar: true}
	write(t, filepath.Join(dir, "c.dcm"), "c")
	write(t, filepath.Join(dir, "d.dcm"), "d")
	for range 5 {
		poll(t, f, 0) // stable, but no sidecar
	}
	write(t, filepath.Join(dir, "c.dcm.done"), "")
	poll(t, f, 1) // the sidecar makes it ready at once
	if got := ls(t, dir); !slices.Equal(got, []string{FailedDir, ProcessedDir, ProcessingDir, "d.dcm"}) {
		t.Errorf("folder holds %v (sidecar not removed?)", got)
	}
	// Without RequireSidecar a sidecar still short-cuts the wait.
	f2 := &Folder{Dir: dir, Sink: rec.sink, StableTicks: 100}
	write(t, filepath.Join(dir, "d.dcm.done"), "")
	poll(t, f2, 1)
	if got := rec.got(); !slices.Equal(got, []string{"c.dcm", "d.dcm"}) {
		t.Errorf("sink got %v", got)
	}
}

func TestOrderAndCollisions(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder()
	f := &Folder{Dir: dir, Sink: rec.sink, StableTicks: 1}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, name := range []string{"z.dcm", "y.dcm", "x.dcm"} {
		p := filepath.Join(dir, name)
		write(t, p, name)
		os.Chtimes(p, base, base.Add(time.Duration(i)*time.Second))
	}
	poll(t, f, 0)
	poll(t, f, 3)
	if got := rec.got(); !slices.Equal(got, []string{"z.dcm", "y.dcm", "x.dcm"}) {
		t.Errorf("order %v, want by modification time", got)
	}
	// A scanner reusing a name: a new file, processed, kept beside the old.
	write(t, filepath.Join(dir, "x.dcm"), "x again")
	poll(t, f, 0)
	poll(t, f, 1)
	if got := ls(t, filepath.Join(dir, ProcessedDir)); !slices.Equal(got, []string{"x.dcm", "x.dcm-1", "y.dcm", "z.dcm"}) {
		t.Errorf(".processed holds %v", got)
	}
}

func TestSinkErrors(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder()
	f := &Folder{Dir: dir, Sink: rec.sink, StableTicks: 1, MaxBytes: 10}
	write(t, filepath.Join(dir, "big.dcm"), "more than ten bytes")
	write(t, filepath.Join(dir, "bad.dcm"), "bad")
	rec.err = errors.New("not DICOM")
	poll(t, f, 0)
	poll(t, f, 0)
	if got := ls(t, filepath.Join(dir, FailedDir)); !slices.Equal(got, []string{"bad.dcm", "big.dcm"}) {
		t.Errorf(".failed holds %v", got)
	}
	// A retryable error leaves the file in place for a later poll.
	write(t, filepath.Join(dir, "later.dcm"), "later")
	rec.err = fmt.Errorf("queue full: %w", ErrRetry)
	poll(t, f, 0)
	if _, err := f.Poll(context.Background()); !errors.Is(err, ErrRetry) {
		t.Fatalf("Poll: %v, want ErrRetry", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "later.dcm")); err != nil {
		t.Fatalf("file not put back: %v", err)
	}
	rec.err = nil
	poll(t, f, 0) // seen anew
	poll(t, f, 1)
	if st := f.Stats(); st.Failed != 2 || st.Retried != 1 || st.Processed != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestInterruptedHandOff(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ProcessingDir), 0o755)
	write(t, filepath.Join(dir, ProcessingDir, "e.dcm"), "e")
	var logs strings.Builder
	rec := newRecorder()
	f := &Folder{Dir: dir, Sink: rec.sink, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	poll(t, f, 0)
	if got := ls(t, filepath.Join(dir, FailedDir)); !slices.Equal(got, []string{"e.dcm"}) {
		t.Errorf(".failed holds %v", got)
	}
	if !strings.Contains(logs.String(), "interrupted") {
		t.Errorf("not logged:\n%s", logs.String())
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, f := range []*Folder{
		{Sink: newRecorder().sink},
		{Dir: t.TempDir()},
		{Dir: filepath.Join(t.TempDir(), "missing"), Sink: newRecorder().sink},
		{Dir: t.TempDir(), Sink: newRecorder().sink, StableTicks: -1},
	} {
		if _, err := f.Poll(ctx); !errors.Is(err, ErrConfig) {
			t.Errorf("Poll(%+v): %v", f, err)
		}
		if err := f.Run(ctx); !errors.Is(err, ErrConfig) {
			t.Errorf("Run(%+v): %v", f, err)
		}
	}
}

// TestRunWithRing: the folder feeds a ring on a fake clock's ticks; a
// closed ring makes the file wait in place.
func TestRunWithRing(t *testing.T) {
	dir := t.TempDir()
	r, err := ring.New(4, 64, ring.Block)
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClock()
	f := &Folder{Dir: dir, Sink: RingSink(r, "folder"), Clock: clock, Interval: time.Second, StableTicks: 1}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	write(t, filepath.Join(dir, "f.dcm"), "DICM bytes")

	tick := func() {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		polls := f.Stats().Polls
		clock.Advance(time.Second)
		for f.Stats().Polls == polls {
			// wait for Run's goroutine to finish this poll
			runtime.Gosched()
		}
	}
	tick() // seen
	tick() // stable: handed to the ring
	s, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Meta.Source != "folder" || s.Meta.Name != "f.dcm" || s.Meta.Format != ring.File || string(s.Data) != "DICM bytes" {
		t.Errorf("slice %+v %q", s.Meta, s.Data)
	}
	r.Release(s)

	r.Close()
	write(t, filepath.Join(dir, "g.dcm"), "g")
	tick()
	tick() // ring closed: put back
	if _, err := os.Stat(filepath.Join(dir, "g.dcm")); err != nil {
		t.Errorf("file not kept while the ring is closed: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
