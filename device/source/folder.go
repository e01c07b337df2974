package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/lsms-edge/lsms/device/ring"
)

// Sub-folders of Folder.Dir (hidden, so the scan never picks them up).
const (
	ProcessingDir = ".processing" // claimed, being handed to the Sink
	ProcessedDir  = ".processed"  // accepted by the Sink
	FailedDir     = ".failed"     // refused by the Sink, too large, or interrupted
	SidecarExt    = ".done"
)

// Defaults of Folder fields.
const (
	DefaultInterval    = time.Second
	DefaultStableTicks = 2
	DefaultMaxBytes    = 256 << 20
)

// File is a file handed to a Sink. Data is only valid during the call.
type File struct {
	Name    string // base name in Folder.Dir
	Size    int64
	ModTime time.Time
	Data    []byte
}

// Sink receives each ready file once. A nil error means the file was
// taken: it moves to .processed. An error wrapping ErrRetry (or a context
// error, or ring.ErrClosed) puts the file back for a later poll; any other
// error moves it to .failed.
type Sink func(ctx context.Context, f File) error

// RingSink puts each file into r as a ring.File slice from source.
func RingSink(r *ring.Ring, source string) Sink {
	return func(ctx context.Context, f File) error {
		return r.Put(ctx, ring.Meta{Source: source, Format: ring.File, Name: f.Name}, f.Data)
	}
}

// Stats counts what a Folder has done.
type Stats struct {
	Polls     uint64 // completed polls
	Processed uint64 // accepted by the Sink, moved to .processed
	Failed    uint64 // moved to .failed
	Retried   uint64 // put back after a retryable Sink error
	Pending   int    // files seen but not yet ready
}

// Folder watches a directory by polling (no inotify): a file is picked up
// when a sidecar NAME.done exists, or when its size and modification time
// have not changed for StableTicks consecutive polls — so files that
// appear by rename and files still being written are both handled. Each
// file is claimed by renaming it into .processing before it is read, and
// moved to .processed or .failed afterwards, so no file is handed to the
// Sink twice, even across restarts (a file found in .processing at start
// was interrupted mid-hand-off and goes to .failed, logged, rather than
// risk a second delivery).
//
// Names starting with "." and ending in .tmp, .part, .partial or .done
// are ignored, as are sub-directories.
type Folder struct {
	Dir            string
	Sink           Sink
	Interval       time.Duration // between polls; 0 means DefaultInterval
	StableTicks    int           // 0 means DefaultStableTicks
	RequireSidecar bool          // only files with a NAME.done sidecar
	MaxBytes       int64         // larger files go to .failed; 0 means DefaultMaxBytes
	Clock          clockwork.Clock
	Logger         *slog.Logger

	mu      sync.Mutex
	started bool
	seen    map[string]*observation
	buf     []byte

	polls, processed, failed, retried atomic.Uint64
	pending                           atomic.Int64
}

type observation struct {
	size   int64
	mod    time.Time
	stable int
}

// ErrRetry marks a Sink error as temporary: the file stays for a later poll.
var ErrRetry = errors.New("source: retry later")

// ErrConfig: a Folder field is invalid.
var ErrConfig = errors.New("source: invalid configuration")

func (f *Folder) log() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger
}

func (f *Folder) start() error {
	if f.started {
		return nil
	}
	if f.Dir == "" {
		return fmt.Errorf("%w: Folder.Dir is empty", ErrConfig)
	}
	if f.Sink == nil {
		return fmt.Errorf("%w: Folder.Sink is nil", ErrConfig)
	}
	if f.StableTicks < 0 || f.MaxBytes < 0 || f.Interval < 0 {
		return fmt.Errorf("%w: negative StableTicks, MaxBytes or Interval", ErrConfig)
	}
	if st, err := os.Stat(f.Dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: Folder.Dir %q is not a directory", ErrConfig, f.Dir)
	}
	for _, d := range []string{ProcessingDir, ProcessedDir, FailedDir} {
		if err := os.MkdirAll(filepath.Join(f.Dir, d), 0o755); err != nil {
			return err
		}
	}
	left, err := os.ReadDir(filepath.Join(f.Dir, ProcessingDir))
	if err != nil {
		return err
	}
	for _, e := range left {
		dst, err := f.move(filepath.Join(f.Dir, ProcessingDir, e.Name()), FailedDir, e.Name())
		f.failed.Add(1)
		f.log().Error("source: file was interrupted mid-hand-off by a restart; moved to .failed, not retried (it may have been delivered)",
			"file", e.Name(), "to", dst, "err", err)
	}
	f.seen = map[string]*observation{}
	f.started = true
	return nil
}

func ignored(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	for _, ext := range []string{".tmp", ".part", ".partial", SidecarExt} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// Run polls every Interval (on Clock) until ctx is done, then returns nil.
// It returns early only if the folder cannot be set up.
func (f *Folder) Run(ctx context.Context) error {
	f.mu.Lock()
	err := f.start()
	interval, clock := f.Interval, f.Clock
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if interval == 0 {
		interval = DefaultInterval
	}
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	t := clock.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
			if _, err := f.Poll(ctx); err != nil && ctx.Err() == nil {
				f.log().Error("source: poll failed", "dir", f.Dir, "err", err)
			}
		}
	}
}

