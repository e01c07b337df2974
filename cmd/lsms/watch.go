package main

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
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/device/ring"
	"github.com/lsms-edge/lsms/device/session"
	"github.com/lsms-edge/lsms/device/source"
)

// exprSidecar is the file, in a watched folder, holding the expression of
// the series in that folder.
const exprSidecar = "expression.txt"

// maxSidecarBytes bounds expression.txt.
const maxSidecarBytes = 64 << 10

func init() {
	register(&command{
		name:    "watch",
		summary: "watch a folder for CT series (a sub-folder each, optional expression.txt) and segment them",
		usage:   "DIR --model BUNDLE --out DIR [--expr TEXT] [flags]",
		example: "mkdir -p in/patient1 && echo \"the larger of the two cysts\" > in/patient1/expression.txt && cp series/*.dcm in/patient1/\n" +
			"lsms watch in --model models/lsms-edge --expr \"the largest liver lesion\" --out results",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			o := &watchOptions{}
			fs.DurationVar(&o.interval, "interval", source.DefaultInterval, "time between scans of the folders")
			fs.IntVar(&o.stableTicks, "stable-ticks", source.DefaultStableTicks, "scans a file must stay unchanged before it is taken (unless NAME.done exists)")
			fs.BoolVar(&o.requireSidecar, "require-done", false, "take only files with a NAME.done sidecar")
			fs.StringVar(&o.aet, "aet", session.DefaultCallingAE, "our AE title when forwarding")
			o.daemonOptions.flags(fs)
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) != 1 {
					return usagef("want one folder to watch, got %d arguments", len(args))
				}
				o.dir = args[0]
				return runDaemon(o, stdout, stderr, func(stop, abort context.Context, d *daemon) (waiter, error) {
					return startWatch(stop, abort, o, d)
				})
			}
		},
	})
}

// watchOptions are the flags of `lsms watch`.
type watchOptions struct {
	daemonOptions
	dir            string
	interval       time.Duration
	stableTicks    int
	requireSidecar bool
	aet            string

	w *watcher
}

func (o *watchOptions) newDaemon(log *slog.Logger, seg *openedSegmenter) (*daemon, error) {
	if st, err := os.Stat(o.dir); err != nil || !st.IsDir() {
		return nil, usagef("%s is not a folder", o.dir)
	}
	if o.interval <= 0 || o.stableTicks < 0 {
		return nil, usagef("--interval must be positive and --stable-ticks not negative")
	}
	if err := session.CheckAETitle(o.aet); err != nil {
		return nil, usagef("--aet: %v", err)
	}
	if o.out != "" {
		if in, err := within(o.out, o.dir); err == nil && in {
			return nil, usagef("--out %s must not be inside the watched folder %s", o.out, o.dir)
		}
	}
	o.callAE = o.aet
	o.w = &watcher{root: o.dir, log: log, folders: map[string]*source.Folder{}, exprs: map[string]string{}}
	o.exprFor = o.w.exprFor
	if o.expr == "" && o.exprMap == "" {
		log.Warn("lsms watch: no --expr: series without an expression.txt will fail")
	}
	return o.daemonOptions.newDaemon(log, seg)
}

// within reports whether path is dir or below it.
func within(path, dir string) (bool, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return false, err
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(d, p)
	if err != nil {
		return false, err
	}
	return rel == "." || !strings.HasPrefix(rel, ".."), nil
}

// watcher watches the root folder and each of its sub-folders (one series
// each) with a source.Folder, polled in turn by scan.
type watcher struct {
	root string
	log  *slog.Logger
	d    *daemon
	opts *watchOptions

	mu      sync.Mutex
	folders map[string]*source.Folder
	exprs   map[string]string // by folder, from expression.txt files taken
}

