// Package preview renders a contact sheet of a synthetic dataset: CT
// slices in a soft-tissue window with the target lesion outlined, the
// other lesions of the slice marked, and the record's expressions
// printed underneath.
package preview

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"sort"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/lsms-edge/lsms/synth/dataset"
)

// ErrNoRecords is returned for an empty selection.
var ErrNoRecords = errors.New("preview: no records")

// Options shape the sheet. Zero values take the defaults.
type Options struct {
	Cols          int     // tiles per row (default 2)
	Window, Level float64 // display window in HU (default W400/L40)
	TextLines     int     // text lines under each tile (default 9)
}

// Colours.
var (
	targetColour = color.RGBA{255, 40, 40, 255}
	otherColour  = color.RGBA{40, 200, 255, 255}
	textColour   = color.RGBA{235, 235, 235, 255}
	levelColour  = color.RGBA{255, 200, 60, 255}
	background   = color.RGBA{16, 16, 20, 255}
)

const (
	margin = 8
	lineH  = 14
	charW  = 7
)

// Sheet renders recs (read from d) as a grid of tiles.
func Sheet(d *dataset.Dataset, recs []dataset.Record, opt Options) (*image.RGBA, error) {
	if len(recs) == 0 {
		return nil, ErrNoRecords
	}
	if opt.Cols <= 0 {
		opt.Cols = 2
	}
	if opt.Window <= 0 {
		opt.Window, opt.Level = 400, 40
	}
	if opt.TextLines <= 0 {
		opt.TextLines = 9
	}
	tileW := 512
	tileH := 512 + opt.TextLines*lineH + margin
	rows := (len(recs) + opt.Cols - 1) / opt.Cols
	W := opt.Cols*tileW + (opt.Cols+1)*margin
	H := rows*tileH + (rows+1)*margin
	sheet := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(background), image.Point{}, draw.Src)
	for n := range recs {
		r := &recs[n]
		x0 := margin + (n%opt.Cols)*(tileW+margin)
		y0 := margin + (n/opt.Cols)*(tileH+margin)
		im, err := d.Image(r)
		if err != nil {
			return nil, err
		}
		mk, err := d.Mask(r)
		if err != nil {
			return nil, err
		}
		if im.Width != 512 || im.Height != 512 || mk.Width != 512 || mk.Height != 512 {
			return nil, fmt.Errorf("preview: %s: want 512×512 image and mask", r.Image)
		}
		drawSlice(sheet, x0, y0, im, opt.Window, opt.Level)
		for _, l := range r.Lesions {
			if l.ID != r.TargetID {
				drawCorners(sheet, x0, y0, l.BBox, otherColour)
			}
		}
		drawOutline(sheet, x0, y0, mk, targetColour)
		t := r.Target
		head := fmt.Sprintf("%s s%02d  #%d %s, seg %s, %.1f mm (%d on slice)",
			r.Case, r.SliceIndex, t.ID, t.Type, t.Segment, t.DiameterMM, len(r.Lesions))
		lines := []line{{text: head, col: textColour}}
		for _, e := range r.Expressions {
			for i, w := range wrap(e.Text, (tileW-8)/charW-len(e.Level)-2) {
				prefix := strings.Repeat(" ", len(e.Level)+2)
				if i == 0 {
					prefix = e.Level + ": "
				}
				lines = append(lines, line{text: prefix + w, col: textColour, tag: len(e.Level) + 1, first: i == 0})
			}
		}
		for i, ln := range lines {
			if i >= opt.TextLines {
				break
			}
			y := y0 + 512 + margin + i*lineH + 11
			if ln.first {
				drawText(sheet, x0+4, y, ln.text[:ln.tag], levelColour)
				drawText(sheet, x0+4+ln.tag*charW, y, ln.text[ln.tag:], ln.col)
			} else {
				drawText(sheet, x0+4, y, ln.text, ln.col)
			}
		}
	}
	return sheet, nil
}

type line struct {
	text  string
	col   color.RGBA
	tag   int
	first bool
}

