package main

// `lsms scp` and `lsms watch` (watch.go): the scanner-side daemons. Both
// feed a ring.Ring (device/ring) from a source — a DICOM Storage SCP here,
// watched folders in watch.go — and run a device/session.Session over it:
// segment, measure, write per-series reports, DICOM SEGs and overlays,
// optionally forward the SEGs to a PACS. The first SIGINT/SIGTERM stops
// the source and drains what was received; a second abandons the queue.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/dimse"
	"github.com/lsms-edge/lsms/device/ring"
	"github.com/lsms-edge/lsms/device/session"
	"github.com/lsms-edge/lsms/runtime/backend"
)

func init() {
	register(&command{
		name:    "scp",
		summary: "DICOM Storage SCP: segment every CT series received, write reports, SEGs, overlays",
		usage:   "--model BUNDLE --expr TEXT --out DIR [flags]",
		example: "lsms scp --listen :11112 --aet LSMS --model models/lsms-edge --expr \"the largest liver lesion\" --out /data/results --forward ORTHANC@pacs:4242\n" +
			"storescu -aet CONSOLE -aec LSMS 127.0.0.1 11112 +sd +r series/",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			o := &scpOptions{}
			fs.StringVar(&o.listen, "listen", ":11112", "TCP address to listen on")
			fs.StringVar(&o.aet, "aet", "LSMS", "our AE title (called AE of incoming associations, calling AE when forwarding)")
			fs.StringSliceVar(&o.allow, "allow", nil, "calling AE titles allowed to associate (default: any)")
			fs.IntVar(&o.maxAssoc, "max-associations", dimse.DefaultMaxAssociations, "concurrent associations")
			fs.DurationVar(&o.assocIdle, "association-timeout", dimse.DefaultIdleTimeout, "abort an association whose peer is silent this long")
			o.daemonOptions.flags(fs)
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) != 0 {
					return usagef("unexpected arguments %q", args)
				}
				return runDaemon(o, stdout, stderr, func(stop, abort context.Context, d *daemon) (waiter, error) {
					return startSCP(stop, abort, o, d)
				})
			}
		},
	})
}

// daemonOptions are the flags scp and watch share.
type daemonOptions struct {
	seg        segmenterSpec
	expr       string
	exprMap    string
	out        string
	policy     string
	spillDir   string
	slots      int
	slotMiB    float64
	workers    int
	seriesIdle time.Duration
	forward    string
	noOverlays bool
	window     float64
	level      float64
	logLevel   string
	logJSON    bool

	// For tests.
	clock    clockwork.Clock
	onSeries func(*session.Report)
	onSlice  func(session.SliceDone)
	exprFor  func(ring.Meta) (string, string) // set by watch
	callAE   string                           // calling AE for forwarding
}

func (o *daemonOptions) flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.seg.Model, "model", "", "model bundle directory (required unless --segmenter)")
	fs.StringVar(&o.seg.Diag, "segmenter", "", "TEST/DIAGNOSTIC ONLY, not a lesion model: threshold:LO:HI marks every pixel in [LO, HI] HU")
	fs.StringVar(&o.expr, "expr", "", "referring expression for every series (default for series without an override)")
	fs.StringVar(&o.exprMap, "expr-map", "", "`FILE` of per-series expressions, one \"SERIES_INSTANCE_UID = expression\" per line")
	fs.StringVar(&o.out, "out", "", "output directory (required)")
	fs.StringVar(&o.policy, "policy", "block", "when the queue is full: block (backpressure), drop-oldest or spill")
	fs.StringVar(&o.spillDir, "spill-dir", "", "spill directory for --policy spill (default OUT/.spill)")
	fs.IntVar(&o.slots, "slots", 16, "queue slots (preallocated)")
	fs.Float64Var(&o.slotMiB, "slot-mib", 2, "bytes per slot, MiB (the largest object accepted)")
	fs.IntVar(&o.workers, "workers", 2, "segmenting goroutines")
	fs.IntVar(&o.seg.Instances, "model-instances", 1, "model copies run in parallel (memory × N)")
	fs.IntVar(&o.seg.Threads, "threads", 1, "kernel threads per model instance")
	fs.StringVar(&o.seg.Backend, "backend", "native", "backend: "+strings.Join(backend.Names(), ", "))
	fs.DurationVar(&o.seriesIdle, "series-idle", session.DefaultSeriesIdle, "a series with no new slice for this long is complete")
	fs.StringVar(&o.forward, "forward", "", "send each SEG to a PACS: AET@host:port")
	fs.BoolVar(&o.noOverlays, "no-overlays", false, "do not write PNG overlays")
	fs.Float64Var(&o.window, "window", session.DefaultWindow, "overlay window width, HU")
	fs.Float64Var(&o.level, "level", session.DefaultLevel, "overlay window level, HU")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.logJSON, "log-json", false, "logs as JSON lines (default: text)")
}

