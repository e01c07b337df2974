package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lsms-edge/lsms/device/dicom"
)

// Threshold is a diagnostic Segmenter, not a lesion model: every pixel
// whose HU lies in [Lo, Hi] is foreground, whatever the expression. It
// exists to run and test the pipeline (ingest, measurements, SEG, PACS
// forwarding) without a trained model.
type Threshold struct{ Lo, Hi int16 }

// ErrThresholdSpec: a threshold spec is not threshold:LO:HI.
var ErrThresholdSpec = errors.New("session: bad threshold segmenter spec")

// ParseThreshold parses "threshold:LO:HI" (HU, LO ≤ HI, within int16).
func ParseThreshold(spec string) (Threshold, error) {
	parts := strings.Split(spec, ":")
	if len(parts) != 3 || parts[0] != "threshold" {
		return Threshold{}, fmt.Errorf("%w %q: want threshold:LO:HI (HU)", ErrThresholdSpec, spec)
	}
	lo, err1 := strconv.ParseInt(parts[1], 10, 16)
	hi, err2 := strconv.ParseInt(parts[2], 10, 16)
	if err1 != nil || err2 != nil || lo > hi {
		return Threshold{}, fmt.Errorf("%w %q: LO and HI must be integers in -32768..32767 with LO ≤ HI", ErrThresholdSpec, spec)
	}
	return Threshold{int16(lo), int16(hi)}, nil
}

// Segment implements Segmenter.
func (t Threshold) Segment(ctx context.Context, s *dicom.Slice, _ string) ([]float32, []uint8, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	mask := make([]uint8, len(s.HU))
	for i, v := range s.HU {
		if v >= t.Lo && v <= t.Hi {
			mask[i] = 1
		}
	}
	return nil, mask, nil
}
