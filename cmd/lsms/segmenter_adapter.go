package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/session"
	"github.com/lsms-edge/lsms/model"
)

// segmenterSpec says which Segmenter a daemon runs: a model bundle
// (--model) or, for tests and diagnostics only, a fixed HU window
// (--segmenter threshold:LO:HI).
type segmenterSpec struct {
	Model     string // bundle directory
	Diag      string // threshold:LO:HI
	Backend   string
	Threads   int
	Instances int // model instances (each with its own sessions and memory)
}

// openedSegmenter is a session.Segmenter with its name, version and closer.
type openedSegmenter struct {
	session.Segmenter
	Name, Version string
	Close         func() error
}

func (sp segmenterSpec) open() (*openedSegmenter, error) {
	switch {
	case sp.Model != "" && sp.Diag != "":
		return nil, usagef("--model and --segmenter exclude each other")
	case sp.Diag != "":
		th, err := session.ParseThreshold(sp.Diag)
		if err != nil {
			return nil, usagef("--segmenter: %v", err)
		}
		return &openedSegmenter{Segmenter: th, Name: "diagnostic HU threshold (not a model)",
			Version: fmt.Sprintf("%d..%d HU", th.Lo, th.Hi), Close: func() error { return nil }}, nil
	case sp.Model == "":
		return nil, usagef("--model BUNDLE is required")
	}
	if sp.Instances < 1 || sp.Instances > 64 {
		return nil, usagef("--model-instances %d outside 1..64", sp.Instances)
	}
	bs := &bundleSegmenter{pool: make(chan *model.Segmenter, sp.Instances)}
	for range sp.Instances {
		m, err := model.Open(sp.Model, model.Options{Backend: sp.Backend, Threads: sp.Threads})
		if err != nil {
			bs.close()
			return nil, fmt.Errorf("--model %s: %w", sp.Model, err)
		}
		bs.all = append(bs.all, m)
		bs.pool <- m
	}
	mf := bs.all[0].Bundle().Manifest
	return &openedSegmenter{Segmenter: bs, Name: "LSMS " + mf.Name, Version: strings.TrimSpace(mf.Precision + " " + mf.Format), Close: bs.close}, nil
}

// bundleSegmenter adapts model.Segmenter to session.Segmenter. Each model
// instance serializes its calls, so workers share a pool of instances.
type bundleSegmenter struct {
	pool chan *model.Segmenter
	all  []*model.Segmenter
}

func (b *bundleSegmenter) Segment(ctx context.Context, s *dicom.Slice, expr string) ([]float32, []uint8, error) {
	var m *model.Segmenter
	select {
	case m = <-b.pool:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	defer func() { b.pool <- m }()
	hu := make([]float32, len(s.HU))
	for i, v := range s.HU {
		hu[i] = float32(v)
	}
	r, err := m.Segment(model.Slice{Rows: s.Rows, Cols: s.Cols, HU: hu, Spacing: s.PixelSpacing}, expr)
	if err != nil {
		return nil, nil, err
	}
	return r.Prob, r.Mask, nil
}

func (b *bundleSegmenter) close() error {
	var errs []error
	for _, m := range b.all {
		errs = append(errs, m.Close())
	}
	b.all = nil
	return errors.Join(errs...)
}