func (o *daemonOptions) logger(w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	ho := &slog.HandlerOptions{Level: lv}
	if o.logJSON {
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return slog.New(slog.NewTextHandler(w, ho)), nil
}

// daemon is the ring, the segmenter and the session of a running daemon.
type daemon struct {
	ring *ring.Ring
	sess *session.Session
	seg  *openedSegmenter
	log  *slog.Logger
	out  string
}

// newDaemon checks the options, opens the segmenter (unless seg is given,
// as tests do) and builds the ring and the session.
func (o *daemonOptions) newDaemon(log *slog.Logger, seg *openedSegmenter) (d *daemon, err error) {
	if o.out == "" {
		return nil, usagef("--out is required")
	}
	policy, err := ring.ParsePolicy(o.policy)
	if err != nil {
		return nil, usagef("--policy: %v", err)
	}
	if o.slots < 1 || o.workers < 1 || !(o.slotMiB > 0) || o.slotMiB*(1<<20) > ring.MaxSlotBytes {
		return nil, usagef("--slots, --workers and --slot-mib must be positive (--slot-mib at most %d)", ring.MaxSlotBytes>>20)
	}
	var fwd *session.Forward
	if o.forward != "" {
		f, err := session.ParseForward(o.forward)
		if err != nil {
			return nil, usagef("--forward: %v", err)
		}
		f.CallingAE = o.callAE
		fwd = &f
	}
	var exprs map[string]string
	if o.exprMap != "" {
		b, err := os.ReadFile(o.exprMap)
		if err != nil {
			return nil, fmt.Errorf("--expr-map: %w", err)
		}
		if exprs, err = session.ParseExpressionMap(b); err != nil {
			return nil, fmt.Errorf("--expr-map %s: %w", o.exprMap, err)
		}
	}
	if o.expr != "" {
		if _, err := session.CleanExpression(o.expr); err != nil {
			return nil, usagef("--expr: %v", err)
		}
	}
	if seg == nil {
		if seg, err = o.seg.open(); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				seg.Close()
			}
		}()
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	ropts := []ring.Option{ring.WithLogger(log)}
	if policy == ring.Spill {
		dir := o.spillDir
		if dir == "" {
			dir = filepath.Join(o.out, ".spill")
		}
		ropts = append(ropts, ring.WithSpillDir(dir))
	} else if o.spillDir != "" {
		return nil, usagef("--spill-dir needs --policy spill")
	}
	r, err := ring.New(o.slots, int(o.slotMiB*(1<<20)), policy, ropts...)
	if err != nil {
		return nil, err
	}
	cfg := session.Config{
		Ring: r, Segmenter: seg, SegmenterName: seg.Name, SegmenterVersion: seg.Version,
		Workers: o.workers, Out: o.out, Expression: o.expr, Expressions: exprs,
		SeriesIdle: o.seriesIdle, NoOverlays: o.noOverlays, Window: o.window, Level: o.level,
		Forward: fwd, Clock: o.clock, Logger: log, OnSeries: o.onSeries, OnSlice: o.onSlice,
	}
	if o.exprFor != nil {
		cfg.ExpressionFor = func(m ring.Meta, _ *dicom.Slice) (string, string) { return o.exprFor(m) }
	}
	s, err := session.New(cfg)
	if err != nil {
		r.Close()
		return nil, err
	}
	return &daemon{ring: r, sess: s, seg: seg, log: log, out: o.out}, nil
}

// waiter is a started daemon: Wait returns its summary once its source has
// stopped (the stop context) and the session has drained.
type waiter interface {
	Wait() (*session.Summary, error)
}

