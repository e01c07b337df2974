// Package sessiontest has Segmenters and phantoms for testing package
// session and the daemons built on it without a trained model.
//
// Truth returns ground-truth masks looked up by SOP Instance UID, so a test
// through it checks the pipeline (ingest, measurements, volume, SEG), not a
// model. Gate holds each call until the test lets it go, for deterministic
// backpressure and drop tests. Sphere makes a CT series holding a
// spherical lesion with its exact masks.
package sessiontest

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/lsms-edge/lsms/device/dicom"
	"github.com/lsms-edge/lsms/device/session"
)

// Truth is a Segmenter returning ground-truth masks.
type Truth struct {
	// Masks by SOP Instance UID (Rows×Cols, nonzero = lesion); a slice
	// without one gets an empty mask.
	Masks map[string][]uint8
	// Expression, when set, is the only expression accepted: any other is
	// an error, so tests see that the right expression reached the model.
	Expression string
	// AsProb returns the mask as a probability map (0 or 1) and no mask,
	// exercising the session's thresholding.
	AsProb bool

	mu    sync.Mutex
	calls int
}

// Segment implements session.Segmenter.
func (t *Truth) Segment(ctx context.Context, s *dicom.Slice, expr string) ([]float32, []uint8, error) {
	t.mu.Lock()
	t.calls++
	t.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if t.Expression != "" && expr != t.Expression {
		return nil, nil, fmt.Errorf("sessiontest: expression %q, want %q", expr, t.Expression)
	}
	n := s.Rows * s.Cols
	m := t.Masks[s.SOPInstanceUID]
	if m == nil {
		m = make([]uint8, n)
	}
	if len(m) != n {
		return nil, nil, fmt.Errorf("sessiontest: truth mask of %d pixels for a %d×%d slice", len(m), s.Rows, s.Cols)
	}
	if t.AsProb {
		p := make([]float32, n)
		for i, v := range m {
			if v != 0 {
				p[i] = 1
			}
		}
		return p, nil, nil
	}
	return nil, append([]uint8(nil), m...), nil
}

// Calls returns the number of Segment calls.
func (t *Truth) Calls() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls
}

// Gate wraps a Segmenter: every call first sends on Entered (if not nil),
// then waits for a value on Proceed (or ctx) before calling Inner.
type Gate struct {
	Inner   session.Segmenter
	Entered chan string // SOP Instance UID of the slice entering
	Proceed chan struct{}
}

// Segment implements session.Segmenter.
func (g *Gate) Segment(ctx context.Context, s *dicom.Slice, expr string) ([]float32, []uint8, error) {
	if g.Entered != nil {
		select {
		case g.Entered <- s.SOPInstanceUID:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	select {
	case <-g.Proceed:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	return g.Inner.Segment(ctx, s, expr)
}

// Func adapts a function to session.Segmenter.
type Func func(ctx context.Context, s *dicom.Slice, expr string) ([]float32, []uint8, error)

// Segment implements session.Segmenter.
func (f Func) Segment(ctx context.Context, s *dicom.Slice, expr string) ([]float32, []uint8, error) {
	return f(ctx, s, expr)
}

// HU values of the Sphere phantom: air outside the body, soft tissue in
// it, the lesion brighter than both (Threshold{LesionLo, LesionHi} finds
// exactly the lesion).
const (
	AirHU      = -1000
	TissueHU   = 40
	LesionHU   = 150
	LesionLo   = 100
	LesionHi   = 200
	BodyFactor = 0.45 // body radius as a share of the field of view
)

// Phantom is a synthetic series with its ground truth.
type Phantom struct {
	Series *dicom.Series
	HU     [][]int16
	Masks  [][]uint8 // per slice, Rows×Cols
	// VolumeML is Σ mask pixels × pixel area × slice spacing (the digital
	// truth); AnalyticML is 4/3·π·R³.
	VolumeML, AnalyticML float64
}

// Sphere builds n axial slices of rows×cols (pixel spacing px mm, slice
// spacing dz mm) through a body disc holding a sphere of radius R mm
// centred in the stack.
func Sphere(rows, cols, n int, px, dz, R float64) *Phantom {
	sr := dicom.NewSeries(rows, cols)
	sr.PixelSpacing = [2]float64{px, px}
	sr.SliceSpacing = dz
	sr.SeriesDescription = "sessiontest sphere"
	sr.PatientID, sr.PatientName = "SPHERE", "Test^Sphere"
	p := &Phantom{Series: sr, AnalyticML: 4.0 / 3 * math.Pi * R * R * R / 1000}
	zc := float64(n-1) / 2 * dz
	cr, cc := float64(rows-1)/2, float64(cols-1)/2
	body := BodyFactor * float64(min(rows, cols)) * px
	for k := range n {
		z := float64(k)*dz - zc
		hu := make([]int16, rows*cols)
		m := make([]uint8, rows*cols)
		count := 0
		for r := range rows {
			for c := range cols {
				y, x := (float64(r)-cr)*px, (float64(c)-cc)*px
				i := r*cols + c
				switch d2 := x*x + y*y; {
				case d2+z*z <= R*R:
					hu[i], m[i] = LesionHU, 1
					count++
				case d2 <= body*body:
					hu[i] = TissueHU
				default:
					hu[i] = AirHU
				}
			}
		}
		p.HU = append(p.HU, hu)
		p.Masks = append(p.Masks, m)
		p.VolumeML += float64(count) * px * px * dz / 1000
	}
	return p
}

// Write writes the phantom as CT files into dir and returns the slices and
// the Truth masks keyed by SOP Instance UID.
func (p *Phantom) Write(dir string) ([]*dicom.Slice, map[string][]uint8, error) {
	sl, err := p.Series.Write(dir, p.HU)
	if err != nil {
		return nil, nil, err
	}
	truth := map[string][]uint8{}
	for i, s := range sl {
		truth[s.SOPInstanceUID] = p.Masks[i]
	}
	return sl, truth, nil
}

// DataSets writes the phantom into dir and returns each slice as a bare
// data set (as a C-STORE carries it) with its transfer syntax.
func (p *Phantom) DataSets(dir string) ([]*dicom.Slice, map[string][]uint8, [][]byte, string, error) {
	sl, truth, err := p.Write(dir)
	if err != nil {
		return nil, nil, nil, "", err
	}
	var out [][]byte
	ts := ""
	for i := range sl {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("CT%04d.dcm", i+1)))
		if err != nil {
			return nil, nil, nil, "", err
		}
		m, err := session.SplitPart10(b)
		if err != nil {
			return nil, nil, nil, "", err
		}
		ts = m.TransferSyntaxUID
		out = append(out, b[m.DataSetOffset:])
	}
	return sl, truth, out, ts, nil
}