func drawSlice(dst *image.RGBA, x0, y0 int, im *dataset.HUImage, window, level float64) {
	lo := level - window/2
	for y := 0; y < im.Height; y++ {
		for x := 0; x < im.Width; x++ {
			g := (float64(im.At(x, y)) - lo) / window * 255
			v := uint8(max(0, min(255, g)))
			dst.SetRGBA(x0+x, y0+y, color.RGBA{v, v, v, 255})
		}
	}
}

// drawOutline paints the mask's boundary pixels.
func drawOutline(dst *image.RGBA, x0, y0 int, m *dataset.Mask, c color.RGBA) {
	in := func(x, y int) bool {
		return x >= 0 && y >= 0 && x < m.Width && y < m.Height && m.Pix[y*m.Width+x] != 0
	}
	for y := 0; y < m.Height; y++ {
		for x := 0; x < m.Width; x++ {
			if in(x, y) && (!in(x-1, y) || !in(x+1, y) || !in(x, y-1) || !in(x, y+1)) {
				dst.SetRGBA(x0+x, y0+y, c)
			}
		}
	}
}

// drawCorners marks a bounding box (with a gap) by its corners.
func drawCorners(dst *image.RGBA, x0, y0 int, b [4]int, c color.RGBA) {
	const gap, arm = 3, 5
	xa, ya, xb, yb := b[0]-gap, b[1]-gap, b[2]+gap, b[3]+gap
	for i := 0; i < arm; i++ {
		for _, p := range [][2]int{
			{xa + i, ya}, {xa, ya + i}, {xb - i, ya}, {xb, ya + i},
			{xa + i, yb}, {xa, yb - i}, {xb - i, yb}, {xb, yb - i},
		} {
			if p[0] >= 0 && p[1] >= 0 && p[0] < 512 && p[1] < 512 {
				dst.SetRGBA(x0+p[0], y0+p[1], c)
			}
		}
	}
}

func drawText(dst *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{
		Dst:  dst,
		Src:  image.NewUniform(c),
		Face: basicfont.Face7x13,
		Dot:  fixed.P(x, y),
	}
	d.DrawString(s)
}

// wrap breaks s into lines of at most width characters at spaces.
func wrap(s string, width int) []string {
	var out []string
	cur := ""
	for _, w := range strings.Fields(s) {
		switch {
		case cur == "":
			cur = w
		case len(cur)+1+len(w) <= width:
			cur += " " + w
		default:
			out = append(out, cur)
			cur = w
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// Pick chooses n records that show the set well: slices with several
// lesions, targets of different types, a relational expression, spread
// over cases. The choice is deterministic.
func Pick(recs []dataset.Record, n int) []dataset.Record {
	type cand struct {
		i     int
		score float64
	}
	var cs []cand
	for i, r := range recs {
		// favour slices where other visible lesions, ideally of the
		// target's type, compete with the target
		s := min(r.Target.DiameterMM, 40) / 20
		same := false
		for _, l := range r.Lesions {
			if l.ID != r.TargetID && l.DiameterMM >= 8 {
				s += 1
				same = same || l.Type == r.Target.Type
			}
		}
		if same {
			s += 1
		}
		for _, e := range r.Expressions {
			if e.Level == dataset.LevelRelational {
				s += 0.5
			}
		}
		cs = append(cs, cand{i, s})
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].score > cs[b].score })
	var out []dataset.Record
	usedType := map[string]bool{}
	usedCase := map[string]bool{}
	picked := map[int]bool{}
	// pass 0: new case and new type; pass 1: new case; pass 2: any
	for pass := 0; pass < 3 && len(out) < n; pass++ {
		for _, c := range cs {
			r := recs[c.i]
			if len(out) >= n {
				break
			}
			if picked[c.i] || (pass < 2 && usedCase[r.Case]) || (pass == 0 && usedType[r.Target.Type]) {
				continue
			}
			picked[c.i] = true
			usedCase[r.Case] = true
			usedType[r.Target.Type] = true
			out = append(out, r)
		}
	}
	return out
}

// EncodePNG encodes the sheet.
func EncodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