// exprFor gives a series the expression of its folder's expression.txt:
// taken already, or still waiting in the folder.
func (w *watcher) exprFor(m ring.Meta) (string, string) {
	dir, ok := strings.CutPrefix(m.Source, "folder:")
	if !ok {
		return "", ""
	}
	w.mu.Lock()
	e := w.exprs[dir]
	w.mu.Unlock()
	if e != "" {
		return e, filepath.Join(dir, exprSidecar)
	}
	for _, p := range []string{
		filepath.Join(dir, exprSidecar),
		filepath.Join(dir, source.ProcessingDir, exprSidecar),
		filepath.Join(dir, source.ProcessedDir, exprSidecar),
	} {
		if b, err := readSmall(p, maxSidecarBytes); err == nil {
			if e, err := session.CleanExpression(string(b)); err == nil {
				return e, p
			}
		}
	}
	return "", ""
}

func readSmall(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}

// sink takes expression.txt itself and hands everything else to the
// session.
func (w *watcher) sink(dir string) source.Sink {
	inner := w.d.sess.FolderSink("folder:" + dir)
	return func(ctx context.Context, f source.File) error {
		if f.Name != exprSidecar {
			return inner(ctx, f)
		}
		if len(f.Data) > maxSidecarBytes {
			return fmt.Errorf("%s: larger than %d bytes", exprSidecar, maxSidecarBytes)
		}
		e, err := session.CleanExpression(string(f.Data))
		if err != nil {
			return fmt.Errorf("%s: %w", exprSidecar, err)
		}
		w.mu.Lock()
		w.exprs[dir] = e
		w.mu.Unlock()
		w.log.Info("lsms watch: expression taken", "folder", dir, "expression", e)
		return nil
	}
}

// scan finds new sub-folders and polls every folder once.
func (w *watcher) scan(ctx context.Context) {
	dirs := []string{w.root}
	ents, err := os.ReadDir(w.root)
	if err != nil {
		w.log.Error("lsms watch: cannot list the folder", "dir", w.root, "err", err)
	}
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, filepath.Join(w.root, e.Name()))
		}
	}
	sort.Strings(dirs[1:])
	for _, dir := range dirs {
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		f := w.folders[dir]
		if f == nil {
			f = &source.Folder{Dir: dir, Sink: w.sink(dir), StableTicks: w.opts.stableTicks,
				RequireSidecar: w.opts.requireSidecar, MaxBytes: int64(w.d.ring.SlotBytes()), Logger: w.log}
			w.folders[dir] = f
			w.log.Info("lsms watch: watching", "folder", dir)
		}
		w.mu.Unlock()
		if _, err := f.Poll(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, fs.ErrNotExist) {
			w.log.Warn("lsms watch: poll", "folder", dir, "err", err)
		}
	}
}

// watchServer is a running `lsms watch`.
type watchServer struct {
	d        *daemon
	w        *watcher
	scanDone chan struct{}
	runDone  chan error
}

// startWatch scans every interval until stop is cancelled; then the queue
// drains (abort stops the workers).
func startWatch(stop, abort context.Context, o *watchOptions, d *daemon) (*watchServer, error) {
	w := o.w
	w.d, w.opts = d, o
	s := &watchServer{d: d, w: w, scanDone: make(chan struct{}), runDone: make(chan error, 1)}
	go func() { s.runDone <- d.sess.Run(abort) }()
	clock := o.clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	t := clock.NewTicker(o.interval)
	go func() {
		defer close(s.scanDone)
		defer t.Stop()
		w.scan(stop)
		for {
			select {
			case <-stop.Done():
				return
			case <-t.Chan():
				w.scan(stop)
			}
		}
	}()
	d.log.Info("lsms watch: started", "dir", o.dir, "interval", o.interval.String(), "out", d.out,
		"segmenter", d.seg.Name, "version", d.seg.Version)
	return s, nil
}

// Wait waits for the stop context and the queue to drain, and returns the
// session summary.
func (s *watchServer) Wait() (*session.Summary, error) {
	<-s.scanDone
	s.d.ring.Close()
	err := <-s.runDone
	return s.d.sess.Summary(), err
}