// Poll scans the folder once and hands every ready file to the Sink; it
// returns how many the Sink accepted. Polls are serialized.
func (f *Folder) Poll(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.start(); err != nil {
		return 0, err
	}
	// Counted when the poll is over (its files handed on or put back), so
	// that a caller that sees Polls change sees the poll's effects too.
	defer f.polls.Add(1)
	ents, err := os.ReadDir(f.Dir)
	if err != nil {
		return 0, err
	}
	names := map[string]bool{}
	for _, e := range ents {
		names[e.Name()] = true
	}
	stable := f.StableTicks
	if stable == 0 {
		stable = DefaultStableTicks
	}
	type ready struct {
		name    string
		mod     time.Time
		sidecar bool
	}
	var todo []ready
	present := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if ignored(name) || !e.Type().IsRegular() {
			continue
		}
		sidecar := names[name+SidecarExt]
		if f.RequireSidecar && !sidecar {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // vanished since ReadDir
		}
		present[name] = true
		if sidecar {
			todo = append(todo, ready{name, info.ModTime(), true})
			continue
		}
		o := f.seen[name]
		if o == nil || o.size != info.Size() || !o.mod.Equal(info.ModTime()) {
			f.seen[name] = &observation{size: info.Size(), mod: info.ModTime()}
			continue
		}
		if o.stable++; o.stable >= stable {
			todo = append(todo, ready{name, info.ModTime(), false})
		}
	}
	for name := range f.seen {
		if !present[name] {
			delete(f.seen, name)
		}
	}
	// Oldest first: acquisition order.
	sort.Slice(todo, func(i, j int) bool {
		if !todo[i].mod.Equal(todo[j].mod) {
			return todo[i].mod.Before(todo[j].mod)
		}
		return todo[i].name < todo[j].name
	})
	n := 0
	for _, r := range todo {
		if ctx.Err() != nil {
			break
		}
		ok, err := f.handle(ctx, r.name, r.sidecar)
		if ok {
			n++
		}
		if err != nil {
			f.pending.Store(int64(len(f.seen)))
			return n, err
		}
	}
	f.pending.Store(int64(len(f.seen)))
	return n, nil
}

// handle claims, reads and delivers one file. A non-nil error stops the
// poll (the Sink asked to retry later).
func (f *Folder) handle(ctx context.Context, name string, sidecar bool) (bool, error) {
	delete(f.seen, name)
	src := filepath.Join(f.Dir, name)
	claimed := filepath.Join(f.Dir, ProcessingDir, name)
	if err := os.Rename(src, claimed); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			f.log().Info("source: file vanished before it was claimed", "file", name)
			return false, nil
		}
		return false, fmt.Errorf("source: claiming %s: %w", name, err)
	}
	fail := func(why error) (bool, error) {
		dst, err := f.move(claimed, FailedDir, name)
		f.failed.Add(1)
		f.log().Error("source: file failed", "file", name, "why", why, "moved_to", dst, "move_err", err)
		f.removeSidecar(name, sidecar)
		return false, nil
	}
	file, err := f.read(claimed, name)
	if err != nil {
		return fail(err)
	}
	err = f.Sink(ctx, file)
	switch {
	case err == nil:
		dst, merr := f.move(claimed, ProcessedDir, name)
		if merr != nil {
			f.log().Error("source: processed file could not be moved; it stays in .processing", "file", name, "err", merr)
		}
		f.processed.Add(1)
		f.log().Info("source: file processed", "file", name, "bytes", file.Size, "moved_to", dst)
		f.removeSidecar(name, sidecar)
		return true, nil
	case errors.Is(err, ErrRetry) || errors.Is(err, ring.ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		if rerr := os.Rename(claimed, src); rerr != nil {
			return fail(fmt.Errorf("sink: %v; putting it back: %v", err, rerr))
		}
		f.retried.Add(1)
		f.log().Warn("source: sink asked to retry later; file put back", "file", name, "err", err)
		return false, err
	default:
		return fail(fmt.Errorf("sink: %w", err))
	}
}

func (f *Folder) read(path, name string) (File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return File{}, err
	}
	limit := f.MaxBytes
	if limit == 0 {
		limit = DefaultMaxBytes
	}
	if info.Size() > limit {
		return File{}, fmt.Errorf("%d bytes exceeds MaxBytes %d", info.Size(), limit)
	}
	if int64(cap(f.buf)) < info.Size() {
		f.buf = make([]byte, info.Size())
	}
	f.buf = f.buf[:info.Size()]
	if _, err := io.ReadFull(fh, f.buf); err != nil {
		return File{}, fmt.Errorf("reading: %w", err)
	}
	return File{Name: name, Size: info.Size(), ModTime: info.ModTime(), Data: f.buf}, nil
}

// move renames path into sub (a sub-folder of Dir) as name, or name-N if
// taken, and returns the destination.
func (f *Folder) move(path, sub, name string) (string, error) {
	dst := filepath.Join(f.Dir, sub, name)
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = filepath.Join(f.Dir, sub, fmt.Sprintf("%s-%d", name, i))
	}
	return dst, os.Rename(path, dst)
}

func (f *Folder) removeSidecar(name string, sidecar bool) {
	if !sidecar {
		return
	}
	if err := os.Remove(filepath.Join(f.Dir, name+SidecarExt)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.log().Warn("source: cannot remove sidecar", "file", name+SidecarExt, "err", err)
	}
}

// Stats returns a snapshot of the counters (without waiting for a poll
// blocked in the Sink).
func (f *Folder) Stats() Stats {
	return Stats{
		Polls:     f.polls.Load(),
		Processed: f.processed.Load(),
		Failed:    f.failed.Load(),
		Retried:   f.retried.Load(),
		Pending:   int(f.pending.Load()),
	}
}