// runDaemon runs a daemon until SIGINT/SIGTERM (drain) or a second one
// (abort), then prints its counts.
func runDaemon(o interface {
	logger(io.Writer) (*slog.Logger, error)
	newDaemon(*slog.Logger, *openedSegmenter) (*daemon, error)
}, stdout, stderr io.Writer, start func(stop, abort context.Context, d *daemon) (waiter, error)) error {
	log, err := o.logger(stderr)
	if err != nil {
		return err
	}
	d, err := o.newDaemon(log, nil)
	if err != nil {
		return err
	}
	defer d.seg.Close()
	stop, stopFn := context.WithCancel(context.Background())
	abort, abortFn := context.WithCancel(context.Background())
	defer stopFn()
	defer abortFn()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		select {
		case s := <-sig:
			log.Info("lsms: stopping: no new slices; draining the queue (signal again to abandon it)", "signal", s.String())
			stopFn()
		case <-stop.Done():
			return
		}
		select {
		case s := <-sig:
			log.Warn("lsms: abandoning the queue", "signal", s.String())
			abortFn()
		case <-abort.Done():
		}
	}()
	w, err := start(stop, abort, d)
	if err != nil {
		d.ring.Close()
		return err
	}
	sum, err := w.Wait()
	if sum != nil {
		c := sum.Counters
		fmt.Fprintf(stdout, "received %d, segmented %d, failed %d, dropped %d, spilled %d; %d series written, %d SEGs, %d forwarded (%d failed); balanced %v; summary %s\n",
			c.Received, c.Segmented, c.Failed, c.Dropped, c.Spilled, c.Series, c.SEGs, c.Forwarded, c.ForwardFailed, sum.Balanced,
			filepath.Join(d.out, "session.json"))
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("stopped before the queue was drained (see session.json)")
	}
	return err
}

// scpOptions are the flags of `lsms scp`.
type scpOptions struct {
	daemonOptions
	listen    string
	aet       string
	allow     []string
	maxAssoc  int
	assocIdle time.Duration
}

func (o *scpOptions) newDaemon(log *slog.Logger, seg *openedSegmenter) (*daemon, error) {
	if err := session.CheckAETitle(o.aet); err != nil {
		return nil, usagef("--aet: %v", err)
	}
	if o.expr == "" && o.exprMap == "" {
		return nil, usagef("--expr (or --expr-map) is required: every series needs an expression")
	}
	o.callAE = o.aet
	return o.daemonOptions.newDaemon(log, seg)
}

// scpServer is a running `lsms scp`.
type scpServer struct {
	d         *daemon
	ln        net.Listener
	serveDone chan error
	runDone   chan error
}

// startSCP listens and starts serving; cancelling stop closes the listener
// and lets associations finish, then the queue drains; cancelling abort
// stops the workers.
func startSCP(stop, abort context.Context, o *scpOptions, d *daemon) (*scpServer, error) {
	srv := &dimse.Server{
		AETitle: o.aet, Allow: o.allow, MaxAssociations: o.maxAssoc, IdleTimeout: o.assocIdle,
		Handler: d.sess.StoreHandler(), Logger: d.log, MaxObjectSize: int64(d.ring.SlotBytes()),
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, err
	}
	s := &scpServer{d: d, ln: ln, serveDone: make(chan error, 1), runDone: make(chan error, 1)}
	go func() { s.runDone <- d.sess.Run(abort) }()
	go func() { s.serveDone <- srv.Serve(stop, ln) }()
	d.log.Info("lsms scp: listening", "addr", ln.Addr().String(), "aet", o.aet, "out", d.out,
		"segmenter", d.seg.Name, "version", d.seg.Version)
	return s, nil
}

// Addr is the address the SCP listens on.
func (s *scpServer) Addr() net.Addr { return s.ln.Addr() }

// Wait waits for the stop context, the associations to end and the queue
// to drain, and returns the session summary.
func (s *scpServer) Wait() (*session.Summary, error) {
	serr := <-s.serveDone
	if serr != nil {
		s.d.log.Error("lsms scp: serving failed", "err", serr)
	}
	s.d.ring.Close()
	rerr := <-s.runDone
	return s.d.sess.Summary(), errors.Join(serr, rerr)
}
